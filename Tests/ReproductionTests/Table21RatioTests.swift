import AttentionIO
import XCTest
@testable import Reproduction

/// Table 21's headline ratio counts the inputs q, k, v, dO in both columns, as the paper's runs
/// hold them; the ratio above the inputs is reported beside it.
final class Table21RatioTests: XCTestCase {
  func testHeadlineRatioCountsTheInputsInBothColumns() throws {
    let result = try Table21.run(scale: .quick, batch: SimulationBatch(threads: 2))
    for row in result.rows {
      let n = row.sequenceLength
      let inputs = 4 * n * 64 * 2
      XCTAssertEqual(row.inputBytesPerHead, inputs)
      XCTAssertEqual(row.flashWithInputsBytesPerHead, 8 * n * 64 * 2 + 2 * n * 4 + inputs, "N=\(n)")
      XCTAssertEqual(row.ratioWithInputs, Double(4 * n * n * 2 + 8 * n * 64 * 2) / Double(12 * n * 64 * 2 + 2 * n * 4), accuracy: 1e-12)
      XCTAssertEqual(row.ratioAboveInputs, Double(4 * n * n * 2 + 4 * n * 64 * 2) / Double(8 * n * 64 * 2 + 2 * n * 4), accuracy: 1e-12)
    }
    let at4K = try XCTUnwrap(result.rows.first { $0.sequenceLength == 4096 })
    XCTAssertEqual(at4K.ratioWithInputs, 21.9, accuracy: 0.05, "against the paper's 20.4")
    XCTAssertEqual(at4K.ratioAboveInputs, 32.2, accuracy: 0.05)
    let claim = try XCTUnwrap(result.claims.last)
    XCTAssertTrue(claim.simulator.hasPrefix("21.9× with q, k, v, dO in both columns"), claim.simulator)
    XCTAssertTrue(claim.simulator.contains("32.2× above the inputs"), claim.simulator)
    XCTAssertTrue(result.csv.header.contains("ratio_with_inputs") && result.csv.header.contains("ratio_above_inputs"))
  }
}
