/// The block manager of a paged KV cache (vLLM §4.2–4.4, `block_manager_v1.py`): a pool of
/// physical blocks, one block table per sequence, reference counts, and copy-on-write.
///
/// ```
/// var cache = try KVCacheManager(blockSize: 4, blockCount: 8, allocationOrder: [7, 1, 3, 0, 2, 4, 5, 6])
/// let a = try cache.allocateSequence(tokenCount: 7)   // logical 0, 1 → physical 7, 1 (Figure 6)
/// try cache.appendToken(to: a)                        // fills slot 3 of block 1
/// try cache.appendToken(to: a)                        // block 1 is full: maps physical 3
/// let b = try cache.fork(a)                           // shares 7, 1, 3 (reference count 2)
/// try cache.appendToken(to: b)                        // copy-on-write of block 3
/// ```
///
/// The manager only does the bookkeeping; moving data is the caller's job (`KVPool` does it on a
/// `Machine`, counted). It is a value type: copying it snapshots the whole cache state.
///
/// - Invariant: a physical block's reference count equals the number of (sequence, logical block)
///   entries that map to it; a block is on the free list exactly when its count is 0; each table
///   holds ⌈L/B⌉ distinct blocks. `invariantViolations()` checks all of it.
/// - Complexity: `appendToken` is amortised O(1) (it edits the table in place); `fork` and `free`
///   are O(1) per block (O(blocks of the sequence)).
public struct KVCacheManager: Sendable {
  /// B, tokens per block.
  public let blockSize: Int
  /// Physical blocks in the pool.
  public let blockCount: Int
  /// Reference count of each physical block.
  public private(set) var referenceCounts: [Int]
  /// Free blocks, used as a stack: the last element is handed out next (vLLM's free list).
  private(set) var freeList: [Int]
  /// The live sequences' block tables.
  public private(set) var tables: [SequenceID: BlockTable] = [:]
  private var nextSequence = 0
  /// Copies done by copy-on-write so far.
  public private(set) var copyCount = 0

  /// An empty cache.
  /// - Parameter allocationOrder: the order in which free blocks are handed out at first (a
  ///   permutation of 0..<blockCount); nil means 0, 1, 2, …. Freed blocks are reused last-in,
  ///   first-out.
  /// - Throws: `PagedKVError.invalidConfiguration` for a non-positive size or an order that is
  ///   not a permutation.
  public init(blockSize: Int = KVCacheConfiguration.defaultBlockSize, blockCount: Int, allocationOrder: [Int]? = nil) throws {
    guard blockSize > 0 else { throw PagedKVError.invalidConfiguration("block size must be positive, got \(blockSize)") }
    guard blockCount > 0 else { throw PagedKVError.invalidConfiguration("block count must be positive, got \(blockCount)") }
    let order = allocationOrder ?? Array(0..<blockCount)
    guard order.count == blockCount, Set(order).count == blockCount, order.allSatisfy({ (0..<blockCount).contains($0) }) else {
      throw PagedKVError.invalidConfiguration("allocation order must be a permutation of 0..<\(blockCount)")
    }
    self.blockSize = blockSize
    self.blockCount = blockCount
    referenceCounts = Array(repeating: 0, count: blockCount)
    freeList = order.reversed()
  }

  /// An empty cache for `configuration`'s pool.
  public init(configuration: KVCacheConfiguration, allocationOrder: [Int]? = nil) throws {
    try self.init(blockSize: configuration.blockSize, blockCount: configuration.blockCount, allocationOrder: allocationOrder)
  }

  // MARK: Queries

  public var freeBlockCount: Int { freeList.count }
  public var usedBlockCount: Int { blockCount - freeList.count }
  /// The live sequences, oldest first.
  public var sequences: [SequenceID] { tables.keys.sorted() }

  /// The block table of `sequence`.
  /// - Throws: `PagedKVError.unknownSequence`.
  public func table(of sequence: SequenceID) throws -> BlockTable {
    guard let table = tables[sequence] else { throw PagedKVError.unknownSequence(sequence) }
    return table
  }

  /// Blocks an append to `sequence` would allocate: 1 when its last block is full or shared, else 0.
  public func blocksNeededToAppend(to sequence: SequenceID) throws -> Int {
    let table = try self.table(of: sequence)
    if table.freeSlotsInLastBlock == 0 { return 1 }
    return referenceCounts[table.physicalBlocks[table.blockCount - 1]] > 1 ? 1 : 0
  }

  // MARK: Allocation

  /// A new sequence of `tokenCount` tokens (a prompt): ⌈L/B⌉ fresh blocks.
  /// - Throws: `PagedKVError.outOfBlocks` (nothing allocated), `.invalidArgument` for L < 0.
  @discardableResult
  public mutating func allocateSequence(tokenCount: Int) throws -> SequenceID {
    guard tokenCount >= 0 else { throw PagedKVError.invalidArgument("token count must be ≥ 0, got \(tokenCount)") }
    let needed = BlockTable.blocksNeeded(tokens: tokenCount, blockSize: blockSize)
    try reserve(needed)
    var table = BlockTable(blockSize: blockSize)
    for _ in 0..<needed { table.physicalBlocks.append(takeFreeBlock()) }
    table.tokenCount = tokenCount
    return insert(table)
  }

  /// Appends one token to `sequence` and returns where it goes.
  ///
  /// - If the last block has a free slot and is owned by this sequence alone, the token goes there.
  /// - If the last block has a free slot but is shared (reference count > 1), the block is
  ///   copied into a fresh block first (copy-on-write): the outcome's `copy` names the copy the
  ///   block engine must do, and the old block loses one reference.
  /// - If the last block is full (or there is none), a fresh block is mapped.
  /// - Throws: `PagedKVError.outOfBlocks` (state unchanged), `.unknownSequence`.
  @discardableResult
  public mutating func appendToken(to sequence: SequenceID) throws -> AppendOutcome {
    guard let index = tables.index(forKey: sequence) else { throw PagedKVError.unknownSequence(sequence) }
    // Decide and reserve before mutating, so a throw leaves the state unchanged. The table is then
    // edited in place through the dictionary (`values[index]`): a local copy would share the block
    // list's storage with the dictionary and copy it on the next append, O(blocks) per mapped block.
    // Only scalars are read out, so no second reference to the block list is alive below.
    let lastIsFull = tables.values[index].freeSlotsInLastBlock == 0
    let tableBlocks = tables.values[index].blockCount
    let tokenCount = tables.values[index].tokenCount
    let last = tableBlocks > 0 ? tables.values[index].physicalBlocks[tableBlocks - 1] : -1
    let sharedLast: Int? = !lastIsFull && referenceCounts[last] > 1 ? last : nil
    var newBlock: Int?
    var copy: BlockCopy?
    if lastIsFull {
      try reserve(1)
      let block = takeFreeBlock()
      tables.values[index].physicalBlocks.append(block)
      newBlock = block
    } else if let last = sharedLast {
      try reserve(1)
      let block = takeFreeBlock()
      referenceCounts[last] -= 1
      tables.values[index].physicalBlocks[tableBlocks - 1] = block
      copy = BlockCopy(source: last, destination: block)
      copyCount += 1
    }
    let slot = tables.values[index].slot(ofToken: tokenCount)
    tables.values[index].tokenCount += 1
    return AppendOutcome(slot: slot, newBlock: newBlock, copy: copy)
  }

  /// A new sequence that shares every block of `parent` (vLLM's `fork`): the table is copied and
  /// each block gains a reference. Allocates nothing, so it cannot run out of blocks.
  /// - Throws: `PagedKVError.unknownSequence`.
  @discardableResult
  public mutating func fork(_ parent: SequenceID) throws -> SequenceID {
    let table = try self.table(of: parent)
    for block in table.physicalBlocks { referenceCounts[block] += 1 }
    return insert(table)
  }

  /// A new sequence of `tokenCount` tokens whose first `prefixLength` tokens are those of
  /// `source` (a shared system prompt, vLLM §4.4): the ⌈prefixLength/B⌉ blocks holding the prefix
  /// are mapped and gain a reference, then the remaining tokens are appended. A partly used last
  /// prefix block is shared until the first write, which copies it (copy-on-write).
  ///
  /// - Returns: the sequence and the outcomes of the appended tokens (slots to write, copies).
  /// - Throws: `PagedKVError.invalidArgument` unless 0 ≤ prefixLength ≤ min(tokenCount, source's
  ///   length); `.outOfBlocks` (state unchanged); `.unknownSequence`.
  public mutating func allocateSequence(
    sharingPrefixOf source: SequenceID, prefixLength: Int, tokenCount: Int
  ) throws -> (sequence: SequenceID, appended: [AppendOutcome]) {
    let sourceTable = try table(of: source)
    guard prefixLength >= 0, prefixLength <= sourceTable.tokenCount, prefixLength <= tokenCount else {
      throw PagedKVError.invalidArgument(
        "prefix of \(prefixLength) tokens must lie within the source's \(sourceTable.tokenCount) tokens and the new sequence's \(tokenCount)")
    }
    let shared = BlockTable.blocksNeeded(tokens: prefixLength, blockSize: blockSize)
    let table = BlockTable(
      blockSize: blockSize, physicalBlocks: Array(sourceTable.physicalBlocks.prefix(shared)), tokenCount: prefixLength)
    // Blocks the appends will need: fresh blocks past the prefix, plus one copy if the last
    // prefix block is partly used and the suffix writes into it.
    let copyNeeded = prefixLength % blockSize != 0 && tokenCount > prefixLength ? 1 : 0
    let needed = BlockTable.blocksNeeded(tokens: tokenCount, blockSize: blockSize) - shared + copyNeeded
    try reserve(needed)
    for block in table.physicalBlocks { referenceCounts[block] += 1 }
    let id = insert(table)
    var appended: [AppendOutcome] = []
    for _ in prefixLength..<tokenCount { appended.append(try appendToken(to: id)) }
    return (id, appended)
  }

  /// Releases `sequence`: each of its blocks loses a reference, and blocks that reach 0 return to
  /// the free list.
  /// - Throws: `PagedKVError.unknownSequence`.
  public mutating func free(_ sequence: SequenceID) throws {
    guard let table = tables.removeValue(forKey: sequence) else { throw PagedKVError.unknownSequence(sequence) }
    for block in table.physicalBlocks {
      referenceCounts[block] -= 1
      if referenceCounts[block] == 0 { freeList.append(block) }
    }
  }

  // MARK: Internals

  private func reserve(_ count: Int) throws {
    if count > freeList.count {
      throw PagedKVError.outOfBlocks(requested: count, free: freeList.count, capacity: blockCount)
    }
  }

  private mutating func takeFreeBlock() -> Int {
    let block = freeList.removeLast()
    referenceCounts[block] = 1
    return block
  }

  private mutating func insert(_ table: BlockTable) -> SequenceID {
    let id = SequenceID(nextSequence)
    nextSequence += 1
    tables[id] = table
    return id
  }
}
