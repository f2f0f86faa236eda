import Foundation

// Scalar twins of SoftmaxKernels: plain loops, strict order, Foundation.exp.

extension SoftmaxKernels {
  /// Scalar twin of `exponentiateRows`, with `Foundation.exp` and a left-to-right row sum.
  ///
  /// - Complexity: 3·rows·columns FLOPs.
  /// - Precondition: as for `exponentiateRows`.
  @inlinable
  public static func exponentiateRowsScalar(
    _ tile: UnsafeMutablePointer<Float>, ld: Int, rows: Int, columns: Int,
    rowMax: UnsafePointer<Float>, rowSum: UnsafeMutablePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0, "SoftmaxKernels.exponentiateRowsScalar: bad shape")
    for r in 0..<rows {
      let m = rowMax[r]
      var sum: Float = 0
      for c in 0..<columns {
        let e: Float = m == -.infinity ? 0 : Foundation.exp(tile[r * ld + c] - m)
        tile[r * ld + c] = e
        sum += e
      }
      rowSum[r] = sum
    }
  }

  /// Scalar twin of `scaleRows`.
  ///
  /// - Complexity: rows·columns FLOPs.
  /// - Precondition: as for `scaleRows`.
  @inlinable
  public static func scaleRowsScalar(
    _ tile: UnsafeMutablePointer<Float>, ld: Int, rows: Int, columns: Int,
    factors: UnsafePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0, "SoftmaxKernels.scaleRowsScalar: bad shape")
    for r in 0..<rows {
      for c in 0..<columns { tile[r * ld + c] *= factors[r] }
    }
  }

  /// Scalar twin of `softmaxGradient`.
  ///
  /// - Complexity: 2·rows·columns FLOPs.
  /// - Precondition: as for `softmaxGradient`.
  @inlinable
  public static func softmaxGradientScalar(
    p: UnsafePointer<Float>, ldp: Int, dp: UnsafeMutablePointer<Float>, lddp: Int, rows: Int,
    columns: Int, rowTerms d: UnsafePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0, "SoftmaxKernels.softmaxGradientScalar: bad shape")
    for r in 0..<rows {
      for c in 0..<columns {
        dp[r * lddp + c] = p[r * ldp + c] * (dp[r * lddp + c] - d[r])
      }
    }
  }
}
