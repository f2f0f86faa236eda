/// One sequence's block table: logical block i of the sequence lives in physical block
/// `physicalBlocks[i]`, and the blocks hold `tokenCount` tokens, filled left to right.
///
/// Every block is full except possibly the last, which holds `tokenCount − (n − 1)·B` tokens
/// (vLLM §4.2: "each entry also records the number of filled positions"); the fill counts are
/// derived from `tokenCount`, so they cannot disagree with it.
///
/// ```
/// B = 4, 7 tokens, physicalBlocks = [7, 1]   →   fillCounts = [4, 3]
/// token 5 lives in logical block 1 (physical 1), slot 1
/// ```
public struct BlockTable: Hashable, Sendable {
  /// B, tokens per block.
  public let blockSize: Int
  /// Physical block of each logical block, in order.
  public internal(set) var physicalBlocks: [Int]
  /// Tokens stored, L.
  public internal(set) var tokenCount: Int

  public init(blockSize: Int, physicalBlocks: [Int] = [], tokenCount: Int = 0) {
    self.blockSize = blockSize
    self.physicalBlocks = physicalBlocks
    self.tokenCount = tokenCount
  }

  /// ⌈L/B⌉, the number of logical blocks a sequence of `tokenCount` tokens needs.
  @inlinable
  public static func blocksNeeded(tokens: Int, blockSize: Int) -> Int {
    tokens / blockSize + (tokens % blockSize == 0 ? 0 : 1)  // ⌈L/B⌉ without overflow near Int.max
  }

  /// Logical blocks in the table.
  public var blockCount: Int { physicalBlocks.count }

  /// Tokens held by each logical block: B for every block but the last.
  public var fillCounts: [Int] {
    (0..<physicalBlocks.count).map { fillCount(ofLogicalBlock: $0) }
  }

  /// Tokens held by logical block `index`.
  public func fillCount(ofLogicalBlock index: Int) -> Int {
    min(blockSize, max(0, tokenCount - index * blockSize))
  }

  /// Free slots in the last block (0 when it is full or there are no blocks).
  public var freeSlotsInLastBlock: Int { physicalBlocks.count * blockSize - tokenCount }

  /// Where token `position` (0-based) lives.
  /// - Precondition: `0 ≤ position < physicalBlocks.count · B`.
  public func slot(ofToken position: Int) -> TokenSlot {
    precondition(position >= 0 && position < physicalBlocks.count * blockSize, "token \(position) is outside the table")
    return TokenSlot(
      logicalBlock: position / blockSize, physicalBlock: physicalBlocks[position / blockSize],
      offset: position % blockSize)
  }
}

/// Where one token's K and V live: a slot in a physical block.
public struct TokenSlot: Hashable, Sendable, CustomStringConvertible {
  public let logicalBlock: Int
  public let physicalBlock: Int
  /// Slot within the block, 0..<B.
  public let offset: Int

  public init(logicalBlock: Int, physicalBlock: Int, offset: Int) {
    self.logicalBlock = logicalBlock
    self.physicalBlock = physicalBlock
    self.offset = offset
  }

  public var description: String { "logical \(logicalBlock) → physical \(physicalBlock), slot \(offset)" }
}
