import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import PagedKV
import XCTest
import _TestSupport

final class PagedDecodeNumericsTests: XCTestCase {
  /// Paged, split-KV and contiguous (float64) attention agree on random shapes, with NaN in every
  /// unwritten pool slot, so a masked slot that leaked into O would show.
  func testPagedSplitAndContiguousOutputsAgree() throws {
    var rng = SplitMix64(seed: 0x5EED)
    for index in 0..<(longTestsEnabled ? 80 : 20) {
      let lengths = (0..<Int.random(in: 1...3, using: &rng)).map { _ in Int.random(in: 1...90, using: &rng) }
      let kvHeads = Int.random(in: 1...2, using: &rng)
      let group = [1, 2, 3].randomElement(using: &rng)!
      let blockSize = [1, 3, 4, 8, 16].randomElement(using: &rng)!
      let d = Int.random(in: 1...33, using: &rng)
      let splits = Int.random(in: 2...6, using: &rng)
      let reads = KeyValueReads.allCases.randomElement(using: &rng)!
      let seed = rng.next()
      try withTrace("seed 0x5EED case \(index), L: \(lengths), B: \(blockSize), d: \(d), h_q: \(kvHeads * group), h_kv: \(kvHeads), splits: \(splits), \(reads.rawValue), input seed: \(seed)") { context in
        func run(_ s: Int) throws -> PagedDecodeResult {
          let c = try PagedDecodeConfiguration(
            blockSize: blockSize, headDimension: d, queryHeads: kvHeads * group, keyValueHeads: kvHeads, splits: s,
            keyValueReads: reads, dataType: .fp32)
          return try PagedDecodeSimulator.run(PagedDecodeRequest(contextLengths: lengths, configuration: c, mode: .execute, seed: seed))
        }
        let unsplit = try run(1)
        let split = try run(splits)
        let unsplitError = try XCTUnwrap(unsplit.maxRelativeError)
        let splitError = try XCTUnwrap(split.maxRelativeError)
        XCTAssertLessThan(unsplitError, 2e-6, context.message("paged vs float64 contiguous: \(unsplitError)"))
        XCTAssertLessThan(splitError, 2e-6, context.message("split-KV vs float64 contiguous: \(splitError)"))
        let a = try XCTUnwrap(unsplit.output)
        let b = try XCTUnwrap(split.output)
        XCTAssertTrue(a.allSatisfy(\.isFinite) && b.allSatisfy(\.isFinite), context.message("non-finite output"))
        let reference = a.map(Double.init)
        XCTAssertLessThan(maxRelativeError(b, reference), 2e-6, context.message("split-KV vs unsplit"))
      }
    }
  }

  /// fp16 storage: the error stays at fp16's rounding of O.
  func testHalfPrecisionErrorIsAtRoundingLevel() throws {
    let c = try PagedDecodeConfiguration(blockSize: 16, headDimension: 64, queryHeads: 4, keyValueHeads: 2, splits: 3)
    let result = try PagedDecodeSimulator.run(PagedDecodeRequest(contextLengths: [300, 17], configuration: c, mode: .execute, seed: 3))
    XCTAssertLessThan(try XCTUnwrap(result.maxRelativeError), 1e-3)
  }

  /// Blocks really are scattered: the tables the step used are not the identity layout, and
  /// every sequence's last block holds L − (n−1)·B tokens.
  func testBlockTablesAreScatteredAndFilled() throws {
    let c = try PagedDecodeConfiguration(blockSize: 4, headDimension: 8)
    let result = try PagedDecodeSimulator.run(PagedDecodeRequest(contextLengths: [30, 7], configuration: c, mode: .execute, seed: 1))
    let tables = result.blockTables
    XCTAssertEqual(tables.map(\.blockCount), [8, 2])
    XCTAssertEqual(tables.map { $0.fillCounts.last }, [2, 3])
    XCTAssertNotEqual(tables[0].physicalBlocks, Array(0..<8))
    XCTAssertEqual(Set(tables.flatMap(\.physicalBlocks)).count, 10)
  }
}
