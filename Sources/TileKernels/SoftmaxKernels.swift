/// The elementwise steps of (online) softmax and its gradient on a row-major tile, in place.
///
/// These are the non-GEMM FLOPs of attention: P = exp(S − m) with its row sums ℓ, the rescaling
/// of O or ℓ by e^(m_old − m_new), and dS = P ∘ (dP − D). Exponentials use `VectorExp` 16 lanes
/// at a time (max relative error 1.2e−7); the `…Scalar` twins use `Foundation.exp`.
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
    for r in 0..<rows {
      rowSum[r] = exponentiateRow(tile + r * ld, columns: columns, max: rowMax[r], belowOverflow: false)
    }
  }

  /// In place, per row: m[r] = max of tile[r][0..<columns], then tile[r][c] = e^(tile[r][c] − m[r])
  /// and rowSum[r] = Σ_c of the new values: the numerator of a numerically safe softmax and its
  /// statistics, in one call (FlashAttention's m̃, P̃, ℓ̃).
  ///
  /// Equal bit for bit to `RowReductions.rowMax` followed by `exponentiateRows` (up to the sign of
  /// a zero maximum) wherever s − m > −86.9, and faster: since every argument is ≤ 0, it uses
  /// `VectorExp.expNoOverflow`, which flushes e^(s − m) < 1.9e−38 to 0 (`exponentiateRows`
  /// keeps normals down to 1.2e−38; both are 0 below). NaN elements are ignored by the max and
  /// propagate through the exponential; a row with no element above −∞ gets m = −∞, all +0 and
  /// ℓ = 0.
  ///
  /// - Complexity: 4·rows·columns FLOPs (max, subtract, exp, add).
  /// - Precondition: `rows ≥ 0`, `columns ≥ 0`, `ld ≥ columns`; `rowMax` and `rowSum` hold `rows`
  ///   floats.
  @inlinable
  public static func exponentiateAboveRowMax(
    _ tile: UnsafeMutablePointer<Float>, ld: Int, rows: Int, columns: Int,
    rowMax: UnsafeMutablePointer<Float>, rowSum: UnsafeMutablePointer<Float>
  ) {
    precondition(
      rows >= 0 && columns >= 0 && ld >= columns, "SoftmaxKernels.exponentiateAboveRowMax: bad shape")
    // All maxima first, then all exponentials: each row's exponentials wait for its max, so
    // interleaving them row by row serialises a reduction with the exp pipeline.
    for r in 0..<rows { rowMax[r] = RowReductions.maximum(of: tile + r * ld, count: columns) }
    for r in 0..<rows {
      rowSum[r] = exponentiateRow(tile + r * ld, columns: columns, max: rowMax[r], belowOverflow: true)
    }
  }

  /// In place: tile[r][c] = e^(tile[r][c] − rowMax[r])·rowScale[r]: probabilities recomputed
  /// from saved statistics (FlashAttention's backward, P = diag(ℓ)⁻¹·exp(S − m) with
  /// rowScale = 1/ℓ), in one pass instead of `exponentiateRows` then `scaleRows`, with the same
  /// bits as those two calls.
  ///
  /// A row with rowMax[r] = −∞ becomes all +0.
  ///
  /// - Complexity: 3·rows·columns FLOPs (subtract, exp, multiply).
  /// - Precondition: `rows ≥ 0`, `columns ≥ 0`, `ld ≥ columns`; `rowMax` and `rowScale` hold
  ///   `rows` floats.
  @inlinable
  public static func exponentiateRows(
    _ tile: UnsafeMutablePointer<Float>, ld: Int, rows: Int, columns: Int,
    rowMax: UnsafePointer<Float>, rowScale: UnsafePointer<Float>
  ) {
    precondition(
      rows >= 0 && columns >= 0 && ld >= columns, "SoftmaxKernels.exponentiateRows: bad shape")
    let width = Lane.scalarCount
    let pairWidth = LanePair.scalarCount
    for r in 0..<rows {
      let row = tile + r * ld
      let m = rowMax[r]
      if m == -.infinity {
        row.update(repeating: 0, count: columns)
        continue
      }
      let f = rowScale[r]
      let mPair = LanePair(repeating: m)
      let fPair = LanePair(repeating: f)
      var c = 0
      while c + pairWidth <= columns {
        let x: LanePair = LaneOps.loadPair(row + c) - mPair
        LaneOps.store(VectorExp.exp(x) * fPair, to: row + c)
        c += pairWidth
      }
      if c + width <= columns {
        let x: Lane = LaneOps.load(row + c) - Lane(repeating: m)
        LaneOps.store(VectorExp.exp(x) * Lane(repeating: f), to: row + c)
        c += width
      }
      while c < columns {
        row[c] = VectorExp.exp(row[c] - m) * f
        c += 1
      }
    }
  }

  /// One row of `exponentiateRows`: e^(x − m) in place, returning the sum in the kernel's fixed
  /// order (lanes 0–7 of each 16-wide step with the 8-wide step, lanes 8–15 apart, a lane tree,
  /// then the scalar tail left to right).
  @inlinable @inline(__always)
  internal static func exponentiateRow(
    _ row: UnsafeMutablePointer<Float>, columns: Int, max m: Float, belowOverflow: Bool
  ) -> Float {
    let width = Lane.scalarCount
    let pairWidth = LanePair.scalarCount
    if m == -.infinity {
      row.update(repeating: 0, count: columns)
      return 0
    }
    let mPair = LanePair(repeating: m)
    var s = LanePair()
    var c = 0
    if belowOverflow {
      // Software-pipelined, two vectors a step: the range reductions of the next two vectors
      // are issued before the polynomials of these two, so the out-of-order window always holds
      // independent work (each exponential is a chain of 9 dependent multiply–adds); x is read
      // again for the flush select rather than kept in registers. Faster than four vectors a
      // step without pipelining (Docs/Performance.md). Wrapping index
      // arithmetic keeps the loop's scalar work off the vector ports. One accumulator, so the
      // sum's order is that of one vector a step.
      let steps = columns / pairWidth
      if steps >= 2 {
        var (t0, r0) = VectorExp.rangeReduction(LaneOps.loadPair(row) - mPair)
        var (t1, r1) = VectorExp.rangeReduction(LaneOps.loadPair(row + pairWidth) - mPair)
        var k = 2
        while k &+ 2 <= steps {
          let next0 = VectorExp.rangeReduction(LaneOps.loadPair(row + (c &+ 2 &* pairWidth)) - mPair)
          let next1 = VectorExp.rangeReduction(LaneOps.loadPair(row + (c &+ 3 &* pairWidth)) - mPair)
          s += finishExponentials(reduced: (t0, r0), at: row + c, max: mPair)
          s += finishExponentials(reduced: (t1, r1), at: row + (c &+ pairWidth), max: mPair)
          (t0, r0) = next0
          (t1, r1) = next1
          c &+= 2 &* pairWidth
          k &+= 2
        }
        s += finishExponentials(reduced: (t0, r0), at: row + c, max: mPair)
        s += finishExponentials(reduced: (t1, r1), at: row + (c &+ pairWidth), max: mPair)
        c &+= 2 &* pairWidth
      }
      while c &+ pairWidth <= columns {
        let e = VectorExp.expNoOverflow(LaneOps.loadPair(row + c) - mPair)
        LaneOps.store(e, to: row + c)
        s += e
        c &+= pairWidth
      }
    } else {
      while c + pairWidth <= columns {
        let e = VectorExp.exp(LaneOps.loadPair(row + c) - mPair)
        LaneOps.store(e, to: row + c)
        s += e
        c += pairWidth
      }
    }
    var low = s.lowHalf
    if c + width <= columns {
      let e = VectorExp.exp(LaneOps.load(row + c) - Lane(repeating: m))
      LaneOps.store(e, to: row + c)
      low += e
      c += width
    }
    var sum = LaneOps.sum(low + s.highHalf)
    while c < columns {
      let e = VectorExp.exp(row[c] - m)
      row[c] = e
      sum += e
      c += 1
    }
    return sum
  }

  /// The second half of the pipelined numerator: e^(x − m) at `p` from its range reduction,
  /// with x read again from `p`, stored in place and returned for the row sum.
  @inlinable @inline(__always)
  internal static func finishExponentials(
    reduced: (t: LanePair, r: LanePair), at p: UnsafeMutablePointer<Float>, max mPair: LanePair
  ) -> LanePair {
    let e = VectorExp.expNoOverflow(reduced: reduced, x: LaneOps.loadPair(p) - mPair)
    LaneOps.store(e, to: p)
    return e
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
