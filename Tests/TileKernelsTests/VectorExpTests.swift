import Foundation
import XCTest
import _TestSupport
import TileKernels

/// VectorExp against Foundation.exp (in Double) and its own scalar version.
final class VectorExpTests: XCTestCase {
  /// The documented bound on max relative error over (underflowLimit, overflowLimit].
  static let bound = 1.2e-7

  /// Evaluates `inputs` in lanes (zero-padded), checks the bound against Double exp and bit
  /// identity with `exp(Float)`, and returns the worst relative error seen.
  @discardableResult
  func check(_ inputs: [Float], _ context: TestContext) -> Double {
    var worst = 0.0
    var failures = 0
    var start = 0
    while start < inputs.count {
      var lane = Lane()
      let count = min(8, inputs.count - start)
      for t in 0..<count { lane[t] = inputs[start + t] }
      let y = VectorExp.exp(lane)
      for t in 0..<count {
        let x = lane[t]
        let scalar = VectorExp.exp(x)
        if scalar.bitPattern != y[t].bitPattern && failures < 5 {
          failures += 1
          XCTFail(context.message("exp(\(x)): lane \(y[t]) but scalar \(scalar)"))
        }
        let reference = Foundation.exp(Double(x))
        let error = abs(Double(y[t]) - reference) / reference
        worst = max(worst, error)
        if !(error <= Self.bound) && failures < 5 {
          failures += 1
          XCTFail(context.message("exp(\(x)) = \(y[t]), reference \(reference), relative error \(error)"))
        }
      }
      start += 8
    }
    return worst
  }

  func testDenseSweepWithinDocumentedBound() {
    // 2¹⁸ evenly spaced points over [−87.3, 88.7] (every float with SIM_LONG_TESTS=1 is too
    // slow in debug; the full sweep was run in release, see VectorExp's doc comment).
    let count = longTestsEnabled ? 1 << 22 : 1 << 18
    let low: Float = -87.3
    let high: Float = 88.7
    let inputs = (0..<count).map { i in low + (high - low) * Float(i) / Float(count - 1) }
    let worst = withTrace("sweep [-87.3, 88.7], \(count) points") { check(inputs, $0) }
    XCTAssertLessThanOrEqual(worst, Self.bound)
  }

  func testEveryFloatNearZeroAndAtTheEdges() {
    // Consecutive floats around 0, ±ln2/2 (range-reduction boundary), and both limits.
    var inputs: [Float] = []
    for center: Float in [0, 0.3465736, -0.3465736, 1, -1, 44.36, VectorExp.underflowLimit, VectorExp.overflowLimit] {
      var x = center
      for _ in 0..<2000 { x = x.nextDown }
      for _ in 0..<4000 {
        if x > VectorExp.underflowLimit && x <= VectorExp.overflowLimit { inputs.append(x) }
        x = x.nextUp
      }
    }
    // Random normals at several scales, and tiny magnitudes including subnormals.
    var rng = SplitMix64(seed: 42)
    for scale: Float in [0.01, 1, 10, 40] {
      for _ in 0..<5000 {
        let x = rng.nextNormal() * scale
        if x > VectorExp.underflowLimit && x <= VectorExp.overflowLimit {
          inputs.append(x)
        } else {
          XCTAssertEqual(VectorExp.exp(x), x > 0 ? .infinity : 0, "seed: 42, x: \(x)")
        }
      }
    }
    inputs += [Float.leastNonzeroMagnitude, -Float.leastNonzeroMagnitude, Float.leastNormalMagnitude, 1e-30, -1e-30]
    let worst = withTrace("edge neighbourhoods, seed: 42") { check(inputs, $0) }
    XCTAssertLessThanOrEqual(worst, Self.bound)
  }

  func testSpecialValues() {
    let cases: [(Float, Float)] = [
      (0, 1), (-0.0, 1), (-.infinity, 0), (.infinity, .infinity),
      (VectorExp.underflowLimit, 0), (-87.5, 0), (-88, 0), (-100, 0), (-1e30, 0),
      (-.greatestFiniteMagnitude, 0), (VectorExp.overflowLimit.nextUp, .infinity), (89, .infinity),
      (1e30, .infinity), (.greatestFiniteMagnitude, .infinity),
    ]
    var lane = Lane()
    for (index, (x, expected)) in cases.enumerated() {
      withTrace("x: \(x)") { context in
        let y = VectorExp.exp(x)
        XCTAssertEqual(y, expected, context.message("scalar"))
        if expected == 0 { XCTAssertEqual(y.sign, .plus, context.message("flush gives +0")) }
        lane[index % 8] = x
        XCTAssertEqual(VectorExp.exp(lane)[index % 8], expected, context.message("lane \(index % 8)"))
      }
    }
    // NaN propagates (in every lane, next to ordinary values).
    XCTAssertTrue(VectorExp.exp(Float.nan).isNaN)
    let mixed = VectorExp.exp(Lane(.nan, 0, 1, .nan, -.infinity, .infinity, -1, .nan))
    XCTAssertTrue(mixed[0].isNaN && mixed[3].isNaN && mixed[7].isNaN)
    XCTAssertEqual(mixed[1], 1)
    XCTAssertEqual(mixed[4], 0)
    XCTAssertEqual(mixed[5], .infinity)
    // Just inside the limits the result is a normal float / finite, within the bound.
    let low = VectorExp.exp(VectorExp.underflowLimit.nextUp)
    XCTAssertTrue(low.isNormal && low > 0)
    let high = VectorExp.exp(VectorExp.overflowLimit)
    XCTAssertTrue(high.isFinite && high > 3e38)
    XCTAssertEqual(VectorExp.exp(1), Float(M_E), accuracy: Float(M_E) * 1.2e-7)
  }
}
