/// The elementwise steps of (online) softmax and its gradient on a row-major tile, in place.
///
/// These are the non-GEMM FLOPs of attention: P = exp(S − m) with its row sums ℓ, the rescaling
/// of O or ℓ by e^(m_old − m_new), and dS = P ∘ (dP − D). Exponentials use `VectorExp` (max
/// relative error 2.5e−7); the `…Scalar` twins use `Foundation.exp`.
public enum SoftmaxKernels {
  /// In place: tile[r][c] = e^(tile[r][c] − rowMax[r]) for c < columns, and rowSum[r] = Σ_c of
  /// the new values.
  ///
  /// A fully masked row (rowMax[r] = −∞) becomes all +0 with rowSum[r] = 0, never NaN. Masked
  /// entries (−∞) in a row with a finite max become 0. NaN in the tile or in rowMax propagates.
  ///
  /// - Complexity: 3·rows·columns FLOPs (subtract, exp, add), plus `rows` stores of ℓ.
  /// - Precondition: `rows ≥ 0`, `columns ≥ 0`, `ld ≥ columns`; `rowMax` and `rowSum` hold `rows`
  ///   floats.
  @inlinable
  public static func exponentiateRows(
    _ tile: UnsafeMutablePointer<Float>, ld: Int, rows: Int, columns: Int,
    rowMax: UnsafePointer<Float>, rowSum: UnsafeMutablePointer<Float>
  ) {
    precondition(
      rows >= 0 && columns >= 0 && ld >= columns, "SoftmaxKernels.exponentiateRows: bad shape")
    let width = Lane.scalarCount
    for r in 0..<rows {
      let row = tile + r * ld
      let m = rowMax[r]
      if m == -.infinity {
        row.update(repeating: 0, count: columns)
        rowSum[r] = 0
        continue
      }
      let mLane = Lane(repeating: m)
      var s0 = Lane()
      var s1 = Lane()
      var c = 0
      while c + 2 * width <= columns {
        let e0 = VectorExp.exp(LaneOps.load(row + c) - mLane)
        let e1 = VectorExp.exp(LaneOps.load(row + c + width) - mLane)
        LaneOps.store(e0, to: row + c)
        LaneOps.store(e1, to: row + c + width)
        s0 += e0
        s1 += e1
        c += 2 * width
      }
      if c + width <= columns {
        let e0 = VectorExp.exp(LaneOps.load(row + c) - mLane)
        LaneOps.store(e0, to: row + c)
        s0 += e0
        c += width
      }
      var sum = LaneOps.sum(s0 + s1)
      while c < columns {
        let e = VectorExp.exp(row[c] - m)
        row[c] = e
        sum += e
        c += 1
      }
      rowSum[r] = sum
    }
  }

  /// In place: tile[r][c] *= factors[r].
  ///
  /// - Complexity: rows·columns FLOPs.
  /// - Precondition: `rows ≥ 0`, `columns ≥ 0`, `ld ≥ columns`; `factors` holds `rows` floats.
  @inlinable
  public static func scaleRows(
    _ tile: UnsafeMutablePointer<Float>, ld: Int, rows: Int, columns: Int,
    factors: UnsafePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0 && ld >= columns, "SoftmaxKernels.scaleRows: bad shape")
    let width = Lane.scalarCount
    for r in 0..<rows {
      let row = tile + r * ld
      let f = factors[r]
      let fLane = Lane(repeating: f)
      var c = 0
      while c + width <= columns {
        LaneOps.store(LaneOps.load(row + c) * fLane, to: row + c)
        c += width
      }
      while c < columns {
        row[c] *= f
        c += 1
      }
    }
  }

  /// In place: dp[r][c] = p[r][c]·(dp[r][c] − d[r])  (dS = P ∘ (dP − D)).
  ///
  /// - Complexity: 2·rows·columns FLOPs.
  /// - Precondition: `rows ≥ 0`, `columns ≥ 0`, `ldp ≥ columns`, `lddp ≥ columns`; `d` holds
  ///   `rows` floats; `p` and `dp` may be the same buffer only if `ldp == lddp`.
  @inlinable
  public static func softmaxGradient(
    p: UnsafePointer<Float>, ldp: Int, dp: UnsafeMutablePointer<Float>, lddp: Int, rows: Int,
    columns: Int, rowTerms d: UnsafePointer<Float>
  ) {
    precondition(
      rows >= 0 && columns >= 0 && ldp >= columns && lddp >= columns,
      "SoftmaxKernels.softmaxGradient: bad shape")
    let width = Lane.scalarCount
    for r in 0..<rows {
      let pRow = p + r * ldp
      let dpRow = dp + r * lddp
      let dr = d[r]
      let dLane = Lane(repeating: dr)
      var c = 0
      while c + width <= columns {
        let difference: Lane = LaneOps.load(dpRow + c) - dLane
        LaneOps.store(LaneOps.load(pRow + c) * difference, to: dpRow + c)
        c += width
      }
      while c < columns {
        dpRow[c] = pRow[c] * (dpRow[c] - dr)
        c += 1
      }
    }
  }
}
