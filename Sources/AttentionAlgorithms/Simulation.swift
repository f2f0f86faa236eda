import Dispatch
import Foundation
import MemoryHierarchy

/// Everything that defines one simulated run.
public struct SimulationRequest: Sendable {
  public var algorithm: AttentionAlgorithmKind
  public var pass: AttentionPass
  public var problem: AttentionProblem
  public var machine: MachineSpec
  /// Explicit blocks (`--block-rows/--block-cols`); nil lets `blockRule` choose.
  public var blocks: BlockSizes?
  public var blockRule: BlockRule
  public var mode: ExecutionMode
  /// Worker threads for execute mode (heads run in parallel); counts never depend on it.
  public var threads: Int

  public init(
    algorithm: AttentionAlgorithmKind, pass: AttentionPass = .forward, problem: AttentionProblem,
    machine: MachineSpec, blocks: BlockSizes? = nil, blockRule: BlockRule = .fit,
    mode: ExecutionMode = .count, threads: Int = 1
  ) {
    self.algorithm = algorithm
    self.pass = pass
    self.problem = problem
    self.machine = machine
    self.blocks = blocks
    self.blockRule = blockRule
    self.mode = mode
    self.threads = threads
  }
}

/// What a run measured. Totals are over batch × heads; a renderer formats these numbers and
/// never recomputes them.
public struct SimulationResult: Sendable {
  public let request: SimulationRequest
  public let blocks: BlockSizes
  /// HBM traffic and FLOPs of all heads.
  public let ledger: IOLedger
  /// One head's ledger (every head runs the same schedule).
  public let headLedger: IOLedger
  /// The closed form of the schedule, for all heads.
  public let closedForm: TrafficCount
  /// Peak SRAM bytes in use on one SM.
  public let peakSRAMBytes: Int
  /// Peak HBM bytes resident for one head (inputs, outputs, intermediates).
  public let peakHBMBytesPerHead: Int
  /// Roofline time estimate from `ledger`.
  public let estimate: RooflineEstimate
  /// Execute mode: max|O − O_ref| / max|O_ref| over all heads against float64 attention.
  public let maxRelativeError: Double?
  /// Standard attention: 1 when a row of S fits the SRAM, 2 when the softmax streams rows.
  public let softmaxPasses: Int?
  /// Wall-clock seconds the simulation took.
  public let wallSeconds: Double
  /// Execute mode: the first head's output O (N×d), for examples and tests.
  public let firstHeadOutput: [Float]?
}

/// Runs simulations: one head per distinct shape in count mode (then multiplied by
/// batch × heads), every head in execute mode.
public enum Simulator {
  /// Runs `request`.
  /// - Throws: `AttentionError` for problems or blocks that do not fit, `MachineError` for
  ///   machine faults.
  public static func run(_ request: SimulationRequest) throws -> SimulationResult {
    let start = DispatchTime.now()
    try request.machine.validate()
    let problem = request.problem
    let blocks = try BlockSelection.choose(
      request.algorithm, problem: problem, spec: request.machine, rule: request.blockRule, explicit: request.blocks)
    var softmaxPasses: Int?
    if request.algorithm == .standard {
      guard let tiling = StandardAttentionForward.softmaxTiling(problem: problem, capacityInBytes: request.machine.sramCapacityInBytes) else {
        throw AttentionError.noBlocksFit(
          minimumBytes: problem.dataType.byteWidth + 2 * problem.statisticsType.byteWidth,
          capacityBytes: request.machine.sramCapacityInBytes, algorithm: "the softmax pass")
      }
      softmaxPasses = tiling.passes
    }
    let headForm = closedForm(request.algorithm, problem: problem, blocks: blocks, softmaxPasses: softmaxPasses ?? 1)

    let heads: [HeadRun]
    switch request.mode {
    case .count:
      heads = [try runHead(request, blocks: blocks, head: 0)]
    case .execute:
      heads = try runAllHeads(request, blocks: blocks)
    }
    let headLedger = heads[0].ledger
    var ledger: IOLedger
    if request.mode == .count {
      ledger = try headLedger.repeated(problem.headCount)
    } else {
      ledger = IOLedger()
      for head in heads { ledger.add(head.ledger) }
    }
    var error: Double?
    if request.mode == .execute {
      var maxDiff = 0.0
      var maxRef = 0.0
      for head in heads {
        maxDiff = max(maxDiff, head.maxAbsoluteDifference)
        maxRef = max(maxRef, head.maxAbsoluteReference)
      }
      error = maxRef == 0 ? maxDiff : maxDiff / maxRef
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    return SimulationResult(
      request: request, blocks: blocks, ledger: ledger, headLedger: headLedger,
      closedForm: headForm * problem.headCount,
      peakSRAMBytes: heads.map(\.peakSRAMBytes).max() ?? 0,
      peakHBMBytesPerHead: heads.map(\.peakHBMBytes).max() ?? 0,
      estimate: RooflineEstimate(ledger: ledger, spec: request.machine),
      maxRelativeError: error, softmaxPasses: softmaxPasses, wallSeconds: seconds,
      firstHeadOutput: heads[0].output)
  }

  /// The closed-form HBM traffic of one head.
  public static func closedForm(_ algorithm: AttentionAlgorithmKind, problem: AttentionProblem, blocks: BlockSizes, softmaxPasses: Int = 1) -> TrafficCount {
    let n = problem.sequenceLength
    let d = problem.headDimension
    switch algorithm {
    case .flash: return FlashAttentionForward.closedForm(sequenceLength: n, headDimension: d, blocks: blocks)
    case .standard:
      return StandardAttentionForward.closedForm(sequenceLength: n, headDimension: d, blocks: blocks, softmaxPasses: softmaxPasses)
    }
  }

  /// The seeded inputs of one head: Q, K, V as standard normals (before rounding to the data
  /// type), from `SeededRandom(seed: seed ⊕ head)`.
  public static func inputs(problem: AttentionProblem, head: Int) -> (q: [Float], k: [Float], v: [Float]) {
    var rng = SeededRandom(seed: problem.seed ^ (UInt64(head) &* 0xD1B5_4A32_D192_ED03))
    let count = problem.sequenceLength * problem.headDimension
    return (rng.normals(count), rng.normals(count), rng.normals(count))
  }

  struct HeadRun: Sendable {
    var ledger: IOLedger
    var peakSRAMBytes: Int
    var peakHBMBytes: Int
    var output: [Float]?
    var maxAbsoluteDifference = 0.0
    var maxAbsoluteReference = 0.0
  }

  static func runHead(_ request: SimulationRequest, blocks: BlockSizes, head: Int) throws -> HeadRun {
    let problem = request.problem
    let n = problem.sequenceLength
    let d = problem.headDimension
    var machine = Machine(spec: request.machine, mode: request.mode)
    let data = request.mode == .execute ? inputs(problem: problem, head: head) : nil
    let q = try machine.allocateTensor("Q", operand: .query, rows: n, columns: d, elementType: problem.dataType, contents: data?.q)
    let k = try machine.allocateTensor("K", operand: .key, rows: n, columns: d, elementType: problem.dataType, contents: data?.k)
    let v = try machine.allocateTensor("V", operand: .value, rows: n, columns: d, elementType: problem.dataType, contents: data?.v)
    let output: HBMTensor
    switch request.algorithm {
    case .flash:
      output = try FlashAttentionForward.run(on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem).output
    case .standard:
      output = try StandardAttentionForward.run(on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem).output
    }
    var run = HeadRun(ledger: machine.ledger, peakSRAMBytes: machine.sram.peakBytes, peakHBMBytes: machine.peakHBMBytes)
    if request.mode == .execute {
      let o = machine.contents(of: output)
      let reference = ReferenceAttention.forward(
        queries: machine.contents(of: q), keys: machine.contents(of: k), values: machine.contents(of: v),
        sequenceLength: n, headDimension: d, scale: problem.softmaxScale)
      for i in 0..<o.count {
        run.maxAbsoluteDifference = max(run.maxAbsoluteDifference, abs(Double(o[i]) - reference[i]))
        run.maxAbsoluteReference = max(run.maxAbsoluteReference, abs(reference[i]))
      }
      if head == 0 { run.output = o }
    }
    return run
  }

  static func runAllHeads(_ request: SimulationRequest, blocks: BlockSizes) throws -> [HeadRun] {
    let count = request.problem.headCount
    let results = HeadResults(count: count)
    let threads = max(1, min(request.threads, count))
    DispatchQueue.concurrentPerform(iterations: threads) { worker in
      var head = worker
      while head < count {
        results.set(head, Result { try runHead(request, blocks: blocks, head: head) })
        head += threads
      }
    }
    return try results.collect()
  }
}

/// Per-head results written by worker threads; each slot is written once, under a lock.
final class HeadResults: @unchecked Sendable {
  private var slots: [Result<Simulator.HeadRun, Error>?]
  private let lock = NSLock()

  init(count: Int) { slots = Array(repeating: nil, count: count) }

  func set(_ index: Int, _ value: Result<Simulator.HeadRun, Error>) {
    lock.lock()
    slots[index] = value
    lock.unlock()
  }

  func collect() throws -> [Simulator.HeadRun] {
    try slots.map { try $0!.get() }
  }
}
