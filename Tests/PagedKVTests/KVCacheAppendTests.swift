import PagedKV
import XCTest

/// `appendToken` edits the block table in place (amortised O(1); `attention-io bench` shows the
/// growth, no timing here): the tables, the snapshots taken by copying the cache, and a failed
/// append are as before.
final class KVCacheAppendTests: XCTestCase {
  func testManyAppendsWithBlockSizeOneMapABlockEach() throws {
    let count = 3_000
    var cache = try KVCacheManager(blockSize: 1, blockCount: count)
    let sequence = try cache.allocateSequence(tokenCount: 0)
    var snapshot: KVCacheManager?
    for token in 0..<count {
      if token == count / 2 { snapshot = cache }
      let outcome = try cache.appendToken(to: sequence)
      XCTAssertEqual(outcome.newBlock, token)
      XCTAssertEqual(outcome.slot.physicalBlock, token)
      XCTAssertEqual(outcome.slot.offset, 0)
      XCTAssertNil(outcome.copy)
    }
    let table = try cache.table(of: sequence)
    XCTAssertEqual(table.physicalBlocks, Array(0..<count))
    XCTAssertEqual(table.tokenCount, count)
    XCTAssertEqual(cache.invariantViolations(), [])
    // A copy taken halfway is a snapshot: the later appends did not reach it.
    XCTAssertEqual(try snapshot?.table(of: sequence).physicalBlocks, Array(0..<count / 2))
    XCTAssertEqual(snapshot?.freeBlockCount, count - count / 2)
    // The pool is full: the next append throws and changes nothing.
    let before = cache
    XCTAssertThrowsError(try cache.appendToken(to: sequence)) { error in
      XCTAssertEqual(error as? PagedKVError, .outOfBlocks(requested: 1, free: 0, capacity: count))
    }
    XCTAssertEqual(try cache.table(of: sequence), try before.table(of: sequence))
    XCTAssertEqual(cache.referenceCounts, before.referenceCounts)
  }

  func testCopyOnWriteOfASharedLastBlockInPlace() throws {
    var cache = try KVCacheManager(blockSize: 4, blockCount: 4)
    let parent = try cache.allocateSequence(tokenCount: 6)
    let child = try cache.fork(parent)
    let outcome = try cache.appendToken(to: child)
    XCTAssertEqual(outcome.copy, BlockCopy(source: 1, destination: 2))
    XCTAssertEqual(try cache.table(of: child).physicalBlocks, [0, 2])
    XCTAssertEqual(try cache.table(of: parent).physicalBlocks, [0, 1])
    XCTAssertEqual(cache.referenceCounts, [2, 1, 1, 0])
    XCTAssertEqual(cache.copyCount, 1)
    XCTAssertEqual(cache.invariantViolations(), [])
  }
}
