// The 64-column micro-kernels of the outer-product GEMM (AVX-512 builds): 6 rows × 64 columns
// (24 zmm accumulators) and 4 rows × 64 columns (16) for the last 1–4 rows.
//
// Each step over depth loads one 64-float row of B (four loads) and broadcasts 6 (or 4) A
// scalars against it: 24 multiply–adds for 10 loads, where the 8×32 block needs 10 loads (two
// of B, eight broadcasts) for 16. With fewer A rows in flight, the broadcasts of a row-major A
// (S or P̃, 192 floats a row) also touch fewer cache lines a step.
//
// On an AVX-512 build, one FlashAttention forward inner step (S = τ·Q_i·K_jᵀ, softmax,
// O_i ← α·O_i + β·P̃·V_j) runs fastest with 6×64 blocks, then 4×64, then 8×32 (the timings are
// in Docs/Performance.md, "Measurements behind the kernels").
//
// The two kernels are written out separately, like the 4×32 and 8×32 ones: one kernel with a
// `tall: Bool` literal at each call site compiled (release, -wmo) to a single out-of-line
// function testing the flag inside its depth loop, which made the step slower.
//
// On AVX2 (16 ymm registers) a LanePair is two registers and these blocks would spill, so they
// are used only with `TILEKERNELS_AVX512`; tests run them in every build. Each element of C is
// summed over depth in the same order as by the other blocks, so the results are identical bit
// for bit.

extension TileGEMM {
  /// Whether `outerProduct` covers 64-column strips with the 64-wide kernels by default: with
  /// `TILEKERNELS_AVX512` only.
  @inlinable internal static var defaultWideBlocks: Bool {
    #if TILEKERNELS_AVX512
      return true
    #else
      return false
    #endif
  }

  /// 4 rows × 64 columns of C (16 LanePair accumulators). Rows ≥ `blockRows` (1...4) re-read
  /// the last valid A row and are not stored.
  @inlinable @inline(__always)
  internal static func outerBlock64x4(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, blockRows: Int, depth: Int,
    epilogue: Epilogue
  ) {
    let w = LanePair.scalarCount
    let row1 = blockRows > 1 ? aRowStride : 0
    let row2 = blockRows > 2 ? 2 * aRowStride : row1
    let row3 = blockRows > 3 ? 3 * aRowStride : row2
    var c00 = LanePair(), c01 = LanePair(), c02 = LanePair(), c03 = LanePair()
    var c10 = LanePair(), c11 = LanePair(), c12 = LanePair(), c13 = LanePair()
    var c20 = LanePair(), c21 = LanePair(), c22 = LanePair(), c23 = LanePair()
    var c30 = LanePair(), c31 = LanePair(), c32 = LanePair(), c33 = LanePair()
    var pa = a
    var pb = b
    for _ in 0..<depth {
      let b0 = LaneOps.loadPair(pb)
      let b1 = LaneOps.loadPair(pb + w)
      let b2 = LaneOps.loadPair(pb + 2 * w)
      let b3 = LaneOps.loadPair(pb + 3 * w)
      let a0 = LanePair(repeating: pa[0])
      c00 = LaneOps.multiplyAdd(a0, b0, c00)
      c01 = LaneOps.multiplyAdd(a0, b1, c01)
      c02 = LaneOps.multiplyAdd(a0, b2, c02)
      c03 = LaneOps.multiplyAdd(a0, b3, c03)
      let a1 = LanePair(repeating: pa[row1])
      c10 = LaneOps.multiplyAdd(a1, b0, c10)
      c11 = LaneOps.multiplyAdd(a1, b1, c11)
      c12 = LaneOps.multiplyAdd(a1, b2, c12)
      c13 = LaneOps.multiplyAdd(a1, b3, c13)
      let a2 = LanePair(repeating: pa[row2])
      c20 = LaneOps.multiplyAdd(a2, b0, c20)
      c21 = LaneOps.multiplyAdd(a2, b1, c21)
      c22 = LaneOps.multiplyAdd(a2, b2, c22)
      c23 = LaneOps.multiplyAdd(a2, b3, c23)
      let a3 = LanePair(repeating: pa[row3])
      c30 = LaneOps.multiplyAdd(a3, b0, c30)
      c31 = LaneOps.multiplyAdd(a3, b1, c31)
      c32 = LaneOps.multiplyAdd(a3, b2, c32)
      c33 = LaneOps.multiplyAdd(a3, b3, c33)
      pa += aDepthStride
      pb += ldb
    }
    epilogue.finish(c00, at: c, row: 0)
    epilogue.finish(c01, at: c + w, row: 0)
    epilogue.finish(c02, at: c + 2 * w, row: 0)
    epilogue.finish(c03, at: c + 3 * w, row: 0)
    if blockRows > 1 {
      let pc = c + ldc
      epilogue.finish(c10, at: pc, row: 1)
      epilogue.finish(c11, at: pc + w, row: 1)
      epilogue.finish(c12, at: pc + 2 * w, row: 1)
      epilogue.finish(c13, at: pc + 3 * w, row: 1)
    }
    if blockRows > 2 {
      let pc = c + 2 * ldc
      epilogue.finish(c20, at: pc, row: 2)
      epilogue.finish(c21, at: pc + w, row: 2)
      epilogue.finish(c22, at: pc + 2 * w, row: 2)
      epilogue.finish(c23, at: pc + 3 * w, row: 2)
    }
    if blockRows > 3 {
      let pc = c + 3 * ldc
      epilogue.finish(c30, at: pc, row: 3)
      epilogue.finish(c31, at: pc + w, row: 3)
      epilogue.finish(c32, at: pc + 2 * w, row: 3)
      epilogue.finish(c33, at: pc + 3 * w, row: 3)
    }
  }

  /// 6 rows × 64 columns of C (24 LanePair accumulators, 4 B loads and 6 broadcasts a step for
  /// 24 multiply–adds). Rows ≥ `blockRows` (5...6) re-read the last valid A row and are not
  /// stored.
  @inlinable @inline(__always)
  internal static func outerBlock64x6(
    a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, b: UnsafePointer<Float>,
    ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, blockRows: Int, depth: Int,
    epilogue: Epilogue
  ) {
    let w = LanePair.scalarCount
    let row1 = aRowStride
    let row2 = 2 * aRowStride
    let row3 = 3 * aRowStride
    let row4 = 4 * aRowStride
    let row5 = blockRows > 5 ? 5 * aRowStride : row4
    var c00 = LanePair(), c01 = LanePair(), c02 = LanePair(), c03 = LanePair()
    var c10 = LanePair(), c11 = LanePair(), c12 = LanePair(), c13 = LanePair()
    var c20 = LanePair(), c21 = LanePair(), c22 = LanePair(), c23 = LanePair()
    var c30 = LanePair(), c31 = LanePair(), c32 = LanePair(), c33 = LanePair()
    var c40 = LanePair(), c41 = LanePair(), c42 = LanePair(), c43 = LanePair()
    var c50 = LanePair(), c51 = LanePair(), c52 = LanePair(), c53 = LanePair()
    var pa = a
    var pb = b
    for _ in 0..<depth {
      let b0 = LaneOps.loadPair(pb)
      let b1 = LaneOps.loadPair(pb + w)
      let b2 = LaneOps.loadPair(pb + 2 * w)
      let b3 = LaneOps.loadPair(pb + 3 * w)
      let a0 = LanePair(repeating: pa[0])
      c00 = LaneOps.multiplyAdd(a0, b0, c00)
      c01 = LaneOps.multiplyAdd(a0, b1, c01)
      c02 = LaneOps.multiplyAdd(a0, b2, c02)
      c03 = LaneOps.multiplyAdd(a0, b3, c03)
      let a1 = LanePair(repeating: pa[row1])
      c10 = LaneOps.multiplyAdd(a1, b0, c10)
      c11 = LaneOps.multiplyAdd(a1, b1, c11)
      c12 = LaneOps.multiplyAdd(a1, b2, c12)
      c13 = LaneOps.multiplyAdd(a1, b3, c13)
      let a2 = LanePair(repeating: pa[row2])
      c20 = LaneOps.multiplyAdd(a2, b0, c20)
      c21 = LaneOps.multiplyAdd(a2, b1, c21)
      c22 = LaneOps.multiplyAdd(a2, b2, c22)
      c23 = LaneOps.multiplyAdd(a2, b3, c23)
      let a3 = LanePair(repeating: pa[row3])
      c30 = LaneOps.multiplyAdd(a3, b0, c30)
      c31 = LaneOps.multiplyAdd(a3, b1, c31)
      c32 = LaneOps.multiplyAdd(a3, b2, c32)
      c33 = LaneOps.multiplyAdd(a3, b3, c33)
      let a4 = LanePair(repeating: pa[row4])
      c40 = LaneOps.multiplyAdd(a4, b0, c40)
      c41 = LaneOps.multiplyAdd(a4, b1, c41)
      c42 = LaneOps.multiplyAdd(a4, b2, c42)
      c43 = LaneOps.multiplyAdd(a4, b3, c43)
      let a5 = LanePair(repeating: pa[row5])
      c50 = LaneOps.multiplyAdd(a5, b0, c50)
      c51 = LaneOps.multiplyAdd(a5, b1, c51)
      c52 = LaneOps.multiplyAdd(a5, b2, c52)
      c53 = LaneOps.multiplyAdd(a5, b3, c53)
      pa += aDepthStride
      pb += ldb
    }
    var pc = c
    epilogue.finish(c00, at: pc, row: 0)
    epilogue.finish(c01, at: pc + w, row: 0)
    epilogue.finish(c02, at: pc + 2 * w, row: 0)
    epilogue.finish(c03, at: pc + 3 * w, row: 0)
    pc += ldc
    epilogue.finish(c10, at: pc, row: 1)
    epilogue.finish(c11, at: pc + w, row: 1)
    epilogue.finish(c12, at: pc + 2 * w, row: 1)
    epilogue.finish(c13, at: pc + 3 * w, row: 1)
    pc += ldc
    epilogue.finish(c20, at: pc, row: 2)
    epilogue.finish(c21, at: pc + w, row: 2)
    epilogue.finish(c22, at: pc + 2 * w, row: 2)
    epilogue.finish(c23, at: pc + 3 * w, row: 2)
    pc += ldc
    epilogue.finish(c30, at: pc, row: 3)
    epilogue.finish(c31, at: pc + w, row: 3)
    epilogue.finish(c32, at: pc + 2 * w, row: 3)
    epilogue.finish(c33, at: pc + 3 * w, row: 3)
    pc += ldc
    epilogue.finish(c40, at: pc, row: 4)
    epilogue.finish(c41, at: pc + w, row: 4)
    epilogue.finish(c42, at: pc + 2 * w, row: 4)
    epilogue.finish(c43, at: pc + 3 * w, row: 4)
    if blockRows > 5 {
      pc += ldc
      epilogue.finish(c50, at: pc, row: 5)
      epilogue.finish(c51, at: pc + w, row: 5)
      epilogue.finish(c52, at: pc + 2 * w, row: 5)
      epilogue.finish(c53, at: pc + 3 * w, row: 5)
    }
  }
}
