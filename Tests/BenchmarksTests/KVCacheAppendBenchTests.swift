import AttentionIO
import XCTest
@testable import Benchmarks

/// The bench's KV cache append measurement is in the report, its JSON and its targets (the
/// numbers themselves are a benchmark's, never asserted here).
final class KVCacheAppendBenchTests: XCTestCase {
  func testAppendGrowthIsReported() throws {
    let configuration = BenchmarkConfiguration(
      sequenceLengths: [32], headDimensions: [8], threadCounts: [1], algorithms: [.flash], passes: [.forward],
      repetitions: 1, heads: 1, peakTrials: 1, countMode: false, kvCacheAppends: KVCacheAppendSizes(small: 100, large: 400))
    let report = try BenchmarkSuite.run(configuration)
    let appends = try XCTUnwrap(report.kvCacheAppends)
    XCTAssertEqual(appends.smallCount, 100)
    XCTAssertEqual(appends.largeCount, 400)
    XCTAssertEqual(appends.ratioLimit, 5)
    let json = try JSONValue.parse(report.json().serialized(pretty: true))
    for key in ["blockSize", "smallCount", "largeCount", "smallSeconds", "largeSeconds", "ratio", "ratioLimit"] {
      XCTAssertNotNil(json[path: "kvCacheAppends.\(key)"], key)
    }
    XCTAssertEqual(json[path: "kvCacheAppends.largeCount"]?.intValue, 400)
    XCTAssertTrue(report.targets.contains { $0.name.hasPrefix("KV cache appends") && !$0.advice.isEmpty })
    XCTAssertTrue(report.table().contains("KV cache appends, one sequence, block size 1"), report.table())
    XCTAssertEqual(BenchmarkConfiguration.quick.kvCacheAppends, KVCacheAppendSizes(small: 20_000, large: 80_000))
  }
}
