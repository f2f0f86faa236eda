extension KVCacheManager {
  /// Every broken bookkeeping rule, one line each; empty when the cache is consistent.
  ///
  /// Checked:
  /// 1. each block's reference count equals the number of (sequence, logical block) entries that
  ///    map to it, so no block is owned twice without a count;
  /// 2. the free list holds distinct blocks, all with count 0, and every block with count 0 is
  ///    on it, so nothing leaks (after every sequence is freed, all blocks are free);
  /// 3. each table holds ⌈L/B⌉ blocks, in range, with no physical block repeated in one table.
  ///
  /// - Complexity: O(blockCount + Σ table sizes).
  public func invariantViolations() -> [String] {
    var problems: [String] = []
    var owners = Array(repeating: 0, count: blockCount)
    for (id, table) in tables.sorted(by: { $0.key < $1.key }) {
      let expected = BlockTable.blocksNeeded(tokens: table.tokenCount, blockSize: blockSize)
      if table.blockCount != expected {
        problems.append("sequence \(id) holds \(table.tokenCount) tokens in \(table.blockCount) blocks, expected \(expected)")
      }
      if Set(table.physicalBlocks).count != table.blockCount {
        problems.append("sequence \(id) maps two logical blocks to one physical block: \(table.physicalBlocks)")
      }
      for block in table.physicalBlocks {
        guard (0..<blockCount).contains(block) else {
          problems.append("sequence \(id) maps to block \(block), outside 0..<\(blockCount)")
          continue
        }
        owners[block] += 1
      }
    }
    var onFreeList = Array(repeating: false, count: blockCount)
    for block in freeList {
      guard (0..<blockCount).contains(block) else {
        problems.append("free list holds block \(block), outside 0..<\(blockCount)")
        continue
      }
      if onFreeList[block] { problems.append("block \(block) is on the free list twice") }
      onFreeList[block] = true
    }
    for block in 0..<blockCount {
      if referenceCounts[block] != owners[block] {
        problems.append("block \(block) has reference count \(referenceCounts[block]) but \(owners[block]) owners")
      }
      if owners[block] == 0, !onFreeList[block] { problems.append("block \(block) has no owner but is not free (leak)") }
      if owners[block] > 0, onFreeList[block] { problems.append("block \(block) is free but owned \(owners[block]) times") }
    }
    return problems
  }

  /// Throws the first invariant violation, if any.
  /// - Throws: `PagedKVError.invariantViolated`.
  public func checkInvariants() throws {
    if let first = invariantViolations().first { throw PagedKVError.invariantViolated(first) }
  }
}
