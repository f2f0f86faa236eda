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
  /// Block-sparse runs: the block mask and the blocks it is defined on.
  public private(set) var blockMask: BlockMask? = nil
  public private(set) var maskBlocks: BlockSizes? = nil

  public init(batchIndex: Int, headIndex: Int, sequenceLength: Int, causal: Bool, validKeys: Int, dropout: DropoutMask) {
    self.batchIndex = batchIndex
    self.headIndex = headIndex
    self.sequenceLength = sequenceLength
    self.causal = causal
    self.validKeys = validKeys
    self.dropout = dropout
  }

  /// This context with a block mask over `blocks`: entries of masked blocks are invisible too.
  public func withBlockMask(_ mask: BlockMask, blocks: BlockSizes) -> HeadContext {
    var copy = self
    copy.blockMask = mask
    copy.maskBlocks = blocks
    return copy
  }

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
    if let blockMask, let maskBlocks, !blockMask[row / maskBlocks.queryBlockSize, column / maskBlocks.keyBlockSize] {
      return false
    }
    return column < validKeys && !(causal && column > row)
  }
}
