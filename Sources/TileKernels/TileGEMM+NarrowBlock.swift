// The 16-column micro-kernel of the outer-product GEMM for AVX2 builds: 6 rows × 16 columns,
// 12 `Lane` accumulators (ymm registers).
//
// AVX2 has 16 vector registers. The 4×32 LanePair block needs 16 ymm accumulators plus four
// for the B row and one broadcast, so it spills; 6×16 keeps 12 accumulators, two B vectors and
// one broadcast in 15 registers. Twelve independent FMA chains cover the FMA latency × ports
// (5 cycles × 2 on Zen 2, 4 × 2 on Zen 3 and Haswell); each depth step issues 2 loads of B and
// 6 broadcasts of A for 12 multiply–adds, under the 2 loads a cycle that the FMAs need.
//
// It covers the 32-column strips (two 16-column halves each), so the same columns go through
// the same order of multiply–adds as with the 4×32 block, and the results are identical bit
// for bit; the last 16- and 8-wide strips keep their even/odd-split kernels.

extension TileGEMM {
  /// Whether `outerProduct` covers its 32-column strips with 6×16 blocks by default: with
  /// `TILEKERNELS_FMA` and without `TILEKERNELS_AVX512` (an AVX2 + FMA target).
  @inlinable internal static var defaultNarrowBlocks: Bool {
    #if TILEKERNELS_FMA && !TILEKERNELS_AVX512
      return true
    #else
      return false
    #endif
  }

  /// One 16-column strip of C, all rows: 6-row blocks, then the last 1–5 rows. The 5- and
  /// 4-row blocks have their own calls with a literal row count, so after inlining the rows they
  /// do not store are not computed either (10 and 8 FMA chains); 1–3 rows re-read their last
  /// row. Measured (64×192×64 and 64×64×192 on Zen 2): a 4-row last block gave 97–98 GFLOP/s,
  /// the last 10 rows as 5 + 5 gave 96–97, and the 6-row kernel re-reading 2 rows 96.
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
    if rows - i == 5 {
      outerBlock16x6(
        a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b, ldb: ldb,
        c: c + i * ldc, ldc: ldc, blockRows: 5, depth: depth, epilogue: epilogue.rows(from: i))
    } else if rows - i == 4 {
      outerBlock16x6(
        a: a + i * aRowStride, aRowStride: aRowStride, aDepthStride: aDepthStride, b: b, ldb: ldb,
        c: c + i * ldc, ldc: ldc, blockRows: 4, depth: depth, epilogue: epilogue.rows(from: i))
    } else if rows > i {
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
}
