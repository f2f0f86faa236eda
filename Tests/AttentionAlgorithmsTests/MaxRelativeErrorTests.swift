import AttentionAlgorithms
import XCTest
import _TestSupport

/// The project's one relative-error check, max|out − ref| / max|ref|, and its rules for zeros and
/// non-finite values.
final class MaxRelativeErrorTests: XCTestCase {
  func testRatioOfTheLargestDifferenceToTheLargestReference() {
    XCTAssertEqual(ReferenceAttention.maxRelativeError([1, 2.5, -4], [1, 2, -3]), 1.0 / 3.0)
    XCTAssertEqual(ReferenceAttention.maxRelativeError([1, 2], [1, 2]), 0)
  }

  func testAnAllZeroReferenceGivesTheAbsoluteDifference() {
    XCTAssertEqual(ReferenceAttention.maxRelativeError([0.5, -0.25], [0, 0]), 0.5)
  }

  func testANonFiniteOutputIsAnInfiniteErrorNeverASmallOne() {
    XCTAssertEqual(ReferenceAttention.maxRelativeError([1, .nan, 3], [1, 2, 3]), .infinity)
    XCTAssertEqual(ReferenceAttention.maxRelativeError([1, -.infinity], [1, 2]), .infinity)
    var error = MaxRelativeError()
    error.add(.nan, reference: 1)
    error.add(2, reference: 2)
    XCTAssertEqual(error.value, .infinity)
    XCTAssertEqual(error.nonFiniteOutputs, 1)
  }

  func testAReferenceThatIsNotFiniteIsLeftOut() {
    // A fully masked row: the reference row maximum is −∞, and so is the kernel's.
    XCTAssertEqual(ReferenceAttention.maxRelativeError([-.infinity, 3.5], [-.infinity, 4]), 0.125)
  }

  func testTheRunningFormAgreesWithTheOneShotFunctionPieceByPiece() {
    var random = SplitMix64(seed: 11)
    let output = (0..<97).map { _ in Float.random(in: -1...1, using: &random) }
    let reference = output.map { Double($0) + Double.random(in: -5e-4...5e-4, using: &random) }
    var error = MaxRelativeError()
    for (o, r) in zip(output, reference) { error.add(Double(o), reference: r) }
    XCTAssertEqual(error.value, ReferenceAttention.maxRelativeError(output, reference))
    XCTAssertEqual(maxRelativeError(output, reference), ReferenceAttention.maxRelativeError(output, reference), "_TestSupport's helper")
  }
}
