import AttentionAlgorithms
import Dispatch
import Foundation
import MemoryHierarchy

/// Inputs given by the user instead of seeded random normals: one N×d row-major array per head,
/// heads in batch-major order.
public struct AttentionInputs: Sendable {
  public var queries: [[Float]]
  public var keys: [[Float]]
  public var values: [[Float]]
  /// dO, for a backward pass (seeded random normals when nil).
  public var outputGradients: [[Float]]?

  public init(queries: [[Float]], keys: [[Float]], values: [[Float]], outputGradients: [[Float]]? = nil) {
    self.queries = queries
    self.keys = keys
    self.values = values
    self.outputGradients = outputGradients
  }
}

/// Everything that defines one simulated run.
public struct SimulationRequest: Sendable {
  public var algorithm: AttentionAlgorithmKind
  public var pass: AttentionPass
  public var problem: AttentionProblem
  public var machine: MachineSpec
  /// Explicit blocks (`--block-rows/--block-cols`) for every pass; nil lets `blockRule` choose
  /// per pass.
  public var blocks: BlockSizes?
  public var blockRule: BlockRule
  public var mode: ExecutionMode
  /// Worker threads for execute mode (heads run in parallel); counts never depend on it.
  public var threads: Int
  /// Execute mode: inputs to use instead of seeded random normals.
  public var inputs: AttentionInputs?
  /// Execute mode: keep every head's O (and dQ, dK, dV) in the result.
  public var keepOutputs: Bool
  /// Block-sparse runs: the mask pattern and whether empty columns are skipped (dense when nil).
  public var sparsity: BlockSparsity?
  /// Execute mode: how outputs are checked against float64 attention; nil chooses `full` while
  /// N·N·d is at most `CheckMode.fullCheckLimit`, else `sampled`.
  public var check: CheckMode?
  /// Called now and then from worker threads with the HBM elements read so far and the expected
  /// total (for a progress line); nil: no reports.
  public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?
  /// Refuse the run (`SizeLimitError.resource`) when its estimated memory exceeds this many bytes
  /// (`SimulationLimits.estimatedMemory`); nil: no check.
  public var memoryLimitBytes: Int?

  public init(
    algorithm: AttentionAlgorithmKind, pass: AttentionPass = .forward, problem: AttentionProblem,
    machine: MachineSpec, blocks: BlockSizes? = nil, blockRule: BlockRule = .fit,
    mode: ExecutionMode = .count, threads: Int = 1, inputs: AttentionInputs? = nil, keepOutputs: Bool = false,
    sparsity: BlockSparsity? = nil
  ) {
    self.sparsity = sparsity
    self.algorithm = algorithm
    self.pass = pass
    self.problem = problem
    self.machine = machine
    self.blocks = blocks
    self.blockRule = blockRule
    self.mode = mode
    self.threads = threads
    self.inputs = inputs
    self.keepOutputs = keepOutputs
  }

  /// The check execute mode does (`check`, or the automatic choice).
  public var resolvedCheck: CheckMode {
    if let check { return check }
    let n = problem.sequenceLength
    let work = SizeLimits.saturatingProduct(SizeLimits.saturatingProduct(n, n), problem.headDimension)
    return work <= CheckMode.fullCheckLimit ? .full : .sampled
  }

  /// The passes that run: the forward always (a backward needs it), the backward when asked.
  public var passesRun: [AttentionSchedule.Pass] { pass.includesBackward ? [.forward, .backward] : [.forward] }

  /// The passes whose counts make up the totals: forward, backward, or both.
  public var passesReported: [AttentionSchedule.Pass] {
    switch pass {
    case .forward: return [.forward]
    case .backward: return [.backward]
    case .both: return [.forward, .backward]
    }
  }
}

/// The counts of one pass over all heads.
public struct PassResult: Sendable {
  public let pass: AttentionSchedule.Pass
  public let blocks: BlockSizes
  public let ledger: IOLedger
  /// One head's ledger (the first head).
  public let headLedger: IOLedger
  public let closedForm: TrafficCount
  /// Blocks skipped by a causal mask, over all heads (FlashAttention-2).
  public let skippedBlocks: Int
  public let estimate: RooflineEstimate
  /// The pass's tiles and where each lives: SRAM, or the register file for accumulators that fit
  /// it (an accumulator that does not is placed in SRAM).
  public var tiles: [TilePlacement] = []

  /// Whether the simulated counts equal the closed form exactly.
  public var matchesClosedForm: Bool {
    closedForm.readElements == ledger.hbmReadElements && closedForm.writeElements == ledger.hbmWriteElements
  }
}

/// How execute mode checks its outputs against exact float64 attention (`--check`).
public enum CheckMode: String, CaseIterable, Sendable, Hashable {
  /// Every row of every output: O(N²·d) float64 work per head.
  case full
  /// A seeded sample of `sampleRows` query rows of O (and dQ), exactly in float64: O(rows·N·d).
  case sampled
  /// No check.
  case none

  /// The default checks every row while N·N·d is at most this.
  public static let fullCheckLimit = 1 << 31
  /// Query rows a sampled check compares (every row when N is smaller).
  public static let sampleRows = 256

  /// The rows a sampled check compares: `sampleRows` distinct rows drawn with `seed`, ascending
  /// (all rows when N ≤ `sampleRows`).
  public static func sampledRows(sequenceLength n: Int, seed: UInt64) -> [Int] {
    guard n > sampleRows else { return Array(0..<n) }
    var rng = SeededRandom(seed: seed ^ 0x5A3D_1E0C_7B29_4F61)
    var chosen = Set<Int>()
    // The first and last rows always: masks make them the extreme cases.
    chosen.insert(0)
    chosen.insert(n - 1)
    while chosen.count < sampleRows { chosen.insert(Int(rng.next() % UInt64(n))) }
    return chosen.sorted()
  }
}

/// Every head's output tensors (execute mode with `keepOutputs`).
public struct AttentionOutputs: Sendable {
  public var output: [[Float]]
  public var queryGradient: [[Float]]?
  public var keyGradient: [[Float]]?
  public var valueGradient: [[Float]]?
}

/// What a run measured. Totals are over batch × heads and over the reported passes; a renderer
/// formats these numbers and never recomputes them.
public struct SimulationResult: Sendable {
  public let request: SimulationRequest
  /// Each pass that ran, forward first.
  public let passes: [PassResult]
  /// HBM traffic and FLOPs of the reported passes, all heads.
  public let ledger: IOLedger
  /// One head's ledger of the reported passes.
  public let headLedger: IOLedger
  /// The closed form of the reported passes, all heads.
  public let closedForm: TrafficCount
  /// Peak SRAM bytes in use on one SM.
  public let peakSRAMBytes: Int
  /// Peak register-file bytes in use on one SM (accumulator tiles).
  public let peakRegisterBytes: Int
  /// Peak HBM bytes resident for one head (inputs, outputs, intermediates).
  public let peakHBMBytesPerHead: Int
  public let estimate: RooflineEstimate
  /// Execute mode: max|x − x_ref| / max|x_ref| per checked tensor ("O", "dQ", "dK", "dV").
  public let errors: [String: Double]
  /// Wall-clock seconds the simulation took.
  public let wallSeconds: Double
  /// Execute mode with `keepOutputs`: every head's outputs.
  public let outputs: AttentionOutputs?
  /// Execute mode: the first head's output O (N×d).
  public let firstHeadOutput: [Float]?
  /// Block-sparse runs: the first head's block mask.
  public let blockMask: BlockMask?
  /// Block-sparse execute runs: ‖O − O_dense‖_F / ‖O_dense‖_F over all heads, against exact
  /// (float64) dense attention: the accuracy the sparsity costs (over the checked rows).
  public let relativeErrorVsDense: Double?
  /// Execute mode: how the outputs were checked (nil in count mode).
  public internal(set) var checkMode: CheckMode?
  /// Execute mode: query rows of each head compared with float64 (0 with `--check none`).
  public internal(set) var rowsChecked = 0
  /// Execute mode: output values, over all heads, that are NaN or infinite where float64
  /// attention is finite. Any makes the check fail (`maxRelativeError` is then infinite).
  public internal(set) var nonFiniteOutputs = 0

  /// Whether the check found NaN or infinity the inputs did not force.
  public var checkFailed: Bool { nonFiniteOutputs > 0 }

  /// Block-sparse runs: the pattern and the first head's mask statistics.
  public var mask: BlockMaskSummary? {
    guard let blockMask else { return nil }
    return BlockMaskSummary(
      pattern: (request.sparsity?.pattern ?? .dense).description, nonzeroBlocks: blockMask.nonzeroBlocks, totalBlocks: blockMask.totalBlocks)
  }

  /// The blocks of the last reported pass.
  public var blocks: BlockSizes { passes.last { request.passesReported.contains($0.pass) }!.blocks }

  /// The largest of `errors` (nil in count mode).
  public var maxRelativeError: Double? { errors.values.max() }

  /// The result of one pass, if it ran.
  public func pass(_ pass: AttentionSchedule.Pass) -> PassResult? { passes.first { $0.pass == pass } }

  /// Standard attention's softmax passes (1 when a row of S fits the SRAM), else nil.
  public var softmaxPasses: Int? {
    guard let blocks = pass(.forward)?.blocks else { return nil }
    let kernel = KernelRegistry.kernel(request.algorithm, pass: .forward)
    return kernel.softmaxPasses(KernelSetting(problem: request.problem, blocks: blocks, spec: request.machine))
  }
}

/// Runs simulations: one head per distinct head shape in count mode (then multiplied), every head
/// in execute mode.
public enum Simulator {
  /// Runs `request`.
  /// - Throws: `AttentionError` for problems or blocks that do not fit, `MachineError` for
  ///   machine faults.
  public static func run(_ request: SimulationRequest) throws -> SimulationResult {
    let start = DispatchTime.now()
    try request.machine.validate()
    let problem = request.problem
    let blocks = try chooseBlocks(request)
    try checkSettings(request, blocks: blocks)
    if let inputs = request.inputs { try check(inputs, problem: problem) }

    // Heads that differ only in their data count the same; heads of batch entries with
    // different valid lengths may not (masking FLOPs), so count mode simulates one head per
    // valid length.
    // Grouped by batch entry (all heads of one entry share its valid length), so the work does
    // not grow with batch × heads.
    let simulatedHeads = request.mode == .count ? Set(problem.validLengths ?? [0]).count : problem.headCount
    _ = try SimulationLimits.checkRun(request, blocks: blocks, simulatedHeads: simulatedHeads)
    if let limit = request.memoryLimitBytes {
      try SimulationLimits.checkMemory(request, blocks: blocks, simulatedHeads: simulatedHeads, limit: limit)
    }
    var groups: [(head: Int, count: Int)] = []
    if request.mode == .count {
      if let lengths = problem.validLengths {
        var seen: [Int: Int] = [:]
        for (entry, keys) in lengths.enumerated() {
          if let index = seen[keys] { groups[index].count += problem.heads } else {
            seen[keys] = groups.count
            groups.append((entry * problem.heads, problem.heads))
          }
        }
      } else {
        groups = [(0, problem.headCount)]
      }
    } else {
      groups = (0..<problem.headCount).map { ($0, 1) }
    }
    var tracker: ProgressTracker?
    if let progress = request.progress {
      let total = SizeLimits.saturatingProduct(ProgressTracker.expectedReads(request, blocks: blocks), groups.count)
      tracker = ProgressTracker(total: total, report: progress)
    }
    let runs = try runHeads(request, blocks: blocks, heads: groups.map(\.head), tracker: tracker)

    var passResults: [PassResult] = []
    for (index, pass) in request.passesRun.enumerated() {
      var ledger = IOLedger()
      var form = TrafficCount(readElements: 0, writeElements: 0)
      var skipped = 0
      for (group, run) in zip(groups, runs) {
        ledger.add(try run.ledgers[index].repeated(group.count))
        let closed = AttentionSchedule.closedForm(
          request.algorithm, pass: pass, problem: problem, blocks: blocks[pass]!, spec: request.machine,
          mask: run.blockMask, sparsity: request.sparsity)
        form = form + closed.traffic * group.count
        skipped += closed.skippedBlocks * group.count
      }
      passResults.append(PassResult(
        pass: pass, blocks: blocks[pass]!, ledger: ledger, headLedger: runs[0].ledgers[index], closedForm: form,
        skippedBlocks: skipped, estimate: RooflineEstimate(ledger: ledger, spec: request.machine),
        tiles: (try? TilePlacement.place(
          AttentionSchedule.tilePlan(request.algorithm, pass: pass, blocks: blocks[pass]!, problem: problem), spec: request.machine)) ?? []))
    }
    var ledger = IOLedger()
    var headLedger = IOLedger()
    var form = TrafficCount(readElements: 0, writeElements: 0)
    for result in passResults where request.passesReported.contains(result.pass) {
      ledger.add(result.ledger)
      headLedger.add(result.headLedger)
      form = form + result.closedForm
    }
    var errors: [String: Double] = [:]
    if request.mode == .execute {
      for name in runs[0].differences.keys {
        var error = MaxRelativeError()
        for run in runs { error.add(run.differences[name] ?? MaxRelativeError()) }
        errors[name] = error.value
      }
    }
    var outputs: AttentionOutputs?
    if request.keepOutputs, request.mode == .execute {
      outputs = AttentionOutputs(
        output: runs.map { $0.tensors["O"]! }, queryGradient: runs.first?.tensors["dQ"] == nil ? nil : runs.map { $0.tensors["dQ"]! },
        keyGradient: runs.first?.tensors["dK"] == nil ? nil : runs.map { $0.tensors["dK"]! },
        valueGradient: runs.first?.tensors["dV"] == nil ? nil : runs.map { $0.tensors["dV"]! })
    }
    var errorVsDense: Double?
    if request.mode == .execute, runs[0].blockMask != nil {
      let difference = runs.reduce(0) { $0 + $1.denseSquaredDifference }
      let norm = runs.reduce(0) { $0 + $1.denseSquaredNorm }
      errorVsDense = norm == 0 ? difference.squareRoot() : (difference / norm).squareRoot()
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    var result = SimulationResult(
      request: request, passes: passResults, ledger: ledger, headLedger: headLedger, closedForm: form,
      peakSRAMBytes: runs.map(\.peakSRAMBytes).max() ?? 0, peakRegisterBytes: runs.map(\.peakRegisterBytes).max() ?? 0,
      peakHBMBytesPerHead: runs.map(\.peakHBMBytes).max() ?? 0,
      estimate: RooflineEstimate(ledger: ledger, spec: request.machine), errors: errors, wallSeconds: seconds,
      outputs: outputs, firstHeadOutput: runs[0].tensors["O"], blockMask: runs[0].blockMask, relativeErrorVsDense: errorVsDense)
    if request.mode == .execute {
      result.checkMode = request.resolvedCheck
      result.rowsChecked = runs[0].rowsChecked
      result.nonFiniteOutputs = runs.reduce(0) { $0 + $1.nonFiniteOutputs }
    }
    return result
  }

  /// The blocks of each pass that runs: explicit, the paper's rule or the `fit` rule, each checked
  /// against its pass's tile plan. A block-sparse run uses one block grid for both passes: the
  /// `fit` rule sizes it for the backward's larger plan (so forward-only and forward+backward runs
  /// agree), and explicit or paper blocks are checked against the plans of the passes that run.
  public static func chooseBlocks(_ request: SimulationRequest) throws -> [AttentionSchedule.Pass: BlockSizes] {
    let problem = request.problem
    var blocks: [AttentionSchedule.Pass: BlockSizes] = [:]
    if request.algorithm.sharesBlocksAcrossPasses {
      let sizing: AttentionSchedule.Pass = request.pass.includesBackward || (request.blocks == nil && request.blockRule == .fit) ? .backward : .forward
      let shared = try BlockSelection.choose(
        request.algorithm, pass: sizing, problem: problem, spec: request.machine, rule: request.blockRule, explicit: request.blocks)
      for pass in request.passesRun { blocks[pass] = shared }
    } else {
      for pass in request.passesRun {
        blocks[pass] = try BlockSelection.choose(
          request.algorithm, pass: pass, problem: problem, spec: request.machine, rule: request.blockRule, explicit: request.blocks)
      }
    }
    return blocks
  }

  /// The seeded inputs of one head (before rounding to the data type), from
  /// `SeededRandom(seed: seed ⊕ head·c)`: Q, K, V and dO as standard normals, or, for the
  /// `local` distribution, keys that drift along the sequence with queries close to their own
  /// key (see `InputDistribution`).
  public static func inputs(problem: AttentionProblem, head: Int) -> (q: [Float], k: [Float], v: [Float], dO: [Float]) {
    var rng = SeededRandom(seed: problem.seed ^ (UInt64(head) &* 0xD1B5_4A32_D192_ED03))
    let count = problem.sequenceLength * problem.headDimension
    switch problem.inputDistribution {
    case .normal:
      return (rng.normals(count), rng.normals(count), rng.normals(count), rng.normals(count))
    case let .local(correlation):
      let d = problem.headDimension
      let rho = correlation
      let innovation = (1 - rho * rho).squareRoot()
      var k = rng.normals(count)
      for t in 1..<max(problem.sequenceLength, 1) {
        for x in 0..<d { k[t * d + x] = rho * k[(t - 1) * d + x] + innovation * k[t * d + x] }
      }
      let noise = rng.normals(count)
      let q = (0..<count).map { k[$0] + 0.5 * noise[$0] }
      return (q, k, rng.normals(count), rng.normals(count))
    }
  }

  /// Each kernel's own checks of the setting (a softmax row that fits no SRAM, for example).
  static func checkSettings(_ request: SimulationRequest, blocks: [AttentionSchedule.Pass: BlockSizes]) throws {
    for pass in request.passesRun {
      guard let b = blocks[pass] else { continue }
      try KernelRegistry.kernel(request.algorithm, pass: pass).checkSetting(
        KernelSetting(problem: request.problem, blocks: b, spec: request.machine, sparsity: request.sparsity))
    }
  }

  static func check(_ inputs: AttentionInputs, problem: AttentionProblem) throws {
    let count = problem.sequenceLength * problem.headDimension
    for (name, arrays) in [("Q", inputs.queries), ("K", inputs.keys), ("V", inputs.values), ("dO", inputs.outputGradients ?? inputs.queries)] {
      guard arrays.count == problem.headCount, arrays.allSatisfy({ $0.count == count }) else {
        throw AttentionError.invalidProblem("\(name) must hold \(problem.headCount) heads of \(problem.sequenceLength)×\(problem.headDimension) values")
      }
    }
  }

  struct HeadRun: Sendable {
    /// One ledger per pass run.
    var ledgers: [IOLedger] = []
    var peakSRAMBytes = 0
    var peakRegisterBytes = 0
    var peakHBMBytes = 0
    /// Execute mode: this head's output tensors by name.
    var tensors: [String: [Float]] = [:]
    /// Execute mode: each tensor's comparison with float64.
    var differences: [String: MaxRelativeError] = [:]
    /// Block-sparse runs: the head's mask; in execute mode ‖O − O_dense‖² and ‖O_dense‖².
    var blockMask: BlockMask?
    var denseSquaredDifference = 0.0
    var denseSquaredNorm = 0.0
    /// Execute mode: the query rows checked against float64, and outputs that were NaN or
    /// infinite where the reference is finite.
    var rowsChecked = 0
    var nonFiniteOutputs = 0
  }

  static func runHead(
    _ request: SimulationRequest, blocks: [AttentionSchedule.Pass: BlockSizes], head: Int, tracker: ProgressTracker? = nil
  ) throws -> HeadRun {
    let problem = request.problem
    let context = problem.headContext(head)
    let (n, d, t) = (problem.sequenceLength, problem.headDimension, problem.dataType)
    let backward = request.pass.includesBackward
    var machine = Machine(spec: request.machine, mode: request.mode)
    if let tracker { machine.tick = { tracker.update(head: head, elements: $0.hbmReadElements) } }
    var data: (q: [Float], k: [Float], v: [Float], dO: [Float])?
    if request.mode == .execute {
      let seeded = inputs(problem: problem, head: head)
      if let given = request.inputs {
        data = (given.queries[head], given.keys[head], given.values[head], given.outputGradients?[head] ?? seeded.dO)
      } else {
        data = seeded
      }
    }
    let q = try machine.allocateTensor("Q", operand: .query, rows: n, columns: d, elementType: t, contents: data?.q)
    let k = try machine.allocateTensor("K", operand: .key, rows: n, columns: d, elementType: t, contents: data?.k)
    let v = try machine.allocateTensor("V", operand: .value, rows: n, columns: d, elementType: t, contents: data?.v)
    var run = HeadRun()
    let algorithm = KernelRegistry.algorithm(request.algorithm)
    func setting(_ pass: AttentionSchedule.Pass) -> KernelSetting {
      KernelSetting(problem: problem, blocks: blocks[pass]!, spec: request.machine, context: context, sparsity: request.sparsity)
    }
    let state = try algorithm.runForward(on: &machine, HeadTensors(queries: q, keys: k, values: v), setting: setting(.forward))
    let maskedContext = state.context
    run.blockMask = state.blockMask
    run.ledgers.append(machine.ledger)
    var gradients: AttentionGradients?
    if backward {
      let dO = try machine.allocateTensor("dO", operand: .outputGradient, rows: n, columns: d, elementType: t, contents: data?.dO)
      let before = machine.ledger
      gradients = try state.backward(
        on: &machine, HeadTensors(queries: q, keys: k, values: v, outputGradient: dO), setting: setting(.backward))
      run.ledgers.append(machine.ledger.subtracting(before))
      if request.mode == .execute { data?.dO = machine.contents(of: dO) }
    }
    tracker?.finish(head: head, elements: machine.ledger.hbmReadElements)
    run.peakSRAMBytes = machine.sram.peakBytes
    run.peakRegisterBytes = machine.registers.peakBytes
    run.peakHBMBytes = machine.peakHBMBytes
    guard request.mode == .execute else { return run }

    let (qs, ks, vs) = (machine.contents(of: q), machine.contents(of: k), machine.contents(of: v))
    run.tensors["O"] = machine.contents(of: state.output)
    if let gradients {
      run.tensors["dQ"] = machine.contents(of: gradients.queryGradient)
      run.tensors["dK"] = machine.contents(of: gradients.keyGradient)
      run.tensors["dV"] = machine.contents(of: gradients.valueGradient)
    }
    let check = request.resolvedCheck
    guard check != .none else {
      if !request.keepOutputs && head != 0 { run.tensors = [:] }
      return run
    }
    // The rows compared: all of them, or a seeded sample (the same rows for every head).
    let rows = check == .full ? nil : CheckMode.sampledRows(sequenceLength: n, seed: problem.seed)
    run.rowsChecked = rows?.count ?? n
    // One head at a time uses every thread for its sampled rows; several heads already do.
    let checkThreads = problem.headCount == 1 ? request.threads : 1
    func selected(_ values: [Float]) -> [Float] {
      guard let rows else { return values }
      var out: [Float] = []
      out.reserveCapacity(rows.count * d)
      for i in rows { out.append(contentsOf: values[i * d..<(i + 1) * d]) }
      return out
    }
    var references: [String: [Double]] = [:]
    if let rows {
      let exact = ReferenceAttention.rows(
        rows, queries: qs, keys: ks, values: vs, outputGradient: gradients == nil ? nil : data?.dO, sequenceLength: n,
        headDimension: d, scale: problem.softmaxScale, context: maskedContext, threads: checkThreads)
      references["O"] = exact.output
      if let dQ = exact.dQ { references["dQ"] = dQ }
    } else if gradients != nil, let dO = data?.dO {
      let exact = ReferenceAttention.gradients(
        queries: qs, keys: ks, values: vs, outputGradient: dO, sequenceLength: n, headDimension: d,
        scale: problem.softmaxScale, context: maskedContext)
      references = ["O": exact.output, "dQ": exact.dQ, "dK": exact.dK, "dV": exact.dV]
    } else {
      references["O"] = ReferenceAttention.forward(
        queries: qs, keys: ks, values: vs, sequenceLength: n, headDimension: d, scale: problem.softmaxScale, context: maskedContext)
    }
    if run.blockMask != nil {
      let dense = rows.map {
        ReferenceAttention.rows(
          $0, queries: qs, keys: ks, values: vs, outputGradient: nil, sequenceLength: n, headDimension: d,
          scale: problem.softmaxScale, context: context, threads: checkThreads).output
      } ?? ReferenceAttention.forward(
        queries: qs, keys: ks, values: vs, sequenceLength: n, headDimension: d, scale: problem.softmaxScale, context: context)
      for (x, y) in zip(selected(run.tensors["O"]!), dense) {
        run.denseSquaredDifference += (Double(x) - y) * (Double(x) - y)
        run.denseSquaredNorm += y * y
      }
    }
    for (name, reference) in references {
      let values = selected(run.tensors[name]!)
      // NaN or infinity the inputs did not force is a failed check, never a small error; entries
      // whose reference is not finite (forced by the inputs) are left out.
      var error = MaxRelativeError()
      for i in values.indices { error.add(Double(values[i]), reference: reference[i]) }
      run.nonFiniteOutputs += error.nonFiniteOutputs
      run.differences[name] = error
    }
    if !request.keepOutputs && head != 0 { run.tensors = [:] }
    return run
  }

  static func runHeads(
    _ request: SimulationRequest, blocks: [AttentionSchedule.Pass: BlockSizes], heads: [Int], tracker: ProgressTracker? = nil
  ) throws -> [HeadRun] {
    let results = HeadResults(count: heads.count)
    let threads = max(1, min(request.threads, heads.count))
    DispatchQueue.concurrentPerform(iterations: threads) { worker in
      var index = worker
      while index < heads.count {
        results.set(index, Result { try runHead(request, blocks: blocks, head: heads[index], tracker: tracker) })
        index += threads
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
