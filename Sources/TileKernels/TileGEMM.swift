/// Tile matrix products on row-major `Float` buffers: C = α·op(A)·op(B) (+ C).
///
/// All three forms read A and B through raw pointers with an explicit leading dimension (the
/// row stride in elements) and write C in place. Any size ≥ 0 works; ragged edges go through
/// narrower, shifted or padded vector blocks (scalar loops only when B has < 8 columns). C must
/// not overlap A or B. Nothing is heap-allocated.
///
/// | kernel | form | used for |
/// |---|---|---|
/// | `multiply` | outer product, 4×32 register block (with `TILEKERNELS_AVX512`: 6×64 and 4×64 on 64-column strips, 8×32 on the rest; with `TILEKERNELS_FMA` alone: 4×24 and 6×16) | O += P·V, dQ += dS·K |
/// | `multiply(…rowScales:outputScales:)` | the same, per-row scales in the final stores | O ← αO + βP̃V |
/// | `multiplyTransposedA` | the same kernel, A read down its columns | dV += Pᵀ·dO, dK += dSᵀ·Q |
/// | `multiplyTransposedB` | B transposed into a stack panel, then the same kernel | S = Q·Kᵀ, dP = dO·Vᵀ |
///
/// Each has a `…Scalar` twin with the same signature (plain loops, strict summation order).
public enum TileGEMM {
  /// C = alpha·A·B, plus the old C when `accumulate` is true.
  ///
  /// A is rows×depth (row stride `lda`), B is depth×columns (`ldb`), C is rows×columns (`ldc`).
  /// The α scaling is applied once per output element, after the sum.
  ///
  /// - Complexity: 2·rows·columns·depth FLOPs.
  /// - Precondition: sizes ≥ 0, `lda ≥ depth`, `ldb ≥ columns`, `ldc ≥ columns`; C does not
  ///   overlap A or B.
  @inlinable
  public static func multiply(
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    alpha: Float, accumulate: Bool
  ) {
    precondition(rows >= 0 && columns >= 0 && depth >= 0, "TileGEMM.multiply: negative size")
    precondition(lda >= depth && ldb >= columns && ldc >= columns, "TileGEMM.multiply: ld too small")
    outerProduct(
      a: a, aRowStride: lda, aDepthStride: 1, b: b, ldb: ldb, bIsPadded: false, c: c, ldc: ldc,
      rows: rows, columns: columns, depth: depth, epilogue: Epilogue(alpha: alpha, accumulate: accumulate))
  }

  /// C[i][j] = rowScales[i]·Σₚ A[i][p]·B[p][j] + outputScales[i]·C[i][j]: a product added to a
  /// rescaled C with per-row factors on both, in one pass.
  ///
  /// This is FlashAttention's output update O_i ← diag(α)·O_i + diag(β)·P̃·V_j with the two
  /// rescalings folded into the product's final stores, instead of two passes over O_i and P̃
  /// before a plain `multiply`. Shapes as for `multiply`; the scales are applied once per output
  /// element, after the sum (`kept + scaled`, two roundings).
  ///
  /// - Complexity: 2·rows·columns·depth FLOPs, plus 3·rows·columns for the scales.
  /// - Precondition: as for `multiply`; `rowScales` and `outputScales` hold `rows` floats.
  @inlinable
  public static func multiply(
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    rowScales: UnsafePointer<Float>, outputScales: UnsafePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0 && depth >= 0, "TileGEMM.multiply: negative size")
    precondition(lda >= depth && ldb >= columns && ldc >= columns, "TileGEMM.multiply: ld too small")
    outerProduct(
      a: a, aRowStride: lda, aDepthStride: 1, b: b, ldb: ldb, bIsPadded: false, c: c, ldc: ldc,
      rows: rows, columns: columns, depth: depth,
      epilogue: Epilogue(rowScale: rowScales, outputScale: outputScales))
  }

  /// C = alpha·Aᵀ·B, plus the old C when `accumulate` is true.
  ///
  /// A is stored depth×rows (row stride `lda`), so C[i][j] = α·Σₚ A[p][i]·B[p][j]; B is
  /// depth×columns (`ldb`), C is rows×columns (`ldc`). This is dV = Pᵀ·dO and dK = dSᵀ·Q without
  /// materialising a transpose.
  ///
  /// - Complexity: 2·rows·columns·depth FLOPs.
  /// - Precondition: sizes ≥ 0, `lda ≥ rows`, `ldb ≥ columns`, `ldc ≥ columns`; C does not
  ///   overlap A or B.
  @inlinable
  public static func multiplyTransposedA(
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    alpha: Float, accumulate: Bool
  ) {
    precondition(
      rows >= 0 && columns >= 0 && depth >= 0, "TileGEMM.multiplyTransposedA: negative size")
    precondition(
      lda >= rows && ldb >= columns && ldc >= columns, "TileGEMM.multiplyTransposedA: ld too small")
    outerProduct(
      a: a, aRowStride: 1, aDepthStride: lda, b: b, ldb: ldb, bIsPadded: false, c: c, ldc: ldc,
      rows: rows, columns: columns, depth: depth, epilogue: Epilogue(alpha: alpha, accumulate: accumulate))
  }

  /// C = alpha·A·Bᵀ, plus the old C when `accumulate` is true.
  ///
  /// A is rows×depth (`lda`), B is stored columns×depth (`ldb`), so C[i][j] = α·Σₚ A[i][p]·B[j][p]:
  /// S = Q·Kᵀ with K row-major, and dP = dO·Vᵀ. B is copied transposed, 32 columns × up to 128 of
  /// depth at a time, into a 16 KB stack buffer (2·columns·depth extra loads and stores).
  ///
  /// - Complexity: 2·rows·columns·depth FLOPs.
  /// - Precondition: sizes ≥ 0, `lda ≥ depth`, `ldb ≥ depth`, `ldc ≥ columns`; C does not
  ///   overlap A or B.
  @inlinable
  public static func multiplyTransposedB(
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    alpha: Float, accumulate: Bool
  ) {
    precondition(
      rows >= 0 && columns >= 0 && depth >= 0, "TileGEMM.multiplyTransposedB: negative size")
    precondition(
      lda >= depth && ldb >= depth && ldc >= columns, "TileGEMM.multiplyTransposedB: ld too small")
    transposeAndMultiply(
      a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
      rows: rows, columns: columns, depth: depth, alpha: alpha, accumulate: accumulate)
  }
}
