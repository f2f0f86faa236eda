import AttentionIO

/// The algorithms and passes the benchmark times.
public enum BenchmarkAlgorithm: String, Sendable, Hashable, CaseIterable {
  /// FlashAttention, Algorithms 1 and 4.
  case flash
  /// Standard attention, Algorithms 0 and 3 (S and P written to HBM).
  case standard

  var kind: AttentionAlgorithmKind { self == .flash ? .flash : .standard }
}

/// Forward or backward.
public enum BenchmarkPass: String, Sendable, Hashable, CaseIterable {
  case forward
  case backward
}

/// One head's problem on one simulated machine, ready to run repeatedly: the inputs are placed in
/// HBM once, and each run frees the tensors it created, so repeated runs allocate nothing that
/// grows.
///
/// The machine is the A100 preset in execute mode with fp32 data and statistics, the ledger on,
/// events and observer off; the blocks are the ones `Simulator.run` would choose (one grid for
/// both passes: `BlockSelection.choose(…, pass: .backward)`). Timing this (not `Simulator.run`)
/// leaves out the float64 reference check.
public struct HeadWorkload: Sendable {
  public let algorithm: BenchmarkAlgorithm
  public let problem: AttentionProblem
  public let spec: MachineSpec
  public let blocks: BlockSizes
  public private(set) var machine: Machine
  let queries: HBMTensor
  let keys: HBMTensor
  let values: HBMTensor
  let outputGradient: HBMTensor
  /// The forward's outputs, kept for backward runs, and the tensors the forward created.
  var forwardState: ForwardState?
  var forwardTensors: Range<Int> = 0..<0

  /// The problem the benchmark runs: one head of N×d, fp32, no mask, no dropout.
  public static func problem(sequenceLength: Int, headDimension: Int, seed: UInt64 = 0) throws -> AttentionProblem {
    try AttentionProblem(
      sequenceLength: sequenceLength, headDimension: headDimension, dataType: .fp32, statisticsType: .fp32, seed: seed)
  }

  /// The blocks the benchmark uses for `algorithm` at N, d: what `Simulator.run` would choose
  /// on `spec` for one grid over both passes.
  public static func defaultBlocks(
    _ algorithm: BenchmarkAlgorithm = .flash, sequenceLength: Int, headDimension: Int, spec: MachineSpec = .a100_40GB
  ) throws -> BlockSizes {
    try defaultBlocks(algorithm, problem: problem(sequenceLength: sequenceLength, headDimension: headDimension), spec: spec)
  }

  static func defaultBlocks(_ algorithm: BenchmarkAlgorithm, problem: AttentionProblem, spec: MachineSpec) throws -> BlockSizes {
    try BlockSelection.choose(algorithm.kind, pass: .backward, problem: problem, spec: spec)
  }

  /// Places head `head`'s inputs in a fresh execute-mode machine: standard normals from
  /// `SeededRandom(seed: head)`, one tensor at a time (Q, K, V, then dO unless
  /// `withOutputGradient` is false), so placing them never holds two copies of the inputs.
  public init(
    _ algorithm: BenchmarkAlgorithm, sequenceLength: Int, headDimension: Int, head: Int = 0,
    spec: MachineSpec = .a100_40GB, blocks explicitBlocks: BlockSizes? = nil, withOutputGradient: Bool = true
  ) throws {
    self.algorithm = algorithm
    self.spec = spec
    problem = try Self.problem(sequenceLength: sequenceLength, headDimension: headDimension)
    blocks = try explicitBlocks ?? Self.defaultBlocks(algorithm, problem: problem, spec: spec)
    machine = Machine(spec: spec, mode: .execute)
    let (n, d) = (sequenceLength, headDimension)
    var rng = SeededRandom(seed: UInt64(head))
    queries = try machine.allocateTensor("Q", operand: .query, rows: n, columns: d, elementType: .fp32, contents: rng.normals(n * d))
    keys = try machine.allocateTensor("K", operand: .key, rows: n, columns: d, elementType: .fp32, contents: rng.normals(n * d))
    values = try machine.allocateTensor("V", operand: .value, rows: n, columns: d, elementType: .fp32, contents: rng.normals(n * d))
    outputGradient = try machine.allocateTensor(
      "dO", operand: .outputGradient, rows: withOutputGradient ? n : 0, columns: d, elementType: .fp32,
      contents: withOutputGradient ? rng.normals(n * d) : [])
  }

  /// Work of one pass in FLOPs, by the benchmark's convention: 4·N²·d forward (the two
  /// matmuls), 2.5× that backward (five matmuls), whatever the algorithm actually does.
  public func conventionalFLOPs(_ pass: BenchmarkPass) -> Double {
    let n = Double(problem.sequenceLength)
    let forward = 4 * n * n * Double(problem.headDimension)
    return pass == .forward ? forward : 2.5 * forward
  }

  /// Runs the forward pass and keeps its outputs (for a later backward); returns its ledger.
  @discardableResult
  public mutating func runForward() throws -> IOLedger {
    release(forwardTensors)
    forwardState = nil
    let context = problem.headContext(0)
    let before = machine.ledger
    let first = machine.tensors.count
    forwardState = try KernelRegistry.algorithm(algorithm.kind).runForward(
      on: &machine, HeadTensors(queries: queries, keys: keys, values: values),
      setting: KernelSetting(problem: problem, blocks: blocks, spec: spec, context: context))
    forwardTensors = first..<machine.tensors.count
    return machine.ledger.subtracting(before)
  }

  /// Runs the backward pass after `runForward` and frees the gradients; returns its ledger.
  @discardableResult
  public mutating func runBackward() throws -> IOLedger {
    try backward(keeping: false).ledger
  }

  /// Runs the backward pass once more and returns dQ, dK, dV (row-major N×d each).
  public mutating func gradients() throws -> (dQ: [Float], dK: [Float], dV: [Float]) {
    try backward(keeping: true).gradients
  }

  mutating func backward(keeping: Bool) throws -> (ledger: IOLedger, gradients: (dQ: [Float], dK: [Float], dV: [Float])) {
    if forwardState == nil { try runForward() }
    let context = problem.headContext(0)
    let before = machine.ledger
    let first = machine.tensors.count
    let gradients = try forwardState!.backward(
      on: &machine, HeadTensors(queries: queries, keys: keys, values: values, outputGradient: outputGradient),
      setting: KernelSetting(problem: problem, blocks: blocks, spec: spec, context: context))
    let ledger = machine.ledger.subtracting(before)
    let values = keeping
      ? (machine.contents(of: gradients.queryGradient), machine.contents(of: gradients.keyGradient), machine.contents(of: gradients.valueGradient))
      : ([], [], [])
    release(first..<machine.tensors.count)
    return (ledger, values)
  }

  /// Runs `pass` once (a forward replaces the kept outputs).
  @discardableResult
  public mutating func run(_ pass: BenchmarkPass) throws -> IOLedger {
    pass == .forward ? try runForward() : try runBackward()
  }

  /// The last forward's O (row-major N×d).
  public var output: [Float] {
    guard let state = forwardState else { return [] }
    return machine.contents(of: state.output)
  }

  /// The inputs as placed in HBM.
  public var inputs: (q: [Float], k: [Float], v: [Float], dO: [Float]) {
    (machine.contents(of: queries), machine.contents(of: keys), machine.contents(of: values), machine.contents(of: outputGradient))
  }

  /// Frees the tensors with these ids (outputs and intermediates of one run).
  mutating func release(_ ids: Range<Int>) {
    for id in ids { machine.freeTensor(machine.tensors[id]) }
  }
}
