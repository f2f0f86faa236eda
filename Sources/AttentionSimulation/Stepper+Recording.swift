import AttentionAlgorithms
import Foundation
import MemoryHierarchy

/// Why a trace could not be recorded; each prints as one line.
public enum TraceError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The algorithm has no trace program yet.
  case notTraceable(AttentionAlgorithmKind, available: [AttentionAlgorithmKind])
  /// The run takes more steps than the limit (`steps` is exact, or a lower bound when
  /// `isLowerBound`): traces are for small teaching problems.
  case tooManySteps(algorithm: AttentionAlgorithmKind, steps: Int, isLowerBound: Bool, limit: Int)
  /// A run recorded with `Trace.record(name:…)` (a decode step) took more steps than the limit.
  case runTooLong(name: String, steps: Int, limit: Int)

  public var description: String {
    switch self {
    case let .notTraceable(algorithm, available):
      return "\(algorithm.rawValue) cannot be traced yet (traceable: \(available.map(\.rawValue).joined(separator: ", ")))"
    case let .runTooLong(name, steps, limit):
      return "\(name) takes \(steps) steps, more than the limit of \(limit); try a smaller problem"
    case let .tooManySteps(algorithm, steps, isLowerBound, limit):
      return "\(algorithm.rawValue) takes \(isLowerBound ? "at least " : "")\(steps) steps, more than the limit of \(limit); try a smaller problem (smaller --seq-len, or a larger --sram-bytes for bigger blocks)"
    }
  }
}

extension Trace {
  /// The step limit of `record` unless told otherwise. Every step keeps a small snapshot (resident
  /// tiles, ledger, m and ℓ values), so traces are for small teaching problems.
  public static let defaultStepLimit = 20_000

  /// The algorithms that can be traced (and stepped), in `AttentionAlgorithmKind` order: every
  /// registered one, forward and backward.
  public static var traceableAlgorithms: [AttentionAlgorithmKind] {
    AttentionAlgorithmKind.allCases.filter { kind in KernelRegistry.algorithms.contains { $0.kind == kind } }
  }

  /// Runs one head of `problem` on a fresh machine and records every step of one pass.
  ///
  /// The inputs are head 0's seeded Q, K, V (and dO) (`Simulator.inputs(problem:head:)`), the
  /// blocks are chosen as `Simulator.run` chooses them, and the run is the plain algorithm: only an
  /// observer is attached, so the output and the counts are exactly those of a plain run. A
  /// backward trace runs the forward pass first, unrecorded, and records the backward pass alone:
  /// its steps, ledger and peak SRAM are the backward's.
  ///
  /// - Parameters:
  ///   - pass: the pass to record (`.forward` by default).
  ///   - mode: `.execute` (default) records real m, ℓ and O values; `.count` only shapes.
  ///   - stepLimit: refuse runs with more events than this.
  ///   - sparsity: block-sparse runs: the mask pattern (dense when nil).
  /// - Throws: `TraceError.notTraceable`, `TraceError.tooManySteps`, and the errors of block
  ///   selection and of the run (`AttentionError`, `MachineError`).
  /// - Complexity: one run of the algorithm, plus O(tiles) work per step for the snapshot.
  public static func record(
    _ algorithm: AttentionAlgorithmKind, pass: AttentionSchedule.Pass = .forward, problem: AttentionProblem, spec: MachineSpec,
    blocks explicitBlocks: BlockSizes? = nil, blockRule: BlockRule = .fit, mode: ExecutionMode = .execute,
    stepLimit: Int = defaultStepLimit, memoryLimitBytes: Int? = nil, sparsity: BlockSparsity? = nil
  ) throws -> Trace {
    guard traceableAlgorithms.contains(algorithm) else {
      throw TraceError.notTraceable(algorithm, available: traceableAlgorithms)
    }
    let registered = KernelRegistry.algorithm(algorithm)
    let kernel = registered.kernel(pass)
    try spec.validate()
    var run = SimulationRequest(
      algorithm: algorithm, pass: pass == .forward ? .forward : .backward, problem: problem, machine: spec,
      blocks: explicitBlocks, blockRule: blockRule, mode: mode, sparsity: sparsity)
    let blocks = try Simulator.chooseBlocks(run)
    run.blocks = blocks[pass]
    // The sizes of a one-head run, checked before the trace's own step count.
    _ = try SimulationLimits.checkRun(run, blocks: blocks, simulatedHeads: 1)
    if let memoryLimitBytes {
      try SimulationLimits.checkMemory(run, blocks: blocks, simulatedHeads: 1, limit: memoryLimitBytes)
    }
    try Simulator.checkSettings(run, blocks: blocks)
    func setting(_ pass: AttentionSchedule.Pass, context: HeadContext? = nil) -> KernelSetting {
      KernelSetting(problem: problem, blocks: blocks[pass]!, spec: spec, context: context, sparsity: sparsity)
    }
    let minimum = kernel.minimumSteps(setting(pass))
    if minimum > stepLimit {
      throw TraceError.tooManySteps(algorithm: algorithm, steps: minimum, isLowerBound: true, limit: stepLimit)
    }

    let n = problem.sequenceLength
    let d = problem.headDimension
    let data = mode == .execute ? Simulator.inputs(problem: problem, head: 0) : nil
    let t = problem.dataType
    var state: ForwardState?
    let recording = try recordSteps(spec: spec, mode: mode, stepLimit: stepLimit) { machine in
      let q = try machine.allocateTensor("Q", operand: .query, rows: n, columns: d, elementType: t, contents: data?.q)
      let k = try machine.allocateTensor("K", operand: .key, rows: n, columns: d, elementType: t, contents: data?.k)
      let v = try machine.allocateTensor("V", operand: .value, rows: n, columns: d, elementType: t, contents: data?.v)
      return HeadTensors(queries: q, keys: k, values: v)
    } run: { machine, inputs, recorder in
      if pass == .forward { recorder.start(&machine) }
      let forward = try registered.runForward(on: &machine, inputs, setting: setting(.forward))
      state = forward
      if pass == .backward {
        var withGradient = inputs
        withGradient.outputGradient = try machine.allocateTensor(
          "dO", operand: .outputGradient, rows: n, columns: d, elementType: t, contents: data?.dO)
        recorder.start(&machine)
        _ = try forward.backward(on: &machine, withGradient, setting: setting(.backward))
      }
      return forward.output
    }
    if recording.count > stepLimit {
      throw TraceError.tooManySteps(algorithm: algorithm, steps: recording.count, isLowerBound: false, limit: stepLimit)
    }
    let traced = setting(pass, context: state?.context)
    return Trace(
      algorithm: algorithm, name: algorithm.rawValue, pass: pass, title: kernel.title, problem: problem, spec: spec,
      blocks: blocks[pass]!, mode: mode, recording: recording, blockMask: state?.blockMask
    ) { kernel.sectionTitle(after: $0, index: $1, setting: traced) }
  }

  /// Records any run on a fresh machine: the building block of the kernels' traces, and of other
  /// modules' traces (PagedKV's decode steps). `setUp` places the inputs (not recorded); `run`
  /// does the work and returns the output tensor, and every step it takes is recorded;
  /// `sectionTitle` names the step that ends each section.
  ///
  /// - Throws: `TraceError.runTooLong` past `stepLimit` steps, and the errors of `setUp` and `run`.
  public static func record<Inputs>(
    name: String, title: String, problem: AttentionProblem, spec: MachineSpec, blocks: BlockSizes, mode: ExecutionMode,
    stepLimit: Int = defaultStepLimit, setUp: (inout Machine) throws -> Inputs,
    run: (inout Machine, Inputs) throws -> HBMTensor, sectionTitle: @escaping (MachineEvent, Int) -> String?
  ) throws -> Trace {
    try spec.validate()
    let recording = try recordSteps(spec: spec, mode: mode, stepLimit: stepLimit, setUp: setUp) { machine, inputs, recorder in
      recorder.start(&machine)
      return try run(&machine, inputs)
    }
    if recording.count > stepLimit { throw TraceError.runTooLong(name: name, steps: recording.count, limit: stepLimit) }
    return Trace(
      algorithm: nil, name: name, pass: .forward, title: title, problem: problem, spec: spec, blocks: blocks, mode: mode,
      recording: recording, blockMask: nil, sectionTitle: sectionTitle)
  }

  /// What a recorded run left: its steps, its ledger from the start of recording, and its output.
  struct Recording {
    var steps: [Step]
    /// Events seen (more than `steps.count` past the limit).
    var count: Int
    var ledger: IOLedger
    var output: [Float]
  }

  /// Runs `setUp` and `run` on a fresh machine, recording the steps `run` takes after it calls
  /// `recorder.start`.
  static func recordSteps<Inputs>(
    spec: MachineSpec, mode: ExecutionMode, stepLimit: Int, setUp: (inout Machine) throws -> Inputs,
    run: (inout Machine, Inputs, StepRecorder) throws -> HBMTensor
  ) throws -> Recording {
    var machine = Machine(spec: spec, mode: mode)
    let inputs = try setUp(&machine)
    let recorder = StepRecorder(spec: spec, limit: stepLimit)
    let output = try run(&machine, inputs, recorder)
    machine.observer = nil
    let (steps, count) = recorder.finish()
    return Recording(steps: steps, count: count, ledger: machine.ledger.subtracting(recorder.baseline), output: machine.contents(of: output))
  }
}

extension Trace {
  /// A trace of `recording`, cut into sections where `sectionTitle` names a step.
  init(
    algorithm: AttentionAlgorithmKind?, name: String, pass: AttentionSchedule.Pass, title: String, problem: AttentionProblem,
    spec: MachineSpec, blocks: BlockSizes, mode: ExecutionMode, recording: Recording, blockMask: BlockMask?,
    sectionTitle: (MachineEvent, Int) -> String?
  ) {
    var sections: [Section] = []
    var start = 0
    for step in recording.steps {
      if let title = sectionTitle(step.event, sections.count) {
        sections.append(Section(index: sections.count, title: title, steps: start..<step.index + 1))
        start = step.index + 1
      }
    }
    self.init(
      algorithm: algorithm, name: name, pass: pass, title: title, problem: problem, spec: spec, blocks: blocks, mode: mode,
      steps: recording.steps, sections: sections, ledger: recording.ledger, output: recording.output,
      peakSRAMBytes: recording.steps.map(\.sramInUseBytes).max() ?? 0, grids: Trace.grids(of: recording.steps), blockMask: blockMask)
  }
}

/// Collects one `Trace.Step` per machine event from inside the machine's observer.
///
/// A class only because the observer is a `@Sendable` closure that must append somewhere; runs
/// are single-threaded, and the lock keeps the type honestly `Sendable`.
final class StepRecorder: @unchecked Sendable {
  private let lock = NSLock()
  private let spec: MachineSpec
  private let limit: Int
  private var steps: [Trace.Step] = []
  private var count = 0
  private var clock = 0.0
  /// The HBM rows each statistics tile last exchanged with, by tile id.
  private var tileRows: [Int: Range<Int>] = [:]
  /// The machine's ledger when recording began: each step's ledger is counted from it.
  var baseline = IOLedger()

  init(spec: MachineSpec, limit: Int) {
    self.spec = spec
    self.limit = limit
  }

  func record(_ event: MachineEvent, _ machine: Machine) {
    lock.lock()
    defer { lock.unlock() }
    count += 1
    // Past the limit the run finishes (an observer cannot stop it) but keeps nothing.
    guard count <= limit else { return }
    switch event {
    case let .load(t), let .store(t): tileRows[t.tile.id] = t.rowRange
    case let .free(tile, _): tileRows[tile.id] = nil
    default: break
    }
    let residents = machine.sram.residents
    var statistics: [Trace.TileValues] = []
    if machine.executes {
      for tile in residents where tile.operand == .rowMax || tile.operand == .rowSum {
        statistics.append(Trace.TileValues(tile: tile, rows: tileRows[tile.id], values: machine.values(of: tile)))
      }
    }
    let duration = Trace.modelledSeconds(of: event, on: spec)
    steps.append(Trace.Step(
      index: steps.count, event: event, startSeconds: clock, durationSeconds: duration, residents: residents,
      sramInUseBytes: machine.sram.inUseBytes, ledger: machine.ledger.subtracting(baseline), statistics: statistics))
    clock += duration
  }

  /// Starts recording `machine`'s events, counting its ledger from now.
  func start(_ machine: inout Machine) {
    lock.lock()
    baseline = machine.ledger
    lock.unlock()
    machine.observer = { event, after in self.record(event, after) }
  }

  /// The steps recorded and the number of events seen (more than the steps past the limit).
  func finish() -> (steps: [Trace.Step], count: Int) {
    lock.lock()
    defer { lock.unlock() }
    return (steps, count)
  }
}
