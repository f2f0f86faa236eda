// The micro-kernels of the outer-product GEMM for AVX2 builds: 6 rows × 16 columns and 4 rows
// × 24 columns, 12 `Lane` accumulators (ymm registers) each.
//
// AVX2 has 16 vector registers. The 4×32 LanePair block needs 16 ymm accumulators plus four
// for the B row and one broadcast, so it spills; 6×16 keeps 12 accumulators, two B vectors and
// one broadcast in 15 registers, 4×24 keeps 12, three and one in 16. Twelve independent FMA
// chains cover the FMA latency × ports of current x86 cores (4 to 5 cycles × 2 ports). Per
// depth step 6×16 issues 2 loads of B and 6 broadcasts of A for 12 multiply–adds, 4×24 3 loads
// and 4 broadcasts.
//
// On an AVX2 + FMA build both run the FlashAttention step's products far faster than the
// spilling 4×32 block, 4×24 a little faster than 6×16 with C hot in L1. But with O_i walking the
// N×d output as in the real loop, 4×24 falls behind: a 24-column strip shares a cache line of
// each C row with its neighbour, and when the epilogue reads C (accumulating products) that costs
// more than the 4×24 block gains. So 24-column strips serve products that only write C (S and
// dP), 16-column strips the rest, which beats either block alone in the forward and the backward
// pass (the timings are in Docs/Performance.md, "Measurements behind the kernels").
//
// Both cover the columns of the 32-column strips, so every element is summed in the same order
// as with the 4×32 block and the results are identical bit for bit; the last 16- and 8-wide
// strips keep their even/odd-split kernels.

extension TileGEMM {
  /// Whether `outerProduct` covers its 32-column strips with 4×24 and 6×16 blocks by default:
  /// with `TILEKERNELS_FMA` and without `TILEKERNELS_AVX512` (an AVX2 + FMA target).
  @inlinable internal static var defaultNarrowBlocks: Bool {
    #if TILEKERNELS_FMA && !TILEKERNELS_AVX512
      return true
    #else
      return false
    #endif
  }

  /// One 16-column strip of C, all rows, in 6-row blocks; the last 1–5 rows re-read their last
  /// row.
  ///
  /// The full blocks are called with a literal row count, so the inlined block folds its row
  /// offsets (a little faster than `min(4, rows − i)` in one loop). Separate literal calls for a
  /// last block of 4 or 5 rows, meant to drop the rows they do not store, compiled (release,
  /// -wmo) to one call of the same outlined generic block and gained nothing, so the last block
  /// has one call.
  @inlinable
  internal static func outerStrip16(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, depth: Int,
    epilogue: Epilogue
  ) {
    var i = 0
    while rows - i >= 6 {
      outerBlock16x6(
        a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b, ldb: ldb,
        c: c + i * ldc, ldc: ldc, blockRows: 6, depth: depth, epilogue: epilogue.rows(from: i))
      i += 6
    }
    if rows > i {
      outerBlock16x6(
        a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b, ldb: ldb,
        c: c + i * ldc, ldc: ldc, blockRows: rows - i, depth: depth, epilogue: epilogue.rows(from: i))
    }
  }

  /// 6 rows × 16 columns of C (12 Lane accumulators). Rows ≥ `blockRows` (1...6) re-read the
  /// last valid A row and are not stored.
  @inlinable @inline(__always)
  internal static func outerBlock16x6(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, blockRows: Int, depth: Int,
    epilogue: Epilogue
  ) {
    let w = Lane.scalarCount
    let row1 = blockRows > 1 ? aRowStride : 0
    let row2 = blockRows > 2 ? 2 * aRowStride : row1
    let row3 = blockRows > 3 ? 3 * aRowStride : row2
    let row4 = blockRows > 4 ? 4 * aRowStride : row3
    let row5 = blockRows > 5 ? 5 * aRowStride : row4
    var c00 = Lane(), c01 = Lane(), c10 = Lane(), c11 = Lane()
    var c20 = Lane(), c21 = Lane(), c30 = Lane(), c31 = Lane()
    var c40 = Lane(), c41 = Lane(), c50 = Lane(), c51 = Lane()
    var pa = a
    var pb = b
    for _ in 0..<depth {
      let b0 = LaneOps.load(pb)
      let b1 = LaneOps.load(pb + w)
      let a0 = Lane(repeating: pa[0])
      c00 = LaneOps.multiplyAdd(a0, b0, c00)
      c01 = LaneOps.multiplyAdd(a0, b1, c01)
      let a1 = Lane(repeating: pa[row1])
      c10 = LaneOps.multiplyAdd(a1, b0, c10)
      c11 = LaneOps.multiplyAdd(a1, b1, c11)
      let a2 = Lane(repeating: pa[row2])
      c20 = LaneOps.multiplyAdd(a2, b0, c20)
      c21 = LaneOps.multiplyAdd(a2, b1, c21)
      let a3 = Lane(repeating: pa[row3])
      c30 = LaneOps.multiplyAdd(a3, b0, c30)
      c31 = LaneOps.multiplyAdd(a3, b1, c31)
      let a4 = Lane(repeating: pa[row4])
      c40 = LaneOps.multiplyAdd(a4, b0, c40)
      c41 = LaneOps.multiplyAdd(a4, b1, c41)
      let a5 = Lane(repeating: pa[row5])
      c50 = LaneOps.multiplyAdd(a5, b0, c50)
      c51 = LaneOps.multiplyAdd(a5, b1, c51)
      pa += aDepthStride
      pb += ldb
    }
    let all = 0..<w
    var pc = c
    epilogue.finish(c00, at: pc, lanes: all, row: 0)
    epilogue.finish(c01, at: pc + w, lanes: all, row: 0)
    if blockRows > 1 {
      pc += ldc
      epilogue.finish(c10, at: pc, lanes: all, row: 1)
      epilogue.finish(c11, at: pc + w, lanes: all, row: 1)
    }
    if blockRows > 2 {
      pc += ldc
      epilogue.finish(c20, at: pc, lanes: all, row: 2)
      epilogue.finish(c21, at: pc + w, lanes: all, row: 2)
    }
    if blockRows > 3 {
      pc += ldc
      epilogue.finish(c30, at: pc, lanes: all, row: 3)
      epilogue.finish(c31, at: pc + w, lanes: all, row: 3)
    }
    if blockRows > 4 {
      pc += ldc
      epilogue.finish(c40, at: pc, lanes: all, row: 4)
      epilogue.finish(c41, at: pc + w, lanes: all, row: 4)
    }
    if blockRows > 5 {
      pc += ldc
      epilogue.finish(c50, at: pc, lanes: all, row: 5)
      epilogue.finish(c51, at: pc + w, lanes: all, row: 5)
    }
  }

  /// One 24-column strip of C, all rows, in 4-row blocks (literal row count, as in
  /// `outerStrip16`); the last 1–3 rows re-read their last row.
  @inlinable
  internal static func outerStrip24(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, depth: Int,
    epilogue: Epilogue
  ) {
    var i = 0
    while rows - i >= 4 {
      outerBlock24x4(
        a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b, ldb: ldb,
        c: c + i * ldc, ldc: ldc, blockRows: 4, depth: depth, epilogue: epilogue.rows(from: i))
      i += 4
    }
    if rows > i {
      outerBlock24x4(
        a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b, ldb: ldb,
        c: c + i * ldc, ldc: ldc, blockRows: rows - i, depth: depth, epilogue: epilogue.rows(from: i))
    }
  }

  /// 4 rows × 24 columns of C (12 Lane accumulators; 3 loads of B and 4 broadcasts a step for
  /// 12 multiply–adds). Rows ≥ `blockRows` (1...4) re-read the last valid A row and are not
  /// stored.
  @inlinable @inline(__always)
  internal static func outerBlock24x4(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, blockRows: Int, depth: Int,
    epilogue: Epilogue
  ) {
    let w = Lane.scalarCount
    let row1 = blockRows > 1 ? aRowStride : 0
    let row2 = blockRows > 2 ? 2 * aRowStride : row1
    let row3 = blockRows > 3 ? 3 * aRowStride : row2
    var c00 = Lane(), c01 = Lane(), c02 = Lane(), c10 = Lane(), c11 = Lane(), c12 = Lane()
    var c20 = Lane(), c21 = Lane(), c22 = Lane(), c30 = Lane(), c31 = Lane(), c32 = Lane()
    var pa = a
    var pb = b
    for _ in 0..<depth {
      let b0 = LaneOps.load(pb)
      let b1 = LaneOps.load(pb + w)
      let b2 = LaneOps.load(pb + 2 * w)
      let a0 = Lane(repeating: pa[0])
      c00 = LaneOps.multiplyAdd(a0, b0, c00)
      c01 = LaneOps.multiplyAdd(a0, b1, c01)
      c02 = LaneOps.multiplyAdd(a0, b2, c02)
      let a1 = Lane(repeating: pa[row1])
      c10 = LaneOps.multiplyAdd(a1, b0, c10)
      c11 = LaneOps.multiplyAdd(a1, b1, c11)
      c12 = LaneOps.multiplyAdd(a1, b2, c12)
      let a2 = Lane(repeating: pa[row2])
      c20 = LaneOps.multiplyAdd(a2, b0, c20)
      c21 = LaneOps.multiplyAdd(a2, b1, c21)
      c22 = LaneOps.multiplyAdd(a2, b2, c22)
      let a3 = Lane(repeating: pa[row3])
      c30 = LaneOps.multiplyAdd(a3, b0, c30)
      c31 = LaneOps.multiplyAdd(a3, b1, c31)
      c32 = LaneOps.multiplyAdd(a3, b2, c32)
      pa += aDepthStride
      pb += ldb
    }
    let all = 0..<w
    epilogue.finish(c00, at: c, lanes: all, row: 0)
    epilogue.finish(c01, at: c + w, lanes: all, row: 0)
    epilogue.finish(c02, at: c + 2 * w, lanes: all, row: 0)
    if blockRows > 1 {
      let pc = c + ldc
      epilogue.finish(c10, at: pc, lanes: all, row: 1)
      epilogue.finish(c11, at: pc + w, lanes: all, row: 1)
      epilogue.finish(c12, at: pc + 2 * w, lanes: all, row: 1)
    }
    if blockRows > 2 {
      let pc = c + 2 * ldc
      epilogue.finish(c20, at: pc, lanes: all, row: 2)
      epilogue.finish(c21, at: pc + w, lanes: all, row: 2)
      epilogue.finish(c22, at: pc + 2 * w, lanes: all, row: 2)
    }
    if blockRows > 3 {
      let pc = c + 3 * ldc
      epilogue.finish(c30, at: pc, lanes: all, row: 3)
      epilogue.finish(c31, at: pc + w, lanes: all, row: 3)
      epilogue.finish(c32, at: pc + 2 * w, lanes: all, row: 3)
    }
  }
}
