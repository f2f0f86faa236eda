import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import XCTest
import _TestSupport

/// The sampled check (issue 16) computes the same float64 rows as the full reference.
final class SampledCheckTests: XCTestCase {
  func testRowsEqualTheFullReferenceRowByRow() throws {
    var rng = SplitMix64(seed: 1616)
    let (n, d) = (37, 5)
    let problem = try AttentionProblem(
      batch: 2, heads: 1, sequenceLength: n, headDimension: d, causal: true, validLengths: [n, 30], dropoutProbability: 0.2)
    let (q, k, v, dO) = (rng.normals(n * d), rng.normals(n * d), rng.normals(n * d), rng.normals(n * d))
    for head in 0..<2 {
      let context = problem.headContext(head)
      let full = ReferenceAttention.gradients(
        queries: q, keys: k, values: v, outputGradient: dO, sequenceLength: n, headDimension: d, scale: 0.4, context: context)
      let rows = [0, 3, 17, 29, 36]
      for threads in [1, 2, 3] {
        let sampled = ReferenceAttention.rows(
          rows, queries: q, keys: k, values: v, outputGradient: dO, sequenceLength: n, headDimension: d, scale: 0.4,
          context: context, threads: threads)
        for (r, i) in rows.enumerated() {
          for x in 0..<d {
            XCTAssertEqual(sampled.output[r * d + x], full.output[i * d + x], accuracy: 1e-12, "head \(head) row \(i)")
            XCTAssertEqual(sampled.dQ![r * d + x], full.dQ[i * d + x], accuracy: 1e-12, "head \(head) row \(i)")
          }
        }
      }
    }
  }

  func testSampledRowsAreSeededDistinctAndSorted() {
    XCTAssertEqual(CheckMode.sampledRows(sequenceLength: 100, seed: 3), Array(0..<100))
    let rows = CheckMode.sampledRows(sequenceLength: 100_000, seed: 3)
    XCTAssertEqual(rows.count, CheckMode.sampleRows)
    XCTAssertEqual(rows, rows.sorted())
    XCTAssertEqual(Set(rows).count, rows.count)
    XCTAssertEqual(rows.first, 0)
    XCTAssertEqual(rows.last, 99_999)
    XCTAssertEqual(rows, CheckMode.sampledRows(sequenceLength: 100_000, seed: 3))
  }
}
