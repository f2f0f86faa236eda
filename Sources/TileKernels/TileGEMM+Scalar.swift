// Scalar twins of the TileGEMM kernels: plain loops, strict left-to-right summation over depth,
// no SIMD. Tests compare the optimized kernels against these.

extension TileGEMM {
  /// Scalar twin of `multiply`: C = alpha·A·B (+ C), summing over depth in order.
  ///
  /// - Complexity: 2·rows·columns·depth FLOPs.
  /// - Precondition: as for `multiply`.
  @inlinable
  public static func multiplyScalar(
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    alpha: Float, accumulate: Bool
  ) {
    precondition(rows >= 0 && columns >= 0 && depth >= 0, "TileGEMM.multiplyScalar: negative size")
    for i in 0..<rows {
      for j in 0..<columns {
        var sum: Float = 0
        for p in 0..<depth { sum += a[i * lda + p] * b[p * ldb + j] }
        let scaled = alpha * sum
        c[i * ldc + j] = accumulate ? scaled + c[i * ldc + j] : scaled
      }
    }
  }

  /// Scalar twin of `multiplyTransposedA`: C = alpha·Aᵀ·B (+ C), A stored depth×rows.
  ///
  /// - Complexity: 2·rows·columns·depth FLOPs.
  /// - Precondition: as for `multiplyTransposedA`.
  @inlinable
  public static func multiplyTransposedAScalar(
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    alpha: Float, accumulate: Bool
  ) {
    precondition(
      rows >= 0 && columns >= 0 && depth >= 0, "TileGEMM.multiplyTransposedAScalar: negative size")
    for i in 0..<rows {
      for j in 0..<columns {
        var sum: Float = 0
        for p in 0..<depth { sum += a[p * lda + i] * b[p * ldb + j] }
        let scaled = alpha * sum
        c[i * ldc + j] = accumulate ? scaled + c[i * ldc + j] : scaled
      }
    }
  }

  /// Scalar twin of `multiplyTransposedB`: C = alpha·A·Bᵀ (+ C), B stored columns×depth.
  ///
  /// - Complexity: 2·rows·columns·depth FLOPs.
  /// - Precondition: as for `multiplyTransposedB`.
  @inlinable
  public static func multiplyTransposedBScalar(
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    alpha: Float, accumulate: Bool
  ) {
    precondition(
      rows >= 0 && columns >= 0 && depth >= 0, "TileGEMM.multiplyTransposedBScalar: negative size")
    for i in 0..<rows {
      for j in 0..<columns {
        var sum: Float = 0
        for p in 0..<depth { sum += a[i * lda + p] * b[j * ldb + p] }
        let scaled = alpha * sum
        c[i * ldc + j] = accumulate ? scaled + c[i * ldc + j] : scaled
      }
    }
  }

  /// Scalar twin of `transpose`: dst[c·ldt + r] = src[r·ld + c], one element at a time.
  ///
  /// - Complexity: rows·columns loads and stores.
  /// - Precondition: as for `transpose`.
  @inlinable
  public static func transposeScalar(
    _ src: UnsafePointer<Float>, ld: Int, rows: Int, columns: Int,
    into dst: UnsafeMutablePointer<Float>, ldt: Int
  ) {
    precondition(rows >= 0 && columns >= 0, "TileGEMM.transposeScalar: negative size")
    for r in 0..<rows {
      for c in 0..<columns { dst[c * ldt + r] = src[r * ld + c] }
    }
  }

  /// Scalar twin of `multiply(…rowScales:outputScales:)`: C[i][j] = rowScales[i]·Σ (in order)
  /// + outputScales[i]·C[i][j].
  ///
  /// - Complexity: 2·rows·columns·depth FLOPs, plus 3·rows·columns.
  /// - Precondition: as for `multiply(…rowScales:outputScales:)`.
  @inlinable
  public static func multiplyScalar(
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    rowScales: UnsafePointer<Float>, outputScales: UnsafePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0 && depth >= 0, "TileGEMM.multiplyScalar: negative size")
    for i in 0..<rows {
      for j in 0..<columns {
        var sum: Float = 0
        for p in 0..<depth { sum += a[i * lda + p] * b[p * ldb + j] }
        c[i * ldc + j] = c[i * ldc + j] * outputScales[i] + sum * rowScales[i]
      }
    }
  }
}
