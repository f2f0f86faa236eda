import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import XCTest
import _TestSupport

/// The registry is the one list of kernels: every algorithm kind is registered once, with a
/// forward and a backward kernel, and every registered kernel passes the same property test.
final class KernelRegistryTests: XCTestCase {
  func testEveryAlgorithmKindIsRegisteredOnceWithBothPasses() {
    XCTAssertEqual(KernelRegistry.algorithms.map(\.kind), AttentionAlgorithmKind.allCases, "registry order is the CLI order")
    XCTAssertEqual(KernelRegistry.names, AttentionAlgorithmKind.allCases.map(\.rawValue))
    for algorithm in KernelRegistry.algorithms {
      let facts = [algorithm.kernel(.forward), algorithm.kernel(.backward)].map { kernel in
        (algorithm: kernel.algorithm, pass: kernel.pass, summary: kernel.summary)
      }
      XCTAssertEqual(facts.map(\.algorithm), [algorithm.kind, algorithm.kind])
      XCTAssertEqual(facts.map(\.pass), [.forward, .backward])
      XCTAssertFalse(facts.contains { $0.summary.isEmpty })
    }
    let titles = KernelRegistry.kernels.map { $0.title }
    XCTAssertEqual(Set(titles).count, titles.count, "titles name one kernel each: \(titles)")
    XCTAssertEqual(KernelRegistry.kernels.count, 2 * AttentionAlgorithmKind.allCases.count)
  }

  /// The names `--help`, errors and the Docs have always used.
  func testDisplayNamesAreUnchanged() {
    XCTAssertEqual(AttentionAlgorithmKind.allCases.map(\.displayName), [
      "standard attention (Algorithms 0 and 3)", "framework-style standard attention (unfused passes)",
      "FlashAttention (Algorithms 1 and 4)", "FlashAttention-2", "block-sparse FlashAttention (Algorithm 5)",
    ])
    XCTAssertEqual(AttentionAlgorithmKind.allCases.filter(\.sharesBlocksAcrossPasses), [.blockSparse])
  }

  /// For every registered kernel and pass, on seeded random ragged shapes (the case is printed
  /// with every failure, also when the run throws): count mode equals execute mode, the ledger
  /// equals the kernel's closed form exactly, the trace's event totals equal the ledger, the work
  /// units' traffic sums to it, and the output matches float64 attention.
  func testEveryRegisteredKernelOnRandomRaggedShapes() {
    let trials = longTestsEnabled ? 12 : 5
    for algorithm in KernelRegistry.algorithms {
      for pass in AttentionSchedule.Pass.allCases {
        for trial in 0..<trials {
          let seed = UInt64(2_026_1206 + trial * 31 + AttentionAlgorithmKind.allCases.firstIndex(of: algorithm.kind)! * 1_009)
          checkKernel(algorithm.kind, pass: pass, seed: seed)
        }
      }
    }
  }

  func checkKernel(_ kind: AttentionAlgorithmKind, pass: AttentionSchedule.Pass, seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    func draw(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(rng.next() % UInt64(range.count)) }
    let n = draw(5...29)
    let d = draw(2...9)
    let blocks = BlockSizes(queryBlockSize: draw(1...n), keyBlockSize: draw(1...n))
    let dtype: ElementType = [.fp32, .fp16, .bf16][draw(0...2)]
    let causal = draw(0...1) == 1
    let batch = draw(1...2)
    let validLengths = draw(0...2) == 0 ? (0..<batch).map { _ in draw(1...n) } : nil
    let dropout: Float = draw(0...3) == 0 ? 0.25 : 0
    var sparsity: BlockSparsity?
    if KernelRegistry.algorithm(kind).usesBlockMask {
      let pattern: BlockMaskPattern = [.dense, .causal, .local(width: 1), .random(density: 0.5), .topK(2)][draw(0...4)]
      var skip = draw(0...1) == 1
      if case .topK = pattern { skip = false }  // count mode cannot know which top-K columns are empty
      sparsity = BlockSparsity(pattern: pattern, skipEmptyColumns: skip)
    }
    let description = "\(kind.rawValue) \(pass.rawValue), seed \(seed): batch \(batch), N \(n), d \(d), \(blocks), \(dtype), "
      + "causal \(causal), valid lengths \(String(describing: validLengths)), dropout \(dropout), \(String(describing: sparsity))"
    withTrace(description) { context in
      do {
        let problem = try AttentionProblem(
          batch: batch, heads: 1, sequenceLength: n, headDimension: d, dataType: dtype, seed: seed, causal: causal,
          validLengths: validLengths, dropoutProbability: dropout)
        let spec = MachineSpec.teaching.withSRAMCapacity(1 << 16)
        var request = SimulationRequest(
          algorithm: kind, pass: pass == .forward ? .forward : .backward, problem: problem, machine: spec, blocks: blocks,
          sparsity: sparsity)
        let counted = try Simulator.run(request)
        request.mode = .execute
        request.threads = 1
        let executed = try Simulator.run(request)
        XCTAssertEqual(counted.ledger, executed.ledger, context.message("count mode = execute mode"))
        XCTAssertEqual(executed.ledger.hbmReadElements, executed.closedForm.readElements, context.message("reads = closed form"))
        XCTAssertEqual(executed.ledger.hbmWriteElements, executed.closedForm.writeElements, context.message("writes = closed form"))
        XCTAssertEqual(counted.closedForm, executed.closedForm, context.message())
        let tolerance = dtype == .fp32 ? 1e-4 : 3e-2
        for (tensor, error) in executed.errors {
          XCTAssertLessThan(error, tolerance, context.message("\(tensor) against float64"))
        }
        XCTAssertEqual(executed.errors.keys.sorted(), pass == .forward ? ["O"] : ["O", "dK", "dQ", "dV"], context.message())

        // One head of batch entry 0, traced and cut into work units.
        var first = problem
        first.validLengths = nil
        if let lengths = validLengths { first = try AttentionProblem(
          sequenceLength: n, headDimension: d, dataType: dtype, seed: seed, causal: causal, validLengths: [lengths[0]],
          dropoutProbability: dropout) }
        let trace = try Trace.record(
          kind, pass: pass, problem: first, spec: spec, blocks: blocks, mode: .count, stepLimit: 1_000_000, sparsity: sparsity)
        XCTAssertEqual(trace.eventTotals, trace.ledger, context.message("trace totals = ledger"))
        let kernelSetting = KernelSetting(problem: first, blocks: blocks, spec: spec, sparsity: sparsity)
        let minimum = KernelRegistry.kernel(kind, pass: pass).minimumSteps(kernelSetting)
        XCTAssertLessThanOrEqual(minimum, trace.steps.count, context.message("the step bound is a lower bound"))
        let plain = try Simulator.run(SimulationRequest(
          algorithm: kind, pass: pass == .forward ? .forward : .backward, problem: first, machine: spec, blocks: blocks,
          sparsity: sparsity))
        XCTAssertEqual(trace.ledger, plain.headLedger, context.message("trace ledger = a plain run's"))
        let units = trace.workUnits
        let unitTraffic = units.reduce(TrafficCount(readElements: 0, writeElements: 0)) { $0 + $1.traffic }
        XCTAssertEqual(unitTraffic.readElements, trace.ledger.hbmReadElements, context.message("work units' reads"))
        XCTAssertEqual(unitTraffic.writeElements, trace.ledger.hbmWriteElements, context.message("work units' writes"))
        XCTAssertEqual(units.map(\.index), Array(units.indices), context.message())
        let decomposition = KernelRegistry.kernel(kind, pass: pass).workDecomposition
        if decomposition == .head {
          XCTAssertEqual(units.count, 1, context.message())
        } else {
          XCTAssertEqual(units.count, trace.sections.count, context.message())
        }
      } catch {
        XCTFail(context.message("threw \(error)"))
      }
    }
  }

  /// FlashAttention-2's forward is one unit per query block: every unit loads its Q_i once and
  /// stores its O_i and L_i once.
  func testFlashAttention2ForwardUnitsAreItsQueryBlocks() throws {
    let problem = try AttentionProblem(sequenceLength: 23, headDimension: 4, dataType: .fp32)
    let blocks = BlockSizes(queryBlockSize: 5, keyBlockSize: 3)
    let units = try Trace.workUnits(.flash2, pass: .forward, problem: problem, spec: .teaching.withSRAMCapacity(4_096), blocks: blocks)
    XCTAssertEqual(units.count, blocks.queryBlockCount(23))
    for (i, unit) in units.enumerated() {
      let rows = i * 5..<min(23, (i + 1) * 5)
      XCTAssertEqual(unit.loads.filter { $0.tensor.operand == .query }.map(\.rowRange), [rows])
      XCTAssertEqual(unit.stores.filter { $0.tensor.operand == .output }.map(\.rowRange), [rows])
      XCTAssertEqual(unit.loads.filter { $0.tensor.operand == .key }.count, blocks.keyBlockCount(23))
    }
  }
}
