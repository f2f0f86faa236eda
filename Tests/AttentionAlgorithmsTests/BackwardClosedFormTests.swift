import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import XCTest
import _TestSupport

/// Exact counts of every algorithm's passes against closed forms derived by hand from the loops,
/// on random ragged shapes with masks and dropout.
final class BackwardClosedFormTests: XCTestCase {
  struct Case {
    var problem: AttentionProblem
    var blocks: BlockSizes
    var spec: MachineSpec
  }

  /// A random problem and blocks, and an SRAM that holds every pass's plan (plus `slack`).
  func randomCase(_ rng: inout SplitMix64, algorithm: AttentionAlgorithmKind, maxN: Int = 300, maxD: Int = 80, slack: Int = 0) throws -> Case {
    let n = Int.random(in: 1...maxN, using: &rng)
    let d = Int.random(in: 1...maxD, using: &rng)
    let blocks = BlockSizes(queryBlockSize: Int.random(in: 1...n, using: &rng), keyBlockSize: Int.random(in: 1...n, using: &rng))
    let batch = Int.random(in: 1...2, using: &rng)
    let valid = rng.next() % 2 == 0 ? (0..<batch).map { _ in Int.random(in: 0...n, using: &rng) } : nil
    let problem = try AttentionProblem(
      batch: batch, heads: Int.random(in: 1...2, using: &rng), sequenceLength: n, headDimension: d,
      dataType: ElementType.floatingPoint.randomElement(using: &rng)!, seed: rng.next(), causal: rng.next() % 2 == 0,
      validLengths: valid, dropoutProbability: rng.next() % 2 == 0 ? 0.2 : 0)
    let plans = AttentionSchedule.Pass.allCases.map {
      AttentionSchedule.tilePlan(algorithm, pass: $0, blocks: blocks, problem: problem).reduce(0) { $0 + $1.bytes }
    }
    var capacity = plans.max()! + slack
    if algorithm == .standard || algorithm == .standardUnfused {
      // Sometimes rows of S (and of P, dP) fit, sometimes they stream in two passes.
      capacity += Int.random(in: 0...(2 * n * problem.dataType.byteWidth + 16), using: &rng)
    }
    return Case(problem: problem, blocks: blocks, spec: MachineSpec.a100_40GB.withSRAMCapacity(capacity).withRegisterFile(0))
  }

  func run(_ c: Case, _ algorithm: AttentionAlgorithmKind, mode: ExecutionMode = .count) throws -> SimulationResult {
    try Simulator.run(SimulationRequest(algorithm: algorithm, pass: .both, problem: c.problem, machine: c.spec, blocks: c.blocks, mode: mode))
  }

  func testFlashBackwardIsExactly4NdPlusTcTimes5NdPlus2N() throws {
    var rng = SplitMix64(seed: 0xBAC4)
    for index in 0..<120 {
      let c = try randomCase(&rng, algorithm: .flash)
      let (n, d) = (c.problem.sequenceLength, c.problem.headDimension)
      try withTrace("seed 0xBAC4 case \(index): N \(n), d \(d), \(c.blocks), causal \(c.problem.causal), p \(c.problem.dropoutProbability)") { context in
        let result = try run(c, .flash)
        let backward = try XCTUnwrap(result.pass(.backward))
        let tc = (n + c.blocks.keyBlockSize - 1) / c.blocks.keyBlockSize
        let heads = c.problem.headCount
        XCTAssertEqual(backward.ledger.hbmReadElements, (2 * n * d + tc * (4 * n * d + 2 * n)) * heads, context.message())
        XCTAssertEqual(backward.ledger.hbmWriteElements, (2 * n * d + tc * n * d) * heads, context.message())
        XCTAssertEqual(backward.headLedger.hbmElements, 4 * n * d + tc * (5 * n * d + 2 * n), context.message())
        XCTAssertEqual(backward.headLedger.matmulFLOPs, 10 * n * n * d, context.message())
        XCTAssertTrue(backward.matchesClosedForm, context.message())
        XCTAssertTrue(try XCTUnwrap(result.pass(.forward)).matchesClosedForm, context.message())
        XCTAssertEqual(backward.headLedger[.dropoutMask].totalElements, 0, context.message("the mask is never stored"))
      }
    }
  }

  func testStandardBackwardCountsEveryNByNMatrix() throws {
    var rng = SplitMix64(seed: 0x57A3)
    for index in 0..<120 {
      let c = try randomCase(&rng, algorithm: .standard)
      let (n, d) = (c.problem.sequenceLength, c.problem.headDimension)
      try withTrace("seed 0x57A3 case \(index): N \(n), d \(d), \(c.blocks), SRAM \(c.spec.sramCapacityInBytes)") { context in
        let result = try run(c, .standard)
        let tr = (n + c.blocks.queryBlockSize - 1) / c.blocks.queryBlockSize
        let tc = (n + c.blocks.keyBlockSize - 1) / c.blocks.keyBlockSize
        let w = c.problem.dataType.byteWidth
        let dropout = c.problem.dropoutProbability > 0
        let gradientPasses = 2 * n * w + 4 <= c.spec.sramCapacityInBytes ? 1 : 2
        let softmaxPasses = n * (w + (dropout ? 1 : 0)) + 8 <= c.spec.sramCapacityInBytes ? 1 : 2
        let heads = c.problem.headCount
        let mask = dropout ? n * n : 0
        let forward = try XCTUnwrap(result.pass(.forward))
        XCTAssertEqual(forward.ledger.hbmReadElements, ((1 + softmaxPasses) * n * n + n * d + 2 * tr * n * d + mask) * heads, context.message())
        XCTAssertEqual(forward.ledger.hbmWriteElements, (2 * n * n + n * d + mask) * heads, context.message())
        let backward = try XCTUnwrap(result.pass(.backward))
        // dV: P (and Z) + Tc·Nd dO; dP: Nd + Tr·Nd (and Z); dS: 2N² per pass; dQ: N² + Tr·Nd; dK: N² + Tc·Nd.
        XCTAssertEqual(
          backward.ledger.hbmReadElements,
          ((3 + 2 * gradientPasses) * n * n + n * d + 2 * tr * n * d + 2 * tc * n * d + 2 * mask) * heads, context.message())
        XCTAssertEqual(backward.ledger.hbmWriteElements, (2 * n * n + 3 * n * d) * heads, context.message())
        XCTAssertEqual(backward.headLedger[.dropoutMask].readElements, 2 * mask, context.message())
        XCTAssertTrue(backward.matchesClosedForm && forward.matchesClosedForm, context.message())
        if tr == 1, tc == 1, gradientPasses == 1, softmaxPasses == 1, !dropout {
          XCTAssertEqual(forward.headLedger.hbmElements + backward.headLedger.hbmElements, 11 * n * n + 12 * n * d, context.message("the paper's literal count"))
        }
      }
    }
  }

  /// FlashAttention-2 visits only blocks that have a key at or before their last query when
  /// causal; the closed form enumerates the blocks, counted here independently.
  func testFlash2CountsAndCausalSkipping() throws {
    var rng = SplitMix64(seed: 0xF2F2)
    for index in 0..<120 {
      let c = try randomCase(&rng, algorithm: .flash2)
      let (n, d) = (c.problem.sequenceLength, c.problem.headDimension)
      let (br, bc) = (c.blocks.queryBlockSize, c.blocks.keyBlockSize)
      try withTrace("seed 0xF2F2 case \(index): N \(n), d \(d), \(c.blocks), causal \(c.problem.causal)") { context in
        let result = try run(c, .flash2)
        var visitedKeyRows = 0
        var visitedQueryRows = 0
        var skipped = 0
        for i in stride(from: 0, to: n, by: br) {
          for j in stride(from: 0, to: n, by: bc) {
            let lastRow = min(n, i + br) - 1
            if c.problem.causal && j > lastRow {
              skipped += 1
            } else {
              visitedKeyRows += min(n, j + bc) - j
              visitedQueryRows += min(n, i + br) - i
            }
          }
        }
        let heads = c.problem.headCount
        let forward = try XCTUnwrap(result.pass(.forward))
        XCTAssertEqual(forward.ledger.hbmReadElements, (n * d + 2 * d * visitedKeyRows) * heads, context.message())
        XCTAssertEqual(forward.ledger.hbmWriteElements, (n * d + n) * heads, context.message())
        XCTAssertEqual(forward.skippedBlocks, skipped * heads, context.message())
        if !c.problem.causal {
          let tr = (n + br - 1) / br
          XCTAssertEqual(forward.headLedger.hbmElements, 2 * n * d + 2 * n * d * tr + n, context.message("2Nd + 2Nd·Tr + N"))
        }
        let backward = try XCTUnwrap(result.pass(.backward))
        XCTAssertEqual(backward.ledger.hbmReadElements, (4 * n * d + visitedQueryRows * (3 * d + 2)) * heads, context.message())
        XCTAssertEqual(backward.ledger.hbmWriteElements, (n + visitedQueryRows * d + 2 * n * d) * heads, context.message())
        XCTAssertEqual(backward.skippedBlocks, skipped * heads, context.message())
        XCTAssertTrue(forward.matchesClosedForm && backward.matchesClosedForm, context.message())
        XCTAssertEqual(backward.headLedger[.output].readElements, n * d, context.message("O read once, for D"))
      }
    }
  }

  func testUnfusedCountsEachPass() throws {
    var rng = SplitMix64(seed: 0x0F05)
    for index in 0..<120 {
      let c = try randomCase(&rng, algorithm: .standardUnfused)
      let (n, d) = (c.problem.sequenceLength, c.problem.headDimension)
      try withTrace("seed 0x0F05 case \(index): N \(n), d \(d), \(c.blocks), masked \(c.problem.isMasked), p \(c.problem.dropoutProbability)") { context in
        let result = try run(c, .standardUnfused)
        let tr = (n + c.blocks.queryBlockSize - 1) / c.blocks.queryBlockSize
        let tc = (n + c.blocks.keyBlockSize - 1) / c.blocks.keyBlockSize
        let w = c.problem.dataType.byteWidth
        let nn = n * n
        let softmaxPasses = n * w + 8 <= c.spec.sramCapacityInBytes ? 1 : 2
        let gradientPasses = 2 * n * w + 4 <= c.spec.sramCapacityInBytes ? 1 : 2
        let masked = c.problem.isMasked ? 1 : 0
        let dropout = c.problem.dropoutProbability > 0 ? 1 : 0
        let heads = c.problem.headCount
        // matmul (Nd + Tr·Nd → N²), mask (2N² → N²), softmax (N²·passes → N²), dropout (N² → 2N²), matmul (N² + Tr·Nd → Nd).
        let forwardReads = n * d + tr * n * d + masked * 2 * nn + softmaxPasses * nn + dropout * nn + nn + tr * n * d
        let forwardWrites = nn + masked * nn + nn + dropout * 2 * nn + n * d
        let forward = try XCTUnwrap(result.pass(.forward))
        XCTAssertEqual(forward.ledger.hbmReadElements, forwardReads * heads, context.message())
        XCTAssertEqual(forward.ledger.hbmWriteElements, forwardWrites * heads, context.message())
        // dV (N² + Tc·Nd → Nd), dP_d (Nd + Tr·Nd → N²), dropout (2N² → N²), softmax (2N²·passes → N²), dQ, dK.
        let backwardReads = nn + tc * n * d + n * d + tr * n * d + dropout * 2 * nn + 2 * gradientPasses * nn + nn + tr * n * d + nn + tc * n * d
        let backwardWrites = n * d + nn + dropout * nn + nn + 2 * n * d
        let backward = try XCTUnwrap(result.pass(.backward))
        XCTAssertEqual(backward.ledger.hbmReadElements, backwardReads * heads, context.message())
        XCTAssertEqual(backward.ledger.hbmWriteElements, backwardWrites * heads, context.message())
        XCTAssertTrue(forward.matchesClosedForm && backward.matchesClosedForm, context.message())
      }
    }
  }
}
