import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import XCTest
import _TestSupport

final class FlashAttentionForwardTests: XCTestCase {
  /// A machine with no register file whose SRAM exactly holds the plan (so peak use must equal
  /// capacity).
  func machine(for algorithm: AttentionAlgorithmKind, blocks: BlockSizes, problem: AttentionProblem, slack: Int = 0) -> MachineSpec {
    let bytes = BlockSelection.tilePlan(algorithm, blocks: blocks, problem: problem).reduce(0) { $0 + $1.bytes }
    return MachineSpec.a100_40GB.withSRAMCapacity(bytes + slack).withRegisterFile(0)
  }

  func testCountsEqualTheClosedFormOnRandomRaggedShapes() throws {
    var rng = SplitMix64(seed: 0xF1A5)
    for _ in 0..<200 {
      let n = Int.random(in: 1...300, using: &rng)
      let d = Int.random(in: 1...80, using: &rng)
      let blocks = BlockSizes(queryBlockSize: Int.random(in: 1...n, using: &rng), keyBlockSize: Int.random(in: 1...n, using: &rng))
      let dtype = ElementType.floatingPoint.randomElement(using: &rng)!
      let batch = Int.random(in: 1...3, using: &rng)
      let heads = Int.random(in: 1...4, using: &rng)
      try withTrace("seed 0xF1A5, N: \(n), d: \(d), \(blocks), \(dtype), B: \(batch), H: \(heads)") { context in
        let problem = try AttentionProblem(batch: batch, heads: heads, sequenceLength: n, headDimension: d, dataType: dtype)
        let spec = machine(for: .flash, blocks: blocks, problem: problem)
        let result = try Simulator.run(SimulationRequest(algorithm: .flash, problem: problem, machine: spec, blocks: blocks))
        let tc = (n + blocks.keyBlockSize - 1) / blocks.keyBlockSize
        // 2Nd + Tc(2Nd + 2N) reads, Tc(Nd + 2N) writes per head: derived from Algorithm 1.
        let reads = (2 * n * d + tc * (2 * n * d + 2 * n)) * batch * heads
        let writes = tc * (n * d + 2 * n) * batch * heads
        XCTAssertEqual(result.ledger.hbmReadElements, reads, context.message())
        XCTAssertEqual(result.ledger.hbmWriteElements, writes, context.message())
        XCTAssertEqual(result.closedForm, TrafficCount(readElements: reads, writeElements: writes), context.message())
        XCTAssertEqual(result.headLedger.hbmElements, 2 * n * d + tc * (3 * n * d + 4 * n), context.message())
        // Per operand: K and V once; Q, O, ℓ, m once per outer step.
        XCTAssertEqual(result.headLedger[.key].readElements, n * d, context.message())
        XCTAssertEqual(result.headLedger[.query].readElements, tc * n * d, context.message())
        XCTAssertEqual(result.headLedger[.output].writeElements, tc * n * d, context.message())
        XCTAssertEqual(result.headLedger[.rowMax].readElements, tc * n, context.message())
        // Bytes follow the element widths: data in dtype, statistics in fp32.
        let dataElements = 2 * n * d + tc * 3 * n * d
        XCTAssertEqual(result.headLedger.hbmBytes, dataElements * dtype.byteWidth + tc * 4 * n * 4, context.message())
        // Matmul FLOPs are exactly 4N²d.
        XCTAssertEqual(result.headLedger.matmulFLOPs, 4 * n * n * d, context.message())
        XCTAssertEqual(result.peakSRAMBytes, spec.sramCapacityInBytes, context.message("the plan fills the SRAM exactly"))
      }
    }
  }

  func testExecuteAndCountAgreeAndOutputMatchesFloat64() throws {
    var rng = SplitMix64(seed: 0xE4EC)
    let cases = longTestsEnabled ? 200 : 50
    for index in 0..<cases {
      // N in 1…300 and d in 1…80; the largest shapes are kept for a few cases so the debug
      // build stays fast.
      let big = index % 10 == 0
      let n = Int.random(in: 1...(big ? 300 : 96), using: &rng)
      let d = Int.random(in: 1...(big ? 80 : 32), using: &rng)
      let blocks = BlockSizes(queryBlockSize: Int.random(in: 1...n, using: &rng), keyBlockSize: Int.random(in: 1...n, using: &rng))
      let seed = rng.next()
      try withTrace("seed 0xE4EC case \(index), N: \(n), d: \(d), \(blocks), input seed: \(seed)") { context in
        let problem = try AttentionProblem(heads: 2, sequenceLength: n, headDimension: d, dataType: .fp32, seed: seed)
        let spec = machine(for: .flash, blocks: blocks, problem: problem, slack: 64)
        let execute = try Simulator.run(SimulationRequest(algorithm: .flash, problem: problem, machine: spec, blocks: blocks, mode: .execute))
        let count = try Simulator.run(SimulationRequest(algorithm: .flash, problem: problem, machine: spec, blocks: blocks, mode: .count))
        XCTAssertEqual(execute.ledger, count.ledger, context.message("execute and count modes must count the same"))
        XCTAssertLessThanOrEqual(execute.peakSRAMBytes, spec.sramCapacityInBytes, context.message())
        let error = try XCTUnwrap(execute.maxRelativeError)
        XCTAssertLessThan(error, 1e-5, context.message("max relative error \(error)"))
      }
    }
  }

  /// The proof of Theorem 1: after outer step j, HBM holds m, ℓ and O of the softmax over the
  /// first j key blocks.
  func testHBMStateAfterEachOuterIterationIsThePartialSoftmax() throws {
    for (n, d, br, bc) in [(37, 5, 4, 6), (16, 8, 4, 4), (50, 3, 7, 11), (9, 2, 9, 2)] {
      try withTrace("N: \(n), d: \(d), Br: \(br), Bc: \(bc)") { context in
        let problem = try AttentionProblem(sequenceLength: n, headDimension: d, dataType: .fp32, seed: UInt64(n))
        let blocks = BlockSizes(queryBlockSize: br, keyBlockSize: bc)
        var machine = Machine(spec: machine(for: .flash, blocks: blocks, problem: problem), mode: .execute)
        let data = Simulator.inputs(problem: problem, head: 0)
        let q = try machine.allocateTensor("Q", operand: .query, rows: n, columns: d, elementType: .fp32, contents: data.q)
        let k = try machine.allocateTensor("K", operand: .key, rows: n, columns: d, elementType: .fp32, contents: data.k)
        let v = try machine.allocateTensor("V", operand: .value, rows: n, columns: d, elementType: .fp32, contents: data.v)
        var steps = 0
        _ = try FlashAttentionForward.run(
          on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem
        ) { j, state, outputs in
          steps += 1
          let keys = min(n, (j + 1) * bc)
          let expected = ReferenceAttention.partial(
            queries: data.q, keys: data.k, values: data.v, sequenceLength: n, headDimension: d,
            scale: problem.softmaxScale, keyCount: keys)
          let m = state.contents(of: outputs.rowMax)
          let l = state.contents(of: outputs.rowSum)
          XCTAssertLessThan(ReferenceAttention.maxRelativeError(m, expected.rowMax), 1e-6, context.message("m after j=\(j)"))
          XCTAssertLessThan(ReferenceAttention.maxRelativeError(l, expected.rowSum), 1e-5, context.message("ℓ after j=\(j)"))
          XCTAssertLessThan(
            ReferenceAttention.maxRelativeError(state.contents(of: outputs.output), expected.output), 1e-5,
            context.message("O after j=\(j)"))
        }
        XCTAssertEqual(steps, (n + bc - 1) / bc, context.message())
      }
    }
  }

  func testBlockQueryRowsDoNotChangeTheCount() throws {
    let problem = try AttentionProblem(sequenceLength: 100, headDimension: 16)
    var totals = Set<Int>()
    for br in [1, 3, 16, 50, 100] {
      let blocks = BlockSizes(queryBlockSize: br, keyBlockSize: 32)
      let result = try Simulator.run(SimulationRequest(
        algorithm: .flash, problem: problem, machine: machine(for: .flash, blocks: blocks, problem: problem), blocks: blocks))
      totals.insert(result.ledger.hbmElements)
    }
    XCTAssertEqual(totals, [2 * 100 * 16 + 4 * (3 * 100 * 16 + 4 * 100)])
  }
}
