/// Per-row reductions over a row-major tile: max, sum, and the dot product of two tiles' rows.
///
/// Each row is reduced with four independent `Lane` accumulators (32 columns per step; the max
/// uses two `LanePair`s), then one Lane, then a scalar tail; the accumulators are combined with a
/// lowHalf/highHalf tree. Sums are therefore reassociated relative to the `…Scalar` twins (which
/// add left to right); the max is exact and order-independent.
///
/// NaN: `rowMax` ignores NaN elements (each step keeps the old maximum unless the new value
/// compares greater, which a NaN never does), so a row holding NaN among numbers reports the
/// maximum of the numbers, and an all-NaN row reports −infinity. `rowSum` and `rowDot` propagate
/// NaN. The sign of a zero maximum (+0 or −0) is unspecified.
public enum RowReductions {
  /// out[r] = max over c < columns of tile[r·ld + c]; −infinity for an empty row.
  ///
  /// - Complexity: rows·columns comparisons (counted as rows·columns FLOPs).
  /// - Precondition: `rows ≥ 0`, `columns ≥ 0`, `ld ≥ columns`; `out` holds `rows` floats.
  @inlinable
  public static func rowMax(
    _ tile: UnsafePointer<Float>, ld: Int, rows: Int, columns: Int,
    into out: UnsafeMutablePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0 && ld >= columns, "RowReductions.rowMax: bad shape")
    for r in 0..<rows { out[r] = maximum(of: tile + r * ld, count: columns) }
  }

  /// The maximum of `count` floats from `row`, ignoring NaN (−infinity when empty or all NaN):
  /// two `LanePair` accumulators over 32 columns, one `Lane` step, then a scalar tail.
  @inlinable @inline(__always)
  internal static func maximum(of row: UnsafePointer<Float>, count columns: Int) -> Float {
    let width = Lane.scalarCount
    let pairWidth = LanePair.scalarCount
    var m0 = LanePair(repeating: -.infinity)
    var m1 = m0
    var c = 0
    while c + 2 * pairWidth <= columns {
      m0 = LaneOps.maximum(m0, LaneOps.loadPair(row + c))
      m1 = LaneOps.maximum(m1, LaneOps.loadPair(row + c + pairWidth))
      c += 2 * pairWidth
    }
    if c + pairWidth <= columns {
      m0 = LaneOps.maximum(m0, LaneOps.loadPair(row + c))
      c += pairWidth
    }
    let m = LaneOps.maximum(m0, m1)
    var lane = LaneOps.maximum(m.lowHalf, m.highHalf)
    if c + width <= columns {
      lane = LaneOps.maximum(lane, LaneOps.load(row + c))
      c += width
    }
    var result = LaneOps.max(lane)
    while c < columns {
      let x = row[c]
      if x > result { result = x }
      c += 1
    }
    return result
  }

  /// out[r] = Σ over c < columns of tile[r·ld + c]; 0 for an empty row.
  ///
  /// - Complexity: rows·columns FLOPs.
  /// - Precondition: `rows ≥ 0`, `columns ≥ 0`, `ld ≥ columns`; `out` holds `rows` floats.
  @inlinable
  public static func rowSum(
    _ tile: UnsafePointer<Float>, ld: Int, rows: Int, columns: Int,
    into out: UnsafeMutablePointer<Float>
  ) {
    precondition(rows >= 0 && columns >= 0 && ld >= columns, "RowReductions.rowSum: bad shape")
    let width = Lane.scalarCount
    for r in 0..<rows {
      let row = tile + r * ld
      var s0 = Lane()
      var s1 = Lane()
      var s2 = Lane()
      var s3 = Lane()
      var c = 0
      while c + 4 * width <= columns {
        s0 += LaneOps.load(row + c)
        s1 += LaneOps.load(row + c + width)
        s2 += LaneOps.load(row + c + 2 * width)
        s3 += LaneOps.load(row + c + 3 * width)
        c += 4 * width
      }
      while c + width <= columns {
        s0 += LaneOps.load(row + c)
        c += width
      }
      let s01: Lane = s0 + s1
      let s23: Lane = s2 + s3
      var result = LaneOps.sum(s01 + s23)
      while c < columns {
        result += row[c]
        c += 1
      }
      out[r] = result
    }
  }

  /// out[r] = Σ over c < columns of a[r·lda + c]·b[r·ldb + c]  (D_i = rowsum(dO ∘ O)).
  ///
  /// - Complexity: 2·rows·columns FLOPs.
  /// - Precondition: `rows ≥ 0`, `columns ≥ 0`, `lda ≥ columns`, `ldb ≥ columns`; `out` holds
  ///   `rows` floats.
  @inlinable
  public static func rowDot(
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, rows: Int,
    columns: Int, into out: UnsafeMutablePointer<Float>
  ) {
    precondition(
      rows >= 0 && columns >= 0 && lda >= columns && ldb >= columns,
      "RowReductions.rowDot: bad shape")
    let width = Lane.scalarCount
    for r in 0..<rows {
      let x = a + r * lda
      let y = b + r * ldb
      var s0 = Lane()
      var s1 = Lane()
      var s2 = Lane()
      var s3 = Lane()
      var c = 0
      while c + 4 * width <= columns {
        s0 = LaneOps.multiplyAdd(LaneOps.load(x + c), LaneOps.load(y + c), s0)
        s1 = LaneOps.multiplyAdd(LaneOps.load(x + c + width), LaneOps.load(y + c + width), s1)
        let x2 = LaneOps.load(x + c + 2 * width)
        s2 = LaneOps.multiplyAdd(x2, LaneOps.load(y + c + 2 * width), s2)
        let x3 = LaneOps.load(x + c + 3 * width)
        s3 = LaneOps.multiplyAdd(x3, LaneOps.load(y + c + 3 * width), s3)
        c += 4 * width
      }
      while c + width <= columns {
        s0 = LaneOps.multiplyAdd(LaneOps.load(x + c), LaneOps.load(y + c), s0)
        c += width
      }
      let s01: Lane = s0 + s1
      let s23: Lane = s2 + s3
      var result = LaneOps.sum(s01 + s23)
      while c < columns {
        result = LaneOps.multiplyAdd(x[c], y[c], result)
        c += 1
      }
      out[r] = result
    }
  }
}
