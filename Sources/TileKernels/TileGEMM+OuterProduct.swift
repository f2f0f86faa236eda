// The outer-product GEMM behind all three TileGEMM kernels.
//
// For each block of 4 rows × 32 columns of C, eight `LanePair` accumulators stay in registers;
// each step over depth loads two LanePairs of one B row and broadcasts four A scalars against
// them (8 multiply–adds for 6 loads). A is read through two strides, so A·B (row stride lda,
// depth stride 1) and Aᵀ·B (row stride 1, depth stride lda) share the kernel; A·Bᵀ first
// transposes B into a stack panel (TileGEMM+Transpose.swift).
//
// Ragged edges, without a slow path per element:
// - rows: the last block of 1–3 rows re-reads its last row in the missing slots and skips their
//   stores, so it runs the same 4-row kernel;
// - columns: after the 32-wide blocks come at most one 16-wide and one 8-wide block; the last < 8
//   columns reuse the 8-wide kernel on a window shifted left to end at the last column (when
//   columns ≥ 8) or on the padded panel (A·Bᵀ), storing only the new lanes. Only a B narrower
//   than 8 columns falls back to a scalar loop.
//
// Measured on the 2-core Sapphire Rapids VM (release, -target-cpu native, 64×64×64), the
// 4×32 LanePair block ran at 55–57 GFLOP/s against 38–40 for 4 rows × 2 Lanes (see TileKernels.docc).

extension TileGEMM {
  /// C = alpha·A·B (+ C) with A element (i, p) at `a[i·aRowStride + p·aDepthStride]`.
  ///
  /// `bIsPadded` promises that every B row can be read 8 columns past any column < `columns`
  /// rounded up to 8 (true for the transposed panel), which lets the last < 8 columns use the
  /// vector kernel even when `columns < 8`.
  @inlinable
  internal static func outerProduct(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, bIsPadded: Bool, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int,
    columns: Int, depth: Int, alpha: Float, accumulate: Bool
  ) {
    let width = Lane.scalarCount
    var j = 0
    while columns - j >= 4 * width {
      var i = 0
      while i < rows {
        outerBlock32(
          a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j,
          ldb: ldb, c: c + i * ldc + j, ldc: ldc, blockRows: Swift.min(4, rows - i),
          depth: depth, alpha: alpha, accumulate: accumulate)
        i += 4
      }
      j += 4 * width
    }
    if columns - j >= 2 * width {
      var i = 0
      while i < rows {
        outerBlock16(
          a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j,
          ldb: ldb, c: c + i * ldc + j, ldc: ldc, blockRows: Swift.min(4, rows - i),
          depth: depth, alpha: alpha, accumulate: accumulate)
        i += 4
      }
      j += 2 * width
    }
    if columns - j >= width {
      outerColumns8(
        a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j, ldb: ldb,
        c: c + j, ldc: ldc, rows: rows, storedLanes: 0..<width, depth: depth, alpha: alpha,
        accumulate: accumulate)
      j += width
    }
    if j == columns { return }
    // 1–7 columns left: one more 8-wide block, shifted left so its loads stay in bounds (or, on
    // a padded B, reading the padding), storing only the new lanes.
    let remaining = columns - j
    if bIsPadded {
      outerColumns8(
        a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j, ldb: ldb,
        c: c + j, ldc: ldc, rows: rows, storedLanes: 0..<remaining, depth: depth, alpha: alpha,
        accumulate: accumulate)
    } else if columns >= width {
      let start = columns - width
      outerColumns8(
        a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + start, ldb: ldb,
        c: c + start, ldc: ldc, rows: rows, storedLanes: (width - remaining)..<width,
        depth: depth, alpha: alpha, accumulate: accumulate)
    } else {
      outerTail(
        a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b, ldb: ldb, c: c, ldc: ldc,
        rows: rows, columns: columns, depth: depth, alpha: alpha, accumulate: accumulate)
    }
  }

  /// One 8-column strip of C, all rows, in 4-row blocks.
  @inlinable
  internal static func outerColumns8(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, storedLanes: Range<Int>,
    depth: Int, alpha: Float, accumulate: Bool
  ) {
    var i = 0
    while i < rows {
      outerBlock8(
        a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b,
        ldb: ldb, c: c + i * ldc, ldc: ldc, blockRows: Swift.min(4, rows - i),
        storedLanes: storedLanes, depth: depth, alpha: alpha, accumulate: accumulate)
      i += 4
    }
  }

  /// Writes alpha·sum (+ old C) for one LanePair of C.
  @inlinable @inline(__always)
  internal static func finish(
    _ sum: LanePair, at c: UnsafeMutablePointer<Float>, alpha: Float, accumulate: Bool
  ) {
    let scaled: LanePair = sum * alpha
    if accumulate {
      let old = LaneOps.loadPair(c)
      LaneOps.store(scaled + old, to: c)
    } else {
      LaneOps.store(scaled, to: c)
    }
  }

  /// Writes alpha·sum (+ old C) for the lanes `lanes` of one Lane of C (c points at lane 0).
  @inlinable @inline(__always)
  internal static func finish(
    _ sum: Lane, at c: UnsafeMutablePointer<Float>, lanes: Range<Int>, alpha: Float,
    accumulate: Bool
  ) {
    let scaled: Lane = sum * alpha
    if lanes.count == Lane.scalarCount {
      if accumulate {
        let old = LaneOps.load(c)
        LaneOps.store(scaled + old, to: c)
      } else {
        LaneOps.store(scaled, to: c)
      }
    } else {
      for t in lanes {
        c[t] = accumulate ? scaled[t] + c[t] : scaled[t]
      }
    }
  }

  /// 4 rows × 32 columns of C: the main micro-kernel. Rows ≥ `blockRows` (1...4) re-read the
  /// last valid A row and are not stored.
  @inlinable @inline(__always)
  internal static func outerBlock32(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, blockRows: Int, depth: Int,
    alpha: Float, accumulate: Bool
  ) {
    let half = LanePair.scalarCount
    let row1 = blockRows > 1 ? aRowStride : 0
    let row2 = blockRows > 2 ? 2 * aRowStride : row1
    let row3 = blockRows > 3 ? 3 * aRowStride : row2
    var c00 = LanePair()
    var c01 = LanePair()
    var c10 = LanePair()
    var c11 = LanePair()
    var c20 = LanePair()
    var c21 = LanePair()
    var c30 = LanePair()
    var c31 = LanePair()
    var pa = a
    var pb = b
    for _ in 0..<depth {
      let b0 = LaneOps.loadPair(pb)
      let b1 = LaneOps.loadPair(pb + half)
      let a0 = LanePair(repeating: pa[0])
      c00 = LaneOps.multiplyAdd(a0, b0, c00)
      c01 = LaneOps.multiplyAdd(a0, b1, c01)
      let a1 = LanePair(repeating: pa[row1])
      c10 = LaneOps.multiplyAdd(a1, b0, c10)
      c11 = LaneOps.multiplyAdd(a1, b1, c11)
      let a2 = LanePair(repeating: pa[row2])
      c20 = LaneOps.multiplyAdd(a2, b0, c20)
      c21 = LaneOps.multiplyAdd(a2, b1, c21)
      let a3 = LanePair(repeating: pa[row3])
      c30 = LaneOps.multiplyAdd(a3, b0, c30)
      c31 = LaneOps.multiplyAdd(a3, b1, c31)
      pa += aDepthStride
      pb += ldb
    }
    finish(c00, at: c, alpha: alpha, accumulate: accumulate)
    finish(c01, at: c + half, alpha: alpha, accumulate: accumulate)
    if blockRows > 1 {
      finish(c10, at: c + ldc, alpha: alpha, accumulate: accumulate)
      finish(c11, at: c + ldc + half, alpha: alpha, accumulate: accumulate)
    }
    if blockRows > 2 {
      finish(c20, at: c + 2 * ldc, alpha: alpha, accumulate: accumulate)
      finish(c21, at: c + 2 * ldc + half, alpha: alpha, accumulate: accumulate)
    }
    if blockRows > 3 {
      finish(c30, at: c + 3 * ldc, alpha: alpha, accumulate: accumulate)
      finish(c31, at: c + 3 * ldc + half, alpha: alpha, accumulate: accumulate)
    }
  }

  /// 4 rows × 16 columns of C (rows ≥ `blockRows` computed but not stored).
  ///
  /// Four accumulators alone would leave the adds latency-bound (4 chains × 4 cycles), so even
  /// and odd depth steps accumulate separately and are added at the end.
  @inlinable @inline(__always)
  internal static func outerBlock16(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, blockRows: Int, depth: Int,
    alpha: Float, accumulate: Bool
  ) {
    let row1 = blockRows > 1 ? aRowStride : 0
    let row2 = blockRows > 2 ? 2 * aRowStride : row1
    let row3 = blockRows > 3 ? 3 * aRowStride : row2
    var c0 = LanePair()
    var c1 = LanePair()
    var c2 = LanePair()
    var c3 = LanePair()
    var d0 = LanePair()
    var d1 = LanePair()
    var d2 = LanePair()
    var d3 = LanePair()
    var pa = a
    var pb = b
    for _ in 0..<(depth / 2) {
      let b0 = LaneOps.loadPair(pb)
      let b1 = LaneOps.loadPair(pb + ldb)
      let qa = pa + aDepthStride
      c0 = LaneOps.multiplyAdd(LanePair(repeating: pa[0]), b0, c0)
      d0 = LaneOps.multiplyAdd(LanePair(repeating: qa[0]), b1, d0)
      c1 = LaneOps.multiplyAdd(LanePair(repeating: pa[row1]), b0, c1)
      d1 = LaneOps.multiplyAdd(LanePair(repeating: qa[row1]), b1, d1)
      c2 = LaneOps.multiplyAdd(LanePair(repeating: pa[row2]), b0, c2)
      d2 = LaneOps.multiplyAdd(LanePair(repeating: qa[row2]), b1, d2)
      c3 = LaneOps.multiplyAdd(LanePair(repeating: pa[row3]), b0, c3)
      d3 = LaneOps.multiplyAdd(LanePair(repeating: qa[row3]), b1, d3)
      pa += 2 * aDepthStride
      pb += 2 * ldb
    }
    if depth % 2 == 1 {
      let b0 = LaneOps.loadPair(pb)
      c0 = LaneOps.multiplyAdd(LanePair(repeating: pa[0]), b0, c0)
      c1 = LaneOps.multiplyAdd(LanePair(repeating: pa[row1]), b0, c1)
      c2 = LaneOps.multiplyAdd(LanePair(repeating: pa[row2]), b0, c2)
      c3 = LaneOps.multiplyAdd(LanePair(repeating: pa[row3]), b0, c3)
    }
    finish(c0 + d0, at: c, alpha: alpha, accumulate: accumulate)
    if blockRows > 1 { finish(c1 + d1, at: c + ldc, alpha: alpha, accumulate: accumulate) }
    if blockRows > 2 { finish(c2 + d2, at: c + 2 * ldc, alpha: alpha, accumulate: accumulate) }
    if blockRows > 3 { finish(c3 + d3, at: c + 3 * ldc, alpha: alpha, accumulate: accumulate) }
  }

  /// 4 rows × 8 columns of C, storing only `storedLanes` of each row (rows ≥ `blockRows` are
  /// computed but not stored). Even and odd depth steps accumulate separately, as in
  /// `outerBlock16`.
  @inlinable @inline(__always)
  internal static func outerBlock8(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, blockRows: Int, storedLanes: Range<Int>,
    depth: Int, alpha: Float, accumulate: Bool
  ) {
    let row1 = blockRows > 1 ? aRowStride : 0
    let row2 = blockRows > 2 ? 2 * aRowStride : row1
    let row3 = blockRows > 3 ? 3 * aRowStride : row2
    var c0 = Lane()
    var c1 = Lane()
    var c2 = Lane()
    var c3 = Lane()
    var d0 = Lane()
    var d1 = Lane()
    var d2 = Lane()
    var d3 = Lane()
    var pa = a
    var pb = b
    for _ in 0..<(depth / 2) {
      let b0 = LaneOps.load(pb)
      let b1 = LaneOps.load(pb + ldb)
      let qa = pa + aDepthStride
      c0 = LaneOps.multiplyAdd(Lane(repeating: pa[0]), b0, c0)
      d0 = LaneOps.multiplyAdd(Lane(repeating: qa[0]), b1, d0)
      c1 = LaneOps.multiplyAdd(Lane(repeating: pa[row1]), b0, c1)
      d1 = LaneOps.multiplyAdd(Lane(repeating: qa[row1]), b1, d1)
      c2 = LaneOps.multiplyAdd(Lane(repeating: pa[row2]), b0, c2)
      d2 = LaneOps.multiplyAdd(Lane(repeating: qa[row2]), b1, d2)
      c3 = LaneOps.multiplyAdd(Lane(repeating: pa[row3]), b0, c3)
      d3 = LaneOps.multiplyAdd(Lane(repeating: qa[row3]), b1, d3)
      pa += 2 * aDepthStride
      pb += 2 * ldb
    }
    if depth % 2 == 1 {
      let b0 = LaneOps.load(pb)
      c0 = LaneOps.multiplyAdd(Lane(repeating: pa[0]), b0, c0)
      c1 = LaneOps.multiplyAdd(Lane(repeating: pa[row1]), b0, c1)
      c2 = LaneOps.multiplyAdd(Lane(repeating: pa[row2]), b0, c2)
      c3 = LaneOps.multiplyAdd(Lane(repeating: pa[row3]), b0, c3)
    }
    let lanes = storedLanes
    finish(c0 + d0, at: c, lanes: lanes, alpha: alpha, accumulate: accumulate)
    if blockRows > 1 {
      finish(c1 + d1, at: c + ldc, lanes: lanes, alpha: alpha, accumulate: accumulate)
    }
    if blockRows > 2 {
      finish(c2 + d2, at: c + 2 * ldc, lanes: lanes, alpha: alpha, accumulate: accumulate)
    }
    if blockRows > 3 {
      finish(c3 + d3, at: c + 3 * ldc, lanes: lanes, alpha: alpha, accumulate: accumulate)
    }
  }

  /// C for a B narrower than 8 columns (unpadded): one scalar dot product per element.
  @inlinable
  internal static func outerTail(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    alpha: Float, accumulate: Bool
  ) {
    for i in 0..<rows {
      for j in 0..<columns {
        var sum: Float = 0
        var pa = a + i * aRowStride
        var pb = b + j
        for _ in 0..<depth {
          sum = LaneOps.multiplyAdd(pa[0], pb[0], sum)
          pa += aDepthStride
          pb += ldb
        }
        let scaled = alpha * sum
        c[i * ldc + j] = accumulate ? scaled + c[i * ldc + j] : scaled
      }
    }
  }
}
