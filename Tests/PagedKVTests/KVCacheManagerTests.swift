import MemoryHierarchy
import PagedKV
import XCTest
import _TestSupport

final class KVCacheManagerTests: XCTestCase {
  /// vLLM Figure 6: B = 4, a 7-token prompt in physical blocks 7 and 1, two decode steps.
  func testFigureSixWalkThrough() throws {
    var cache = try KVCacheManager(blockSize: 4, blockCount: 8, allocationOrder: [7, 1, 3, 0, 2, 4, 5, 6])
    let request = try cache.allocateSequence(tokenCount: 7)
    var table = try cache.table(of: request)
    XCTAssertEqual(table.physicalBlocks, [7, 1])
    XCTAssertEqual(table.fillCounts, [4, 3])
    // Decode step 1 fills the last free slot of physical block 1.
    let first = try cache.appendToken(to: request)
    XCTAssertEqual(first.slot, TokenSlot(logicalBlock: 1, physicalBlock: 1, offset: 3))
    XCTAssertNil(first.newBlock)
    XCTAssertNil(first.copy)
    // Decode step 2 needs logical block 2, mapped to a new physical block 3.
    let second = try cache.appendToken(to: request)
    XCTAssertEqual(second.slot, TokenSlot(logicalBlock: 2, physicalBlock: 3, offset: 0))
    XCTAssertEqual(second.newBlock, 3)
    table = try cache.table(of: request)
    XCTAssertEqual(table.physicalBlocks, [7, 1, 3])
    XCTAssertEqual(table.fillCounts, [4, 4, 1])
    XCTAssertEqual(cache.usedBlockCount, 3)
    try cache.checkInvariants()
    try cache.free(request)
    XCTAssertEqual(cache.freeBlockCount, 8)
    try cache.checkInvariants()
  }

  /// vLLM Figure 8: two samples share the prompt; the first writer copies the shared last block,
  /// the second writes in place.
  func testParallelSamplingCopiesTheSharedLastBlockOnce() throws {
    var cache = try KVCacheManager(blockSize: 4, blockCount: 8, allocationOrder: [7, 1, 3, 0, 2, 4, 5, 6])
    let a1 = try cache.allocateSequence(tokenCount: 7)
    let a2 = try cache.fork(a1)
    XCTAssertEqual(cache.referenceCounts[7], 2)
    XCTAssertEqual(cache.referenceCounts[1], 2)
    XCTAssertEqual(cache.usedBlockCount, 2, "fork allocates nothing")
    let write1 = try cache.appendToken(to: a1)
    XCTAssertEqual(write1.copy, BlockCopy(source: 1, destination: 3))
    XCTAssertEqual(write1.slot, TokenSlot(logicalBlock: 1, physicalBlock: 3, offset: 3))
    XCTAssertEqual(cache.referenceCounts[1], 1)
    let write2 = try cache.appendToken(to: a2)
    XCTAssertNil(write2.copy, "block 1 is now owned by A2 alone")
    XCTAssertEqual(write2.slot.physicalBlock, 1)
    XCTAssertEqual(try cache.table(of: a1).physicalBlocks, [7, 3])
    XCTAssertEqual(try cache.table(of: a2).physicalBlocks, [7, 1])
    XCTAssertEqual(cache.copyCount, 1)
    try cache.checkInvariants()
  }

  func testForkOfAFullLastBlockNeedsNoCopy() throws {
    var cache = try KVCacheManager(blockSize: 4, blockCount: 4)
    let a = try cache.allocateSequence(tokenCount: 8)
    let b = try cache.fork(a)
    let outcome = try cache.appendToken(to: b)
    XCTAssertNil(outcome.copy)
    XCTAssertNotNil(outcome.newBlock)
    XCTAssertEqual(try cache.table(of: b).physicalBlocks.prefix(2), try cache.table(of: a).physicalBlocks[...])
    try cache.checkInvariants()
  }

  func testPrefixSharingMapsThePrefixBlocksAndCopiesTheLastOnWrite() throws {
    var cache = try KVCacheManager(blockSize: 4, blockCount: 16)
    let systemPrompt = try cache.allocateSequence(tokenCount: 10)  // blocks 0, 1, 2 (2 tokens in 2)
    let (request, appended) = try cache.allocateSequence(sharingPrefixOf: systemPrompt, prefixLength: 10, tokenCount: 15)
    let table = try cache.table(of: request)
    XCTAssertEqual(table.tokenCount, 15)
    XCTAssertEqual(Array(table.physicalBlocks.prefix(2)), [0, 1], "full prefix blocks are shared")
    XCTAssertEqual(appended.count, 5)
    XCTAssertEqual(appended.first?.copy?.source, 2, "the partly used prefix block is copied on the first write")
    XCTAssertEqual(cache.referenceCounts[0], 2)
    XCTAssertEqual(cache.referenceCounts[2], 1)
    XCTAssertEqual(cache.usedBlockCount, 3 + 2)
    try cache.checkInvariants()
    // A block-aligned prefix needs no copy.
    let (aligned, alignedAppends) = try cache.allocateSequence(sharingPrefixOf: systemPrompt, prefixLength: 8, tokenCount: 9)
    XCTAssertTrue(alignedAppends.allSatisfy { $0.copy == nil })
    XCTAssertEqual(try cache.table(of: aligned).physicalBlocks.prefix(2), [0, 1])
    try cache.checkInvariants()
    XCTAssertThrowsError(try cache.allocateSequence(sharingPrefixOf: systemPrompt, prefixLength: 11, tokenCount: 12))
  }

  func testOutOfBlocksIsATypedErrorAndChangesNothing() throws {
    var cache = try KVCacheManager(blockSize: 4, blockCount: 3)
    XCTAssertThrowsError(try cache.allocateSequence(tokenCount: 13)) { error in
      XCTAssertEqual(error as? PagedKVError, .outOfBlocks(requested: 4, free: 3, capacity: 3))
    }
    XCTAssertEqual(cache.freeBlockCount, 3)
    let a = try cache.allocateSequence(tokenCount: 12)
    let before = cache.tables
    XCTAssertThrowsError(try cache.appendToken(to: a)) { error in
      XCTAssertEqual(error as? PagedKVError, .outOfBlocks(requested: 1, free: 0, capacity: 3))
    }
    XCTAssertEqual(cache.tables, before)
    // A copy-on-write that cannot get a block also fails cleanly.
    var shared = try KVCacheManager(blockSize: 4, blockCount: 1)
    let p = try shared.allocateSequence(tokenCount: 2)
    let q = try shared.fork(p)
    XCTAssertThrowsError(try shared.appendToken(to: q))
    XCTAssertEqual(shared.referenceCounts, [2])
    try shared.checkInvariants()
    XCTAssertThrowsError(try cache.free(SequenceID(99))) { error in
      XCTAssertEqual(error as? PagedKVError, .unknownSequence(SequenceID(99)))
    }
  }

  func testInvalidConfigurationsThrow() {
    XCTAssertThrowsError(try KVCacheManager(blockSize: 0, blockCount: 4))
    XCTAssertThrowsError(try KVCacheManager(blockSize: 4, blockCount: 0))
    XCTAssertThrowsError(try KVCacheManager(blockSize: 4, blockCount: 3, allocationOrder: [0, 0, 1]))
    XCTAssertThrowsError(try KVCacheConfiguration(blockSize: 16, blockCount: 4, keyValueHeads: 0, headDimension: 8))
  }

  /// Random fork / append / free / prefix-share sequences (beam-search-like trees) keep every
  /// invariant; a shadow copy of the block contents, updated only through the outcomes' slots and
  /// copies, shows every sequence reads exactly its own tokens (copy-on-write isolates writers);
  /// and freeing everything leaks nothing.
  func testRandomForkAppendFreeKeepsTheInvariants() throws {
    for seed in UInt64(0)..<(longTestsEnabled ? 200 : 20) {
      var rng = SplitMix64(seed: seed)
      let blockSize = [1, 2, 3, 4, 16].randomElement(using: &rng)!
      let blockCount = Int.random(in: 4...64, using: &rng)
      try withTrace("seed: \(seed), B: \(blockSize), blocks: \(blockCount)") { context in
        var cache = try KVCacheManager(blockSize: blockSize, blockCount: blockCount)
        var live: [SequenceID] = []
        var tokens: [SequenceID: [Int]] = [:]  // what each sequence should read
        var slots = Array(repeating: Array(repeating: -1, count: blockSize), count: blockCount)  // block contents
        var nextToken = 0
        func write(_ outcome: AppendOutcome) -> Int {
          if let copy = outcome.copy { slots[copy.destination] = slots[copy.source] }
          nextToken += 1
          slots[outcome.slot.physicalBlock][outcome.slot.offset] = nextToken
          return nextToken
        }
        for step in 0..<300 {
          let action = Int.random(in: 0..<10, using: &rng)
          do {
            switch action {
            case 0...1 where live.count < 12:
              let length = Int.random(in: 0...(3 * blockSize), using: &rng)
              let id = try cache.allocateSequence(tokenCount: length)
              let table = try cache.table(of: id)
              tokens[id] = (0..<length).map { position in
                let slot = table.slot(ofToken: position)
                nextToken += 1
                slots[slot.physicalBlock][slot.offset] = nextToken
                return nextToken
              }
              live.append(id)
            case 2...3 where !live.isEmpty:
              let parent = live.randomElement(using: &rng)!
              let child = try cache.fork(parent)
              live.append(child)
              tokens[child] = tokens[parent]
            case 4 where !live.isEmpty:
              let source = live.randomElement(using: &rng)!
              let prefix = Int.random(in: 0...tokens[source]!.count, using: &rng)
              let total = prefix + Int.random(in: 0...blockSize, using: &rng)
              let (id, appended) = try cache.allocateSequence(sharingPrefixOf: source, prefixLength: prefix, tokenCount: total)
              live.append(id)
              tokens[id] = Array(tokens[source]!.prefix(prefix)) + appended.map(write)
            case 5...7 where !live.isEmpty:
              let id = live.randomElement(using: &rng)!
              let outcome = try cache.appendToken(to: id)
              tokens[id]!.append(write(outcome))
            case 8...9 where !live.isEmpty:
              let index = Int.random(in: 0..<live.count, using: &rng)
              try cache.free(live.remove(at: index))
            default:
              break
            }
          } catch PagedKVError.outOfBlocks {
            // Allowed: the operation changed nothing, which the checks below confirm.
          }
          let problems = cache.invariantViolations()
          XCTAssertEqual(problems, [], context.message("step \(step), action \(action)"))
          if !problems.isEmpty { return }
          for id in live {
            let table = try cache.table(of: id)
            let read = (0..<table.tokenCount).map { slots[table.slot(ofToken: $0).physicalBlock][table.slot(ofToken: $0).offset] }
            XCTAssertEqual(read, tokens[id]!, context.message("step \(step): sequence \(id) reads another's tokens"))
          }
        }
        for id in live { try cache.free(id) }
        XCTAssertEqual(cache.freeBlockCount, blockCount, context.message("leak after freeing every sequence"))
        XCTAssertEqual(cache.invariantViolations(), [], context.message())
      }
    }
  }
}
