/// The block table of one sequence whose KV cache is pruned: the resident pages in order, each a
/// physical block of the pool holding the K and V of some token positions.
///
/// Unlike `KVCacheManager`'s tables, whose logical block i always holds positions iB..<(i+1)B,
/// pages here may be evicted from the middle (StreamingLLM) and tokens may be moved between slots
/// (H2O with compaction), so each page records the positions it holds. Attention does not depend
/// on the order of the keys, only on which are present.
///
/// - Invariant: every page but the last is full (B positions); the last holds 1…B. Appends go to
///   the last page; eviction keeps the invariant (whole pages, or compaction).
public struct PrunedKVCache: Sendable {
  /// One resident page: its physical block and the positions in its slots, in slot order.
  public struct Page: Hashable, Sendable {
    public var physicalBlock: Int
    public var positions: [Int]
  }

  /// B.
  public let blockSize: Int
  /// Blocks of the pool.
  public let blockCount: Int
  public private(set) var pages: [Page] = []
  /// Free physical blocks, used as a stack (the last is handed out next).
  private var freeBlocks: [Int]

  /// - Parameter allocationOrder: a permutation of 0..<blockCount, the order blocks are handed
  ///   out at first (freed blocks are reused last-in, first-out, as `KVCacheManager` does).
  public init(blockSize: Int, allocationOrder: [Int]) {
    self.blockSize = blockSize
    blockCount = allocationOrder.count
    freeBlocks = allocationOrder.reversed()
  }

  /// Tokens held.
  public var tokenCount: Int { pages.isEmpty ? 0 : (pages.count - 1) * blockSize + pages[pages.count - 1].positions.count }
  public var pageCount: Int { pages.count }
  /// Free slots of the last page (internal fragmentation).
  public var freeSlots: Int { pages.count * blockSize - tokenCount }

  /// Where slot `index` (page·B + offset) lives.
  public func slot(_ index: Int) -> (page: Int, offset: Int) { (index / blockSize, index % blockSize) }

  /// The position stored in slot `index`.
  public func position(atSlot index: Int) -> Int { pages[index / blockSize].positions[index % blockSize] }

  /// Appends `position` to the last page, mapping a fresh block when it is full.
  /// - Returns: the slot index it went to, and whether a page was mapped.
  /// - Throws: `PagedKVError.outOfBlocks` when the pool is exhausted.
  @discardableResult
  public mutating func append(position: Int) throws -> (slot: Int, newPage: Bool) {
    var mapped = false
    if pages.isEmpty || pages[pages.count - 1].positions.count == blockSize {
      guard let block = freeBlocks.popLast() else {
        throw PagedKVError.outOfBlocks(requested: 1, free: 0, capacity: blockCount)
      }
      pages.append(Page(physicalBlock: block, positions: []))
      mapped = true
    }
    pages[pages.count - 1].positions.append(position)
    return (tokenCount - 1, mapped)
  }

  /// Frees whole pages (their blocks go back to the pool). Only full pages other than the last
  /// may be evicted, which keeps the invariant.
  /// - Precondition: every index names a full page that is not the last.
  public mutating func evictPages(_ indices: [Int]) {
    let doomed = Set(indices)
    precondition(doomed.allSatisfy { $0 >= 0 && $0 < pages.count - 1 }, "only pages before the last may be evicted")
    var kept: [Page] = []
    for (i, page) in pages.enumerated() {
      if doomed.contains(i) { freeBlocks.append(page.physicalBlock) } else { kept.append(page) }
    }
    pages = kept
  }

  /// Evicts the tokens in `slots` and compacts: each hole below the new token count is filled by
  /// a surviving token from above it (lowest hole from the highest survivor), then the pages past
  /// the new end are freed.
  /// - Returns: the moves (from slot, to slot) in the order done; each is one token's K and V
  ///   copied for every KV head.
  public mutating func evictTokens(slots: Set<Int>) -> [(from: Int, to: Int)] {
    let total = tokenCount
    let kept = total - slots.count
    let holes = slots.filter { $0 < kept }.sorted()
    let movers = (kept..<total).filter { !slots.contains($0) }.sorted(by: >)
    precondition(holes.count == movers.count, "compaction pairs every hole with a survivor")
    var moves: [(from: Int, to: Int)] = []
    for (hole, mover) in zip(holes, movers) {
      let position = self.position(atSlot: mover)
      pages[hole / blockSize].positions[hole % blockSize] = position
      moves.append((mover, hole))
    }
    let keptPages = BlockTable.blocksNeeded(tokens: kept, blockSize: blockSize)
    for page in pages[keptPages...] { freeBlocks.append(page.physicalBlock) }
    pages.removeSubrange(keptPages...)
    if kept > 0 {
      let lastFill = kept - (keptPages - 1) * blockSize
      pages[keptPages - 1].positions.removeSubrange(lastFill...)
    }
    return moves
  }

  /// The block table a kernel reads for the pages `indices` (ascending): their physical blocks,
  /// and a token count that makes every page full but the last, which holds what it holds. Only
  /// the cache's last page may be partly filled, so this is exact when it is read last.
  public func table(reading indices: [Int]) -> BlockTable {
    var tokens = 0
    for i in indices { tokens += pages[i].positions.count }
    return BlockTable(blockSize: blockSize, physicalBlocks: indices.map { pages[$0].physicalBlock }, tokenCount: tokens)
  }

  /// The table of every resident page.
  public var fullTable: BlockTable { table(reading: Array(pages.indices)) }
}
