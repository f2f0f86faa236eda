import XCTest
import AttentionIO
import _TestSupport

/// `OnlineSoftmax.update` merges eight rows at a time in lanes and finishes in scalar: every row
/// must get the same bits whichever path it takes, including rows with no key yet (m = −∞).
/// (Kept beside the benchmark, whose forward pass relies on it.)
final class OnlineSoftmaxLaneTests: XCTestCase {
  func testLaneRowsEqualScalarRowsBitForBit() {
    for seed in UInt64(0)..<20 {
      var rng = SplitMix64(seed: seed)
      let rows = 8 + Int(rng.next() % 25)
      func sample() -> Float {
        switch rng.next() % 8 {
        case 0: return -.infinity
        case 1: return 0
        default: return rng.nextNormal() * 5
        }
      }
      let m0 = (0..<rows).map { _ in sample() }
      let mt = (0..<rows).map { _ in sample() }
      let l0 = m0.map { $0 == -.infinity ? 0 : abs(rng.nextNormal()) * 10 }
      let lt = mt.map { $0 == -.infinity ? 0 : abs(rng.nextNormal()) * 10 }
      var (m, l) = (m0, l0)
      var alpha = [Float](repeating: .nan, count: rows)
      var beta = alpha
      OnlineSoftmax.update(rowMax: &m, rowSum: &l, blockMax: mt, blockSum: lt, outputFactor: &alpha, blockFactor: &beta, rows: rows)
      for r in 0..<rows {
        var (ms, ls, a, b) = (m0[r], l0[r], Float.nan, Float.nan)
        var (mtr, ltr) = (mt[r], lt[r])
        OnlineSoftmax.update(rowMax: &ms, rowSum: &ls, blockMax: &mtr, blockSum: &ltr, outputFactor: &a, blockFactor: &b, rows: 1)
        withTrace("seed: \(seed), row: \(r) of \(rows), m: \(m0[r]), m̃: \(mt[r])") { context in
          XCTAssertEqual(m[r].bitPattern, ms.bitPattern, context.message("m"))
          XCTAssertEqual(l[r].bitPattern, ls.bitPattern, context.message("ℓ"))
          XCTAssertEqual(alpha[r].bitPattern, a.bitPattern, context.message("α"))
          XCTAssertEqual(beta[r].bitPattern, b.bitPattern, context.message("β"))
          XCTAssertFalse(alpha[r].isNaN || beta[r].isNaN || l[r].isNaN, context.message("NaN"))
        }
      }
    }
  }
}
