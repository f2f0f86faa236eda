// Scalar twins of RowReductions: one loop per row, strict left-to-right order.

extension RowReductions {
  /// Scalar twin of `rowMax` (same NaN rule: `if x > m { m = x }` ignores NaN).
  ///
  /// - Complexity: rows·columns comparisons.
  /// - Precondition: as for `rowMax`.
  @inlinable
  public static func rowMaxScalar(
    _ tile: UnsafePointer<Float>, ld: Int, rows: Int, columns: Int,
    into out: UnsafeMutablePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0, "RowReductions.rowMaxScalar: bad shape")
    for r in 0..<rows {
      var m = -Float.infinity
      for c in 0..<columns where tile[r * ld + c] > m { m = tile[r * ld + c] }
      out[r] = m
    }
  }

  /// Scalar twin of `rowSum`.
  ///
  /// - Complexity: rows·columns FLOPs.
  /// - Precondition: as for `rowSum`.
  @inlinable
  public static func rowSumScalar(
    _ tile: UnsafePointer<Float>, ld: Int, rows: Int, columns: Int,
    into out: UnsafeMutablePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0, "RowReductions.rowSumScalar: bad shape")
    for r in 0..<rows {
      var s: Float = 0
      for c in 0..<columns { s += tile[r * ld + c] }
      out[r] = s
    }
  }

  /// Scalar twin of `rowDot`.
  ///
  /// - Complexity: 2·rows·columns FLOPs.
  /// - Precondition: as for `rowDot`.
  @inlinable
  public static func rowDotScalar(
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, rows: Int,
    columns: Int, into out: UnsafeMutablePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0, "RowReductions.rowDotScalar: bad shape")
    for r in 0..<rows {
      var s: Float = 0
      for c in 0..<columns { s += a[r * lda + c] * b[r * ldb + c] }
      out[r] = s
    }
  }
}
