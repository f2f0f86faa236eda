import AttentionIO
import XCTest
@testable import Benchmarks

/// A target that is not met says why such a miss usually happens and what to do.
final class BenchmarkAdviceTests: XCTestCase {
  func testEveryTargetHasAdviceAndMissedOnesPrintIt() throws {
    let configuration = BenchmarkConfiguration(
      sequenceLengths: [64], headDimensions: [16], repetitions: 1, peakTrials: 1,
      cacheEffect: CacheEffectSizes(large: 96, small: 48, headDimension: 16), memoryCheckSequenceLength: 256)
    var report = try BenchmarkSuite.run(configuration)
    XCTAssertFalse(report.targets.isEmpty)
    for target in report.targets { XCTAssertFalse(target.advice.isEmpty, target.name) }
    // Force a miss: a count-mode run slower than its one-second target.
    report.countMode?.medianSeconds = 5
    let text = report.table()
    XCTAssertTrue(text.contains("NOT met"))
    XCTAssertTrue(text.contains("Why, and what to do:"), text)
    XCTAssertTrue(text.contains("use -c release"), text)
  }
}
