// The outer-product GEMM behind all three TileGEMM kernels.
//
// For each block of 4 rows × 32 columns of C, eight `LanePair` accumulators stay in registers
// (AVX-512 builds first cover 64-column strips with 4×64 blocks, TileGEMM+WideBlock.swift);
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
// On AVX-512 the 4×32 LanePair block runs well ahead of 4 rows × 2 Lanes (see TileKernels.docc;
// the numbers behind this file's choices are in Docs/Performance.md, "Measurements behind the
// kernels").
//
// With `-DTILEKERNELS_AVX512` the 32-wide strips use an 8-row block (16 zmm accumulators of the
// 32 registers): 4 rows give only 8 accumulators, exactly the FMA latency × ports, and run
// below the 8-row block, which reaches the FMA peak. On AVX2 (16 ymm registers) the 8-row block
// spills and runs below 4 rows, hence the flag. Each element of C is summed in the same order by both
// blocks, so the results are bit-identical.
//
// With `-DTILEKERNELS_FMA` alone (AVX2 + FMA) the 4×32 block spills too, and the 32-column
// strips' columns go to 4×24 and 6×16 Lane blocks instead (TileGEMM+NarrowBlock.swift), again
// in the same summation order.

extension TileGEMM {
  /// Rows per micro-kernel block in the 32-column strips: 8 with `TILEKERNELS_AVX512`, else 4.
  @inlinable internal static var defaultRowBlock: Int {
    #if TILEKERNELS_AVX512
      return 8
    #else
      return 4
    #endif
  }

  /// C = alpha·A·B (+ C) with A element (i, p) at `a[i·aRowStride + p·aDepthStride]`.
  ///
  /// `bIsPadded` promises that every B row can be read 8 columns past any column < `columns`
  /// rounded up to 8 (true for the transposed panel), which lets the last < 8 columns use the
  /// vector kernel even when `columns < 8`.
  ///
  /// `rowBlock` (4 or 8) picks the short or the tall micro-kernels: 4×32 or 8×32 for 32-column
  /// strips and, with `wideBlocks`, 4×64 or 6×64 (then 4×64 for the last 1–4 rows) for 64-column
  /// strips, which come first (TileGEMM+WideBlock.swift). `narrowBlocks` covers the 32-column
  /// strips' columns with 4×24 and 6×16 blocks instead (TileGEMM+NarrowBlock.swift). Tests pass
  /// every combination.
  @inlinable
  internal static func outerProduct(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, bIsPadded: Bool, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int,
    columns: Int, depth: Int, epilogue: Epilogue, rowBlock: Int = defaultRowBlock,
    wideBlocks: Bool = defaultWideBlocks, narrowBlocks: Bool = defaultNarrowBlocks
  ) {
    let width = Lane.scalarCount
    var j = 0
    if narrowBlocks {
      // The columns of the 32-column strips in 16-column strips, and first, when the epilogue
      // does not read C, in as many 24-column strips as fit, leaving 0 or 16 columns (32 as two
      // 16s rather than 24 + 8). Why only then: TileGEMM+NarrowBlock.swift.
      let end = (columns / (4 * width)) * (4 * width)
      var strips24 = epilogue.accumulate ? 0 : end / (3 * width)
      if end - strips24 * 3 * width == width { strips24 -= 1 }
      for _ in 0..<strips24 {
        outerStrip24(
          a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j, ldb: ldb, c: c + j,
          ldc: ldc, rows: rows, depth: depth, epilogue: epilogue)
        j += 3 * width
      }
      while j < end {
        outerStrip16(
          a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j, ldb: ldb, c: c + j,
          ldc: ldc, rows: rows, depth: depth, epilogue: epilogue)
        j += 2 * width
      }
    }
    if wideBlocks {
      while columns - j >= 8 * width {
        var i = 0
        // With rowBlock 8, 6-row blocks (the last one may have 5 rows), then 1–4 rows left.
        while rowBlock == 8 && rows - i > 4 {
          outerBlock64x6(
            a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j,
            ldb: ldb, c: c + i * ldc + j, ldc: ldc, blockRows: Swift.min(6, rows - i),
            depth: depth, epilogue: epilogue.rows(from: i))
          i += 6
        }
        while i < rows {
          outerBlock64x4(
            a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j,
            ldb: ldb, c: c + i * ldc + j, ldc: ldc, blockRows: Swift.min(4, rows - i),
            depth: depth, epilogue: epilogue.rows(from: i))
          i += 4
        }
        j += 8 * width
      }
    }
    while columns - j >= 4 * width {
      var i = 0
      while i < rows {
        // The last block of 5–7 rows also takes the 8-row kernel (re-reading its last row).
        if rowBlock == 8 && rows - i > 4 {
          outerBlock32x8(
            a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j,
            ldb: ldb, c: c + i * ldc + j, ldc: ldc, blockRows: Swift.min(8, rows - i),
            depth: depth, epilogue: epilogue.rows(from: i))
          i += 8
        } else {
          outerBlock32(
            a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j,
            ldb: ldb, c: c + i * ldc + j, ldc: ldc, blockRows: Swift.min(4, rows - i),
            depth: depth, epilogue: epilogue.rows(from: i))
          i += 4
        }
      }
      j += 4 * width
    }
    if columns - j >= 2 * width {
      var i = 0
      while i < rows {
        outerBlock16(
          a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j,
          ldb: ldb, c: c + i * ldc + j, ldc: ldc, blockRows: Swift.min(4, rows - i),
          depth: depth, epilogue: epilogue.rows(from: i))
        i += 4
      }
      j += 2 * width
    }
    if columns - j >= width {
      outerColumns8(
        a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j, ldb: ldb,
        c: c + j, ldc: ldc, rows: rows, storedLanes: 0..<width, depth: depth, epilogue: epilogue)
      j += width
    }
    if j == columns { return }
    // 1–7 columns left: one more 8-wide block, shifted left so its loads stay in bounds (or, on
    // a padded B, reading the padding), storing only the new lanes.
    let remaining = columns - j
    if bIsPadded {
      outerColumns8(
        a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + j, ldb: ldb,
        c: c + j, ldc: ldc, rows: rows, storedLanes: 0..<remaining, depth: depth, epilogue: epilogue)
    } else if columns >= width {
      let start = columns - width
      outerColumns8(
        a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b + start, ldb: ldb,
        c: c + start, ldc: ldc, rows: rows, storedLanes: (width - remaining)..<width,
        depth: depth, epilogue: epilogue)
    } else {
      outerTail(
        a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b, ldb: ldb, c: c, ldc: ldc,
        rows: rows, columns: columns, depth: depth, epilogue: epilogue)
    }
  }

  /// One 8-column strip of C, all rows, in 4-row blocks.
  @inlinable
  internal static func outerColumns8(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, storedLanes: Range<Int>,
    depth: Int, epilogue: Epilogue
  ) {
    var i = 0
    while i < rows {
      outerBlock8(
        a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b,
        ldb: ldb, c: c + i * ldc, ldc: ldc, blockRows: Swift.min(4, rows - i),
        storedLanes: storedLanes, depth: depth, epilogue: epilogue.rows(from: i))
      i += 4
    }
  }

  /// 4 rows × 32 columns of C: the main micro-kernel. Rows ≥ `blockRows` (1...4) re-read the
  /// last valid A row and are not stored.
  @inlinable @inline(__always)
  internal static func outerBlock32(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, blockRows: Int, depth: Int,
    epilogue: Epilogue
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
    epilogue.finish(c00, at: c, row: 0)
    epilogue.finish(c01, at: c + half, row: 0)
    if blockRows > 1 {
      epilogue.finish(c10, at: c + ldc, row: 1)
      epilogue.finish(c11, at: c + ldc + half, row: 1)
    }
    if blockRows > 2 {
      epilogue.finish(c20, at: c + 2 * ldc, row: 2)
      epilogue.finish(c21, at: c + 2 * ldc + half, row: 2)
    }
    if blockRows > 3 {
      epilogue.finish(c30, at: c + 3 * ldc, row: 3)
      epilogue.finish(c31, at: c + 3 * ldc + half, row: 3)
    }
  }

  /// 8 rows × 32 columns of C: the AVX-512 micro-kernel (16 LanePair accumulators). Rows ≥
  /// `blockRows` (5...8) re-read the last valid A row and are not stored.
  @inlinable @inline(__always)
  internal static func outerBlock32x8(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, blockRows: Int, depth: Int,
    epilogue: Epilogue
  ) {
    let half = LanePair.scalarCount
    let row1 = aRowStride
    let row2 = 2 * aRowStride
    let row3 = 3 * aRowStride
    let row4 = 4 * aRowStride
    let row5 = blockRows > 5 ? 5 * aRowStride : row4
    let row6 = blockRows > 6 ? 6 * aRowStride : row5
    let row7 = blockRows > 7 ? 7 * aRowStride : row6
    var c00 = LanePair(), c01 = LanePair(), c10 = LanePair(), c11 = LanePair()
    var c20 = LanePair(), c21 = LanePair(), c30 = LanePair(), c31 = LanePair()
    var c40 = LanePair(), c41 = LanePair(), c50 = LanePair(), c51 = LanePair()
    var c60 = LanePair(), c61 = LanePair(), c70 = LanePair(), c71 = LanePair()
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
      let a4 = LanePair(repeating: pa[row4])
      c40 = LaneOps.multiplyAdd(a4, b0, c40)
      c41 = LaneOps.multiplyAdd(a4, b1, c41)
      let a5 = LanePair(repeating: pa[row5])
      c50 = LaneOps.multiplyAdd(a5, b0, c50)
      c51 = LaneOps.multiplyAdd(a5, b1, c51)
      let a6 = LanePair(repeating: pa[row6])
      c60 = LaneOps.multiplyAdd(a6, b0, c60)
      c61 = LaneOps.multiplyAdd(a6, b1, c61)
      let a7 = LanePair(repeating: pa[row7])
      c70 = LaneOps.multiplyAdd(a7, b0, c70)
      c71 = LaneOps.multiplyAdd(a7, b1, c71)
      pa += aDepthStride
      pb += ldb
    }
    var pc = c
    epilogue.finish(c00, at: pc, row: 0)
    epilogue.finish(c01, at: pc + half, row: 0)
    pc += ldc
    epilogue.finish(c10, at: pc, row: 1)
    epilogue.finish(c11, at: pc + half, row: 1)
    pc += ldc
    epilogue.finish(c20, at: pc, row: 2)
    epilogue.finish(c21, at: pc + half, row: 2)
    pc += ldc
    epilogue.finish(c30, at: pc, row: 3)
    epilogue.finish(c31, at: pc + half, row: 3)
    pc += ldc
    epilogue.finish(c40, at: pc, row: 4)
    epilogue.finish(c41, at: pc + half, row: 4)
    if blockRows > 5 {
      pc += ldc
      epilogue.finish(c50, at: pc, row: 5)
      epilogue.finish(c51, at: pc + half, row: 5)
    }
    if blockRows > 6 {
      pc += ldc
      epilogue.finish(c60, at: pc, row: 6)
      epilogue.finish(c61, at: pc + half, row: 6)
    }
    if blockRows > 7 {
      pc += ldc
      epilogue.finish(c70, at: pc, row: 7)
      epilogue.finish(c71, at: pc + half, row: 7)
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
    epilogue: Epilogue
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
    epilogue.finish(c0 + d0, at: c, row: 0)
    if blockRows > 1 { epilogue.finish(c1 + d1, at: c + ldc, row: 1) }
    if blockRows > 2 { epilogue.finish(c2 + d2, at: c + 2 * ldc, row: 2) }
    if blockRows > 3 { epilogue.finish(c3 + d3, at: c + 3 * ldc, row: 3) }
  }

  /// 4 rows × 8 columns of C, storing only `storedLanes` of each row (rows ≥ `blockRows` are
  /// computed but not stored). Even and odd depth steps accumulate separately, as in
  /// `outerBlock16`.
  @inlinable @inline(__always)
  internal static func outerBlock8(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, blockRows: Int, storedLanes: Range<Int>,
    depth: Int, epilogue: Epilogue
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
    epilogue.finish(c0 + d0, at: c, lanes: lanes, row: 0)
    if blockRows > 1 { epilogue.finish(c1 + d1, at: c + ldc, lanes: lanes, row: 1) }
    if blockRows > 2 { epilogue.finish(c2 + d2, at: c + 2 * ldc, lanes: lanes, row: 2) }
    if blockRows > 3 { epilogue.finish(c3 + d3, at: c + 3 * ldc, lanes: lanes, row: 3) }
  }

  /// C for a B narrower than 8 columns (unpadded): one scalar dot product per element.
  @inlinable
  internal static func outerTail(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    epilogue: Epilogue
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
        epilogue.finish(sum, at: c + i * ldc + j, row: i)
      }
    }
  }
}
