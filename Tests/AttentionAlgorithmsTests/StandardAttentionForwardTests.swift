import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import XCTest
import _TestSupport

final class StandardAttentionForwardTests: XCTestCase {
  func testCountsEqualTheClosedFormOnRandomRaggedShapes() throws {
    var rng = SplitMix64(seed: 0x57D)
    for _ in 0..<200 {
      let n = Int.random(in: 1...300, using: &rng)
      let d = Int.random(in: 1...80, using: &rng)
      let blocks = BlockSizes(queryBlockSize: Int.random(in: 1...n, using: &rng), keyBlockSize: Int.random(in: 1...n, using: &rng))
      let dtype = ElementType.floatingPoint.randomElement(using: &rng)!
      let planBytes = (blocks.queryBlockSize * d + blocks.keyBlockSize * d + blocks.queryBlockSize * blocks.keyBlockSize) * dtype.byteWidth
      // Sometimes a row of S fits the SRAM (one softmax pass), sometimes not (two passes).
      let capacity = planBytes + Int.random(in: 0...(n * dtype.byteWidth + 64), using: &rng)
      try withTrace("seed 0x57D, N: \(n), d: \(d), \(blocks), \(dtype), SRAM: \(capacity) B") { context in
        let problem = try AttentionProblem(sequenceLength: n, headDimension: d, dataType: dtype)
        let spec = MachineSpec.a100_40GB.withSRAMCapacity(capacity)
        let result = try Simulator.run(SimulationRequest(algorithm: .standard, problem: problem, machine: spec, blocks: blocks))
        let tr = (n + blocks.queryBlockSize - 1) / blocks.queryBlockSize
        let rowFits = n * dtype.byteWidth + 8 <= capacity
        let passes = rowFits ? 1 : 2
        XCTAssertEqual(result.softmaxPasses, passes, context.message())
        // Derived from the three phases: Q once + K Tr times; S once or twice; P once + V Tr times.
        XCTAssertEqual(result.ledger.hbmReadElements, (1 + passes) * n * n + n * d + 2 * tr * n * d, context.message())
        XCTAssertEqual(result.ledger.hbmWriteElements, 2 * n * n + n * d, context.message())
        XCTAssertEqual(result.ledger[.scores].writeElements, n * n, context.message())
        XCTAssertEqual(result.ledger[.probabilities].readElements, n * n, context.message())
        XCTAssertEqual(result.ledger.matmulFLOPs, 4 * n * n * d, context.message())
        XCTAssertLessThanOrEqual(result.peakSRAMBytes, capacity, context.message())
        XCTAssertEqual(result.closedForm.readElements, result.ledger.hbmReadElements, context.message())
        XCTAssertEqual(result.closedForm.writeElements, result.ledger.hbmWriteElements, context.message())
        if tr == 1 && passes == 1 {
          XCTAssertEqual(result.ledger.hbmElements, 4 * n * n + 4 * n * d, context.message("the paper's literal count"))
        }
      }
    }
  }

  func testExecuteMatchesFloat64AndAgreesWithFlash() throws {
    var rng = SplitMix64(seed: 0xA9EE)
    for index in 0..<50 {
      let big = index % 10 == 0
      let n = Int.random(in: 1...(big ? 300 : 80), using: &rng)
      let d = Int.random(in: 1...(big ? 80 : 24), using: &rng)
      let blocks = BlockSizes(queryBlockSize: Int.random(in: 1...n, using: &rng), keyBlockSize: Int.random(in: 1...n, using: &rng))
      let twoPass = rng.next() % 3 == 0
      let seed = rng.next()
      try withTrace("seed 0xA9EE case \(index), N: \(n), d: \(d), \(blocks), two-pass softmax: \(twoPass)") { context in
        let problem = try AttentionProblem(sequenceLength: n, headDimension: d, dataType: .fp32, seed: seed)
        let planBytes = (blocks.queryBlockSize * d + blocks.keyBlockSize * d + blocks.queryBlockSize * blocks.keyBlockSize) * 4
        let capacity = twoPass ? max(planBytes, 8 + 4 * max(1, n / 3)) : max(planBytes, 4 * n + 8)
        let spec = MachineSpec.a100_40GB.withSRAMCapacity(capacity)
        let standard = try Simulator.run(SimulationRequest(algorithm: .standard, problem: problem, machine: spec, blocks: blocks, mode: .execute))
        let counted = try Simulator.run(SimulationRequest(algorithm: .standard, problem: problem, machine: spec, blocks: blocks))
        XCTAssertEqual(standard.ledger, counted.ledger, context.message())
        XCTAssertLessThan(try XCTUnwrap(standard.maxRelativeError), 1e-5, context.message())
        let flashSpec = MachineSpec.a100_40GB
        let flash = try Simulator.run(SimulationRequest(algorithm: .flash, problem: problem, machine: flashSpec, mode: .execute))
        let a = try XCTUnwrap(standard.firstHeadOutput)
        let b = try XCTUnwrap(flash.firstHeadOutput)
        let scale = a.map(abs).max() ?? 1
        let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(diff / max(scale, 1e-30), 2e-5, context.message("standard vs flash"))
      }
    }
  }
}
