import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import XCTest
import _TestSupport

final class BlockSelectionTests: XCTestCase {
  func testFitEqualsThePaperRuleWhenThatFits() throws {
    let problem = try AttentionProblem(sequenceLength: 1024, headDimension: 64)
    let blocks = try BlockSelection.choose(.flash, problem: problem, spec: .a100_40GB)
    // M = 98304 fp16 elements: Bc = ⌈98304/256⌉ = 384, Br = min(384, 64) = 64.
    XCTAssertEqual(blocks, BlockSizes(queryBlockSize: 64, keyBlockSize: 384))
    XCTAssertEqual(try BlockSelection.choose(.flash, problem: problem, spec: .a100_40GB, rule: .paper), blocks)
  }

  func testPaperRuleOverflowIsAnErrorWithASuggestionThatFits() throws {
    let problem = try AttentionProblem(sequenceLength: 1024, headDimension: 128)
    // With every tile in the SRAM (no register file), the paper's Bc = 192, Br = 128 needs
    // 2·192·128·2 + 2·128·128·2 + 128·192·2 + 6·128·4 = 216,064 bytes.
    let sramOnly = MachineSpec.a100_40GB.withRegisterFile(0)
    XCTAssertThrowsError(try BlockSelection.choose(.flash, problem: problem, spec: sramOnly, rule: .paper)) { error in
      guard case let AttentionError.blocksDoNotFit(reason, blocks, suggestion) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(blocks, BlockSizes(queryBlockSize: 128, keyBlockSize: 192))
      guard case .sramOverflow = reason else { return XCTFail("\(reason)") }
      // Fit: 768·Bc + 68608 ≤ 196608 → Bc = 166.
      XCTAssertEqual(suggestion, BlockSizes(queryBlockSize: 128, keyBlockSize: 166))
      XCTAssertTrue("\(error)".contains("--block-rows 128 --block-cols 166"), "\(error)")
    }
    XCTAssertEqual(try BlockSelection.choose(.flash, problem: problem, spec: sramOnly), BlockSizes(queryBlockSize: 128, keyBlockSize: 166))
  }

  /// With A100's 256 KiB register file holding the accumulators (S, O, statistics), K_j, V_j and
  /// Q_i alone go in the SRAM, and the paper's rule fits for d = 128, and for the backward pass
  /// at d = 64 (K_j, V_j, Q_i, O_i, dO_i, dQ_i: 131,072 B of SRAM; dK_j, dV_j, S_ij, dP_ij and four
  /// row vectors: 197,632 B of registers).
  func testTheRegisterFileMakesThePaperRuleFit() throws {
    let d128 = try AttentionProblem(sequenceLength: 1024, headDimension: 128)
    XCTAssertEqual(try BlockSelection.choose(.flash, problem: d128, spec: .a100_40GB, rule: .paper), BlockSizes(queryBlockSize: 128, keyBlockSize: 192))
    let d64 = try AttentionProblem(sequenceLength: 1024, headDimension: 64)
    let backward = try BlockSelection.choose(.flash, pass: .backward, problem: d64, spec: .a100_40GB)
    XCTAssertEqual(backward, BlockSizes(queryBlockSize: 64, keyBlockSize: 384))
    var machine = Machine(spec: .a100_40GB, mode: .count)
    _ = try machine.allocate(AttentionSchedule.tilePlan(.flash, pass: .backward, blocks: backward, problem: d64))
    XCTAssertEqual(machine.sram.inUseBytes, 131_072)
    XCTAssertEqual(machine.registers.inUseBytes, 197_632)
    // Without a register file the backward needs smaller blocks.
    XCTAssertEqual(
      try BlockSelection.choose(.flash, pass: .backward, problem: d64, spec: MachineSpec.a100_40GB.withRegisterFile(0)),
      BlockSizes(queryBlockSize: 64, keyBlockSize: 212))
  }

  func testFitIsTheLargestThatFitsOnRandomMachines() throws {
    var rng = SplitMix64(seed: 0xB10C)
    for _ in 0..<100 {
      let n = Int.random(in: 1...2000, using: &rng)
      let d = Int.random(in: 1...160, using: &rng)
      let capacity = Int.random(in: 64...300_000, using: &rng)
      let registers = rng.next() % 2 == 0 ? 0 : Int.random(in: 64...300_000, using: &rng)
      let dtype = ElementType.floatingPoint.randomElement(using: &rng)!
      try withTrace("seed 0xB10C, N: \(n), d: \(d), SRAM: \(capacity), registers: \(registers), \(dtype)") { context in
        let problem = try AttentionProblem(sequenceLength: n, headDimension: d, dataType: dtype)
        let spec = MachineSpec.a100_40GB.withSRAMCapacity(capacity).withRegisterFile(registers)
        // Fits: allocates, with every accumulator in the register file where the machine has one.
        // An accumulator that does not fit it is placed in SRAM (a spill), which `fit` avoids
        // unless not even 1×1 blocks keep their accumulators in registers.
        func allocates(_ blocks: BlockSizes, _ algorithm: AttentionAlgorithmKind, spilling: Bool) -> Bool {
          var machine = Machine(spec: spec, mode: .count)
          let plan = BlockSelection.tilePlan(algorithm, blocks: blocks, problem: problem)
          guard let tiles = try? machine.allocate(plan) else { return false }
          return spilling || registers == 0 || zip(plan, tiles).allSatisfy { $0.level == $1.level }
        }
        func fits(_ blocks: BlockSizes, _ algorithm: AttentionAlgorithmKind) -> Bool {
          let spilling = !allocates(BlockSizes(queryBlockSize: 1, keyBlockSize: 1), algorithm, spilling: false)
          return allocates(blocks, algorithm, spilling: spilling)
        }
        for algorithm in AttentionAlgorithmKind.allCases {
          guard let blocks = try? BlockSelection.choose(algorithm, problem: problem, spec: spec) else {
            XCTAssertFalse(fits(BlockSizes(queryBlockSize: 1, keyBlockSize: 1), algorithm), context.message("\(algorithm) refused blocks although 1×1 fits"))
            continue
          }
          XCTAssertTrue(fits(blocks, algorithm), context.message("\(algorithm) \(blocks)"))
          XCTAssertLessThanOrEqual(blocks.keyBlockSize, n, context.message())
          XCTAssertLessThanOrEqual(blocks.queryBlockSize, n, context.message())
          if algorithm == .flash {
            XCTAssertEqual(blocks.queryBlockSize, min(blocks.keyBlockSize, d, n), context.message("paper proportions"))
            let paper = BlockSizes.paperRule(sramElements: capacity / dtype.byteWidth, headDimension: d)
            if blocks.keyBlockSize < min(paper.keyBlockSize, n) {
              let next = BlockSizes(queryBlockSize: min(blocks.keyBlockSize + 1, d, n), keyBlockSize: blocks.keyBlockSize + 1)
              XCTAssertFalse(fits(next, .flash), context.message("a larger block would fit"))
            }
          }
        }
      }
    }
  }

  func testTinySRAMIsAClearError() throws {
    let problem = try AttentionProblem(sequenceLength: 128, headDimension: 64)
    let spec = MachineSpec.a100_40GB.withSRAMCapacity(64)
    XCTAssertThrowsError(try Simulator.run(SimulationRequest(algorithm: .flash, problem: problem, machine: spec))) { error in
      // K_j, V_j, Q_i in SRAM: 3·64 fp16 elements (O_i, S_ij and the statistics go to registers).
      XCTAssertEqual(error as? AttentionError, .noBlocksFit(minimumBytes: 3 * 64 * 2, capacityBytes: 64, algorithm: "FlashAttention (Algorithms 1 and 4)"))
    }
  }

  func testTeachingPresetNeedsSeveralTiles() throws {
    let problem = try AttentionProblem(sequenceLength: 16, headDimension: 8)
    let blocks = try BlockSelection.choose(.flash, problem: problem, spec: .teaching)
    XCTAssertEqual(blocks, BlockSizes(queryBlockSize: 4, keyBlockSize: 4))
  }

  func testInvalidExplicitBlocksAreRejected() throws {
    let problem = try AttentionProblem(sequenceLength: 16, headDimension: 8)
    XCTAssertThrowsError(try BlockSelection.choose(.flash, problem: problem, spec: .a100_40GB, explicit: BlockSizes(queryBlockSize: 0, keyBlockSize: 4)))
    XCTAssertThrowsError(try AttentionProblem(sequenceLength: 0, headDimension: 8))
    XCTAssertThrowsError(try AttentionProblem(sequenceLength: 4, headDimension: -1))
  }
}
