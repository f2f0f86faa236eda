import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import XCTest
import _TestSupport

/// Real numerics of every algorithm, forward and backward, with masks and dropout.
final class GradientTests: XCTestCase {
  let algorithms = AttentionAlgorithmKind.allCases

  /// A roomy machine: every pass's blocks are picked by the `fit` rule unless given.
  func spec(_ bytes: Int = 8192) -> MachineSpec { MachineSpec.a100_40GB.withSRAMCapacity(bytes) }

  func testGradientsMatchFloat64AndExecuteCountsEqualCountMode() throws {
    var rng = SplitMix64(seed: 0x9AD)
    for index in 0..<24 {
      let n = Int.random(in: 1...40, using: &rng)
      let d = Int.random(in: 1...12, using: &rng)
      let batch = Int.random(in: 1...2, using: &rng)
      let valid = rng.next() % 2 == 0 ? (0..<batch).map { _ in Int.random(in: 0...n, using: &rng) } : nil
      let causal = rng.next() % 2 == 0
      let p: Float = rng.next() % 2 == 0 ? 0.25 : 0
      let blocks = BlockSizes(queryBlockSize: Int.random(in: 1...n, using: &rng), keyBlockSize: Int.random(in: 1...n, using: &rng))
      let seed = rng.next()
      try withTrace("seed 0x9AD case \(index): N \(n), d \(d), B \(batch), valid \(String(describing: valid)), causal \(causal), p \(p), \(blocks)") { context in
        let problem = try AttentionProblem(
          batch: batch, sequenceLength: n, headDimension: d, dataType: .fp32, seed: seed, causal: causal,
          validLengths: valid, dropoutProbability: p)
        var outputs: [AttentionAlgorithmKind: [Float]] = [:]
        for algorithm in algorithms {
          let request = SimulationRequest(algorithm: algorithm, pass: .both, problem: problem, machine: spec(1 << 16), blocks: blocks, mode: .execute)
          let executed = try Simulator.run(request)
          var counting = request
          counting.mode = .count
          let counted = try Simulator.run(counting)
          XCTAssertEqual(executed.ledger, counted.ledger, context.message("\(algorithm): execute and count modes"))
          for pass in executed.passes { XCTAssertTrue(pass.matchesClosedForm, context.message("\(algorithm) \(pass.pass)")) }
          for name in ["O", "dQ", "dK", "dV"] {
            let error = try XCTUnwrap(executed.errors[name], context.message(name))
            XCTAssertLessThan(error, 1e-4, context.message("\(algorithm) \(name) max relative error \(error)"))
          }
          outputs[algorithm] = executed.firstHeadOutput
        }
        let reference = outputs[.standard]!
        for algorithm in algorithms {
          let diff = zip(reference, outputs[algorithm]!).map { abs($0 - $1) }.max() ?? 0
          XCTAssertLessThan(diff, 1e-4, context.message("\(algorithm) agrees with standard (same dropout mask)"))
        }
      }
    }
  }

  /// dQ, dK, dV from the simulator against central finite differences of Φ = Σ dO∘O, with Φ
  /// evaluated by the float64 reference.
  func testGradientsAgreeWithFiniteDifferences() throws {
    for (algorithm, causal, p) in [(AttentionAlgorithmKind.flash, false, Float(0)), (.flash2, true, 0), (.standard, true, 0.3), (.flash, true, 0.3)] {
      try withTrace("\(algorithm), causal \(causal), p \(p)") { context in
        let (n, d) = (5, 3)
        let problem = try AttentionProblem(sequenceLength: n, headDimension: d, dataType: .fp32, seed: 11, causal: causal, dropoutProbability: p)
        let result = try Simulator.run(SimulationRequest(
          algorithm: algorithm, pass: .both, problem: problem, machine: spec(),
          blocks: BlockSizes(queryBlockSize: 2, keyBlockSize: 3), mode: .execute, keepOutputs: true))
        let inputs = Simulator.inputs(problem: problem, head: 0)
        let head = problem.headContext(0)
        func phi(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
          let o = ReferenceAttention.forward(queries: q, keys: k, values: v, sequenceLength: n, headDimension: d, scale: problem.softmaxScale, context: head)
          return zip(o, inputs.dO).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        let outputs = try XCTUnwrap(result.outputs)
        let analytic = [outputs.queryGradient![0], outputs.keyGradient![0], outputs.valueGradient![0]]
        let h: Float = 1e-2
        for (which, gradient) in analytic.enumerated() {
          for index in 0..<n * d {
            var plus = [inputs.q, inputs.k, inputs.v]
            var minus = plus
            plus[which][index] += h
            minus[which][index] -= h
            let numeric = (phi(plus[0], plus[1], plus[2]) - phi(minus[0], minus[1], minus[2])) / Double(2 * h)
            XCTAssertEqual(Double(gradient[index]), numeric, accuracy: 2e-3 * max(1, abs(numeric)), context.message("tensor \(which) element \(index)"))
          }
        }
      }
    }
  }

  func testFullyMaskedRowsGiveZeroNeverNaN() throws {
    for algorithm in algorithms {
      try withTrace("\(algorithm)") { context in
        // Batch entry 0 has no valid key at all; entry 1 has two.
        let problem = try AttentionProblem(
          batch: 2, sequenceLength: 6, headDimension: 4, dataType: .fp32, seed: 3, causal: true, validLengths: [0, 2], dropoutProbability: 0.1)
        let result = try Simulator.run(SimulationRequest(
          algorithm: algorithm, pass: .both, problem: problem, machine: spec(), mode: .execute, keepOutputs: true))
        let outputs = try XCTUnwrap(result.outputs)
        for tensor in [outputs.output[0], outputs.queryGradient![0], outputs.keyGradient![0], outputs.valueGradient![0]] {
          XCTAssertEqual(tensor, [Float](repeating: 0, count: 24), context.message("batch entry 0 is all zero"))
        }
        for tensor in [outputs.output[1], outputs.queryGradient![1], outputs.keyGradient![1], outputs.valueGradient![1]] {
          XCTAssertFalse(tensor.contains { $0.isNaN }, context.message())
        }
        XCTAssertLessThan(try XCTUnwrap(result.maxRelativeError), 1e-4, context.message())
      }
    }
  }

  func testDropoutMaskIsDeterministicAndHasTheRightRate() {
    let mask = DropoutMask(seed: 42, probability: 0.1, batch: 1, head: 2)
    var kept = 0
    for row in 0..<200 { for column in 0..<200 where mask.keeps(row: row, column: column) { kept += 1 } }
    XCTAssertEqual(Double(kept) / 40_000, 0.9, accuracy: 0.01)
    XCTAssertEqual(mask.keeps(row: 7, column: 9), DropoutMask(seed: 42, probability: 0.1, batch: 1, head: 2).keeps(row: 7, column: 9))
    let other = DropoutMask(seed: 42, probability: 0.1, batch: 1, head: 3)
    let differs = (0..<100).contains { mask.keeps(row: $0, column: 0) != other.keeps(row: $0, column: 0) }
    XCTAssertTrue(differs, "heads draw different masks")
    XCTAssertEqual(DropoutMask(seed: 1, probability: 0, batch: 0, head: 0).multiplier(row: 3, column: 4), 1)
  }
}
