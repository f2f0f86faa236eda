/// What distinguishes one head's run from another's: its position (for the dropout stream), its
/// causal flag and its number of valid keys (key padding).
///
/// Masked entries of S are set to −∞ before the softmax. A row whose keys are all masked (a
/// query of a batch entry with valid length 0) has no softmax: every algorithm gives it output
/// 0 and gradients 0, never NaN.
public struct HeadContext: Hashable, Sendable {
  public let batchIndex: Int
  public let headIndex: Int
  public let sequenceLength: Int
  public let causal: Bool
  /// Keys 0..<validKeys are visible; the rest are padding.
  public let validKeys: Int
  public let dropout: DropoutMask

  /// Whether the block of rows `rowStart..<rowStart+rows` × columns `columnStart..<columnStart+columns`
  /// has at least one causally masked entry (column > row).
  public func needsCausalMask(rowStart: Int, rows: Int, columnStart: Int, columns: Int) -> Bool {
    causal && rows > 0 && columns > 0 && columnStart + columns - 1 > rowStart
  }

  /// Whether the block has at least one padded key.
  public func needsPaddingMask(columnStart: Int, columns: Int) -> Bool {
    columnStart + columns > validKeys
  }

  /// Whether the block lies entirely above the diagonal (every column > every row), so a causal
  /// kernel may skip it (FlashAttention-2).
  public func isCausallyEmpty(rowStart: Int, rows: Int, columnStart: Int) -> Bool {
    causal && columnStart > rowStart + rows - 1
  }

  /// Whether key `column` is visible from query `row`.
  public func isVisible(row: Int, column: Int) -> Bool {
    column < validKeys && !(causal && column > row)
  }
}
