import GPUModel
import XCTest

/// The L2 model's mechanisms on hand-sized caches: sector-granular fills, LRU replacement,
/// write-back of dirty sectors, reductions and the two partitions.
final class L2CacheTests: XCTestCase {
  /// One partition, 2 sets × 2 ways of 128-byte lines.
  func tinyCache(partitions: Int = 1) -> L2Cache {
    L2Cache(L2CacheSpec(capacityInBytes: 4 * 128 * partitions, associativity: 2, partitions: partitions))
  }

  func testFillsOnlyTheSectorsAskedFor() {
    let cache = tinyCache()
    cache.read(line: 0, mask: 0b0011, from: 0)
    XCTAssertEqual(cache.counters.dramReadSectors, 2)
    cache.read(line: 0, mask: 0b1111, from: 0)
    XCTAssertEqual(cache.counters.dramReadSectors, 4, "only the two missing sectors are filled")
    XCTAssertEqual(cache.counters.readSectors, 6)
    XCTAssertEqual(cache.counters.readHitSectors, 2)
  }

  func testLeastRecentlyUsedLineIsEvicted() {
    let cache = tinyCache()
    // Lines 0, 2, 4 fall in set 0 (two sets, consecutive lines in consecutive sets).
    cache.read(line: 0, mask: 0b1111, from: 0)
    cache.read(line: 2, mask: 0b1111, from: 0)
    cache.read(line: 0, mask: 0b1111, from: 0)  // 0 is now the most recent
    cache.read(line: 4, mask: 0b1111, from: 0)  // evicts 2
    cache.read(line: 0, mask: 0b1111, from: 0)  // hit
    XCTAssertEqual(cache.counters.dramReadSectors, 12)
    cache.read(line: 2, mask: 0b1111, from: 0)  // miss again
    XCTAssertEqual(cache.counters.dramReadSectors, 16)
  }

  func testDirtySectorsAreWrittenBackOnEvictionOnly() {
    let cache = tinyCache()
    cache.write(line: 1, mask: 0b0110)
    XCTAssertEqual(cache.counters.dramWriteSectors, 0)
    XCTAssertEqual(cache.counters.dramReadSectors, 0, "whole-sector writes need no fill")
    XCTAssertEqual(cache.dirtySectors, 2)
    cache.read(line: 3, mask: 0b1111, from: 0)
    cache.read(line: 5, mask: 0b1111, from: 0)  // set 1 holds 3 and 5 now: line 1 is evicted
    XCTAssertEqual(cache.counters.dramWriteSectors, 2)
    XCTAssertEqual(cache.counters.writeSectors, 2)
    cache.clear()
    XCTAssertEqual(cache.counters.dramWriteSectors, 0, "clear() is Nsight's flush: nothing counted")
  }

  func testReductionsFetchMissingSectorsAndDirtyThem() {
    let cache = tinyCache()
    cache.reduce(line: 7, mask: 0b1000, count: 3)
    XCTAssertEqual(cache.counters.reductionSectors, 3)
    XCTAssertEqual(cache.counters.dramReadSectors, 1)
    cache.reduce(line: 7, mask: 0b1000)
    XCTAssertEqual(cache.counters.dramReadSectors, 1)
    XCTAssertEqual(cache.dirtySectors, 1)
  }

  func testIdenticalRequestsCountAsOneLookupAndHits() {
    let cache = tinyCache()
    cache.read(line: 9, mask: 0b1111, from: 0, count: 8)
    XCTAssertEqual(cache.counters.readSectors, 32)
    XCTAssertEqual(cache.counters.readHitSectors, 28)
    XCTAssertEqual(cache.counters.dramReadSectors, 4)
  }

  func testFarReadsFillHomeOnceAndKeepANearCopy() {
    let cache = tinyCache(partitions: 2)
    // Find a line homed in partition 1, read it from an SM of partition 0.
    let line = (0..<UInt64(64)).first { cache.home(ofLine: $0) == 1 }!
    cache.read(line: line, mask: 0b1111, from: 0)
    XCTAssertEqual(cache.counters.fabricReadSectors, 4)
    XCTAssertEqual(cache.counters.dramReadSectors, 4)
    cache.read(line: line, mask: 0b1111, from: 0)
    XCTAssertEqual(cache.counters.fabricReadSectors, 4, "the near copy serves the second read")
    cache.read(line: line, mask: 0b1111, from: 1)
    XCTAssertEqual(cache.counters.dramReadSectors, 4, "the home partition already holds it")
    XCTAssertEqual(cache.counters.readHitSectors, 8)
  }
}
