/// Masks applied to a score tile in place by writing −infinity, so that a later
/// `SoftmaxKernels.exponentiateRows` turns the masked entries into exact zeros.
///
/// Tiles are addressed in global coordinates through `rowOffset` / `columnOffset` (the position
/// of tile element (0, 0) in the full N×N score matrix). No scalar twins: these only store.
public enum TileMasks {
  /// Sets tile[r][c] = −∞ where the global column (columnOffset + c) > global row (rowOffset + r).
  ///
  /// - Complexity: 0 FLOPs; at most rows·columns stores.
  /// - Precondition: `rows ≥ 0`, `columns ≥ 0`, `ld ≥ columns`.
  @inlinable
  public static func applyCausal(
    _ tile: UnsafeMutablePointer<Float>, ld: Int, rows: Int, columns: Int, rowOffset: Int,
    columnOffset: Int
  ) {
    precondition(rows >= 0 && columns >= 0 && ld >= columns, "TileMasks.applyCausal: bad shape")
    for r in 0..<rows {
      // First masked column: c > rowOffset + r − columnOffset.
      let first = Swift.min(Swift.max(rowOffset + r - columnOffset + 1, 0), columns)
      (tile + r * ld + first).update(repeating: -.infinity, count: columns - first)
    }
  }

  /// Sets tile[r][c] = −∞ where columnOffset + c ≥ validColumns (key padding).
  ///
  /// - Complexity: 0 FLOPs; at most rows·columns stores.
  /// - Precondition: `rows ≥ 0`, `columns ≥ 0`, `ld ≥ columns`.
  @inlinable
  public static func applyKeyPadding(
    _ tile: UnsafeMutablePointer<Float>, ld: Int, rows: Int, columns: Int, columnOffset: Int,
    validColumns: Int
  ) {
    precondition(
      rows >= 0 && columns >= 0 && ld >= columns, "TileMasks.applyKeyPadding: bad shape")
    let first = Swift.min(Swift.max(validColumns - columnOffset, 0), columns)
    if first == columns { return }
    for r in 0..<rows {
      (tile + r * ld + first).update(repeating: -.infinity, count: columns - first)
    }
  }
}
