import MemoryHierarchy

// The kernel facts of standard attention (Algorithms 0 and 3) and of its framework-style
// unfused form: both are tiled matmuls with N×N intermediates in HBM, so they share the matmul
// tile plan, the square block rule, the row-pass checks and the "one kernel per phase" sections.

extension StandardAttentionForward: AttentionForwardKernel {
  public static let storesAttentionMatrices = true
  public static let algorithm = AttentionAlgorithmKind.standard
  public static let title = "standard attention forward (Algorithm 0, tiled)"
  public static let algorithmName = "standard attention (Algorithms 0 and 3)"
  public static let summary = "S = τQKᵀ, P = softmax(S), O = PV with tiled matmuls; S and P written to and read from HBM"
  public static let blockShape = AttentionSchedule.Shape.square
  public static let workDecomposition = WorkDecomposition.section

  public static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    matmulPlan(blocks: blocks, problem: problem).all
  }

  public static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic {
    let passes = StandardPhases.softmaxPasses(setting.problem, setting.spec)
    return ClosedFormTraffic(closedForm(
      sequenceLength: setting.n, headDimension: setting.d, blocks: setting.blocks, softmaxPasses: passes,
      dropout: setting.problem.dropoutProbability > 0))
  }

  /// Sections: each block row of S written, the softmax pass, each block of O written.
  public static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String? {
    guard case let .store(t) = event else { return nil }
    let n = setting.n
    let rows = "rows \(t.rowRange.lowerBound)..<\(t.rowRange.upperBound)"
    let br = setting.blocks.queryBlockSize
    switch t.tensor.operand {
    case .scores where t.columnRange.upperBound == n:
      return "phase 1, S = τ·QKᵀ: block row i = \(t.rowRange.lowerBound / br) of S (\(rows)) written to HBM"
    case .probabilities where t.rowRange.upperBound == n && t.columnRange.upperBound == n:
      return "phase 2, P = softmax(S): every row of S read back, P written to HBM"
    case .output:
      return "phase 3, O = PV: block i = \(t.rowRange.lowerBound / br) of O (\(rows)) written to HBM"
    default:
      return nil
    }
  }

  public static func minimumSteps(_ setting: KernelSetting) -> Int { StandardPhases.minimumSteps(setting) }

  public static func checkSetting(_ setting: KernelSetting) throws { try StandardPhases.checkSoftmax(setting) }

  public static func softmaxPasses(_ setting: KernelSetting) -> Int? {
    StandardAttentionForward.softmaxTiling(problem: setting.problem, capacityInBytes: setting.spec.sramCapacityInBytes)?.passes
  }

  public static func output(of outputs: Outputs) -> HBMTensor { outputs.output }

  public static func run(on machine: inout Machine, _ inputs: HeadTensors, setting: KernelSetting) throws -> Outputs {
    try run(
      on: &machine, queries: inputs.queries, keys: inputs.keys, values: inputs.values, blocks: setting.blocks,
      problem: setting.problem, context: setting.context)
  }
}

extension StandardAttentionBackward: AttentionBackwardKernel {
  public static let storesAttentionMatrices = true
  public typealias Forward = StandardAttentionForward
  public static let title = "standard attention backward (Algorithm 3, tiled)"
  public static let summary = "Algorithm 3: dV, dP, dS, dQ, dK, each N×N matrix written to and read from HBM"
  public static let blockShape = AttentionSchedule.Shape.square
  public static let workDecomposition = WorkDecomposition.section

  public static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    StandardAttentionForward.matmulPlan(blocks: blocks, problem: problem).all
  }

  public static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic {
    let passes = StandardPhases.gradientPasses(setting.problem, setting.spec)
    return ClosedFormTraffic(closedForm(
      sequenceLength: setting.n, headDimension: setting.d, blocks: setting.blocks, gradientPasses: passes,
      dropout: setting.problem.dropoutProbability > 0))
  }

  public static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String? {
    StandardPhases.kernelDone(event)
  }

  public static func minimumSteps(_ setting: KernelSetting) -> Int { StandardPhases.minimumSteps(setting) }

  public static func checkSetting(_ setting: KernelSetting) throws { try StandardPhases.checkGradient(setting) }

  public static func run(
    on machine: inout Machine, _ inputs: HeadTensors, forward: StandardAttentionForward.Outputs, setting: KernelSetting
  ) throws -> AttentionGradients {
    try run(
      on: &machine, queries: inputs.queries, keys: inputs.keys, values: inputs.values, forward: forward,
      outputGradient: try inputs.requireOutputGradient(), blocks: setting.blocks, problem: setting.problem, context: setting.context)
  }
}

extension UnfusedAttention {
  /// The forward kernels: S, S + mask, softmax, dropout, P_d·V, one HBM round trip each.
  public enum Forward: AttentionForwardKernel {
    public static let algorithm = AttentionAlgorithmKind.standardUnfused
    public static let storesAttentionMatrices = true
    public static let title = "framework-style standard attention forward (one kernel per operation)"
    public static let algorithmName = "framework-style standard attention (unfused passes)"
    public static let summary = "S, S + mask, softmax, dropout and P_d·V as PyTorch runs them, one HBM round trip each"
    public static let blockShape = AttentionSchedule.Shape.square
    public static let workDecomposition = WorkDecomposition.section

    /// Its matmul kernels never touch the dropout mask (a separate kernel applies it).
    public static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
      var plain = problem
      plain.dropoutProbability = 0
      return StandardAttentionForward.matmulPlan(blocks: blocks, problem: plain).all
    }

    public static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic { UnfusedAttention.closedForm(setting, pass: .forward) }

    /// A section ends when a kernel has written the last block of its output tensor.
    public static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String? {
      StandardPhases.kernelDone(event)
    }

    public static func minimumSteps(_ setting: KernelSetting) -> Int { StandardPhases.minimumSteps(setting) }

    public static func checkSetting(_ setting: KernelSetting) throws { try StandardPhases.checkSoftmax(setting) }

    public static func softmaxPasses(_ setting: KernelSetting) -> Int? { StandardAttentionForward.softmaxPasses(setting) }

    public static func output(of outputs: ForwardOutputs) -> HBMTensor { outputs.output }

    public static func run(on machine: inout Machine, _ inputs: HeadTensors, setting: KernelSetting) throws -> ForwardOutputs {
      try UnfusedAttention.forward(
        on: &machine, queries: inputs.queries, keys: inputs.keys, values: inputs.values, blocks: setting.blocks,
        problem: setting.problem, context: setting.context)
    }
  }

  /// The backward kernels: dV, dP_d, dP, dS, dQ, dK, one HBM round trip each.
  public enum Backward: AttentionBackwardKernel {
    public typealias Forward = UnfusedAttention.Forward
    public static let storesAttentionMatrices = true
    public static let title = "framework-style standard attention backward (one kernel per operation)"
    public static let summary = "the backward kernels of framework-style attention, one HBM round trip each"
    public static let blockShape = AttentionSchedule.Shape.square
    public static let workDecomposition = WorkDecomposition.section

    public static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
      Forward.tileRequests(blocks: blocks, problem: problem)
    }

    public static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic { UnfusedAttention.closedForm(setting, pass: .backward) }

    public static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String? {
      StandardPhases.kernelDone(event)
    }

    public static func minimumSteps(_ setting: KernelSetting) -> Int { StandardPhases.minimumSteps(setting) }

    public static func checkSetting(_ setting: KernelSetting) throws { try StandardPhases.checkGradient(setting) }

    public static func run(
      on machine: inout Machine, _ inputs: HeadTensors, forward: ForwardOutputs, setting: KernelSetting
    ) throws -> AttentionGradients {
      try UnfusedAttention.backward(
        on: &machine, queries: inputs.queries, keys: inputs.keys, values: inputs.values, forward: forward,
        outputGradient: try inputs.requireOutputGradient(), blocks: setting.blocks, problem: setting.problem, context: setting.context)
    }
  }

  static func closedForm(_ setting: KernelSetting, pass: AttentionPass) -> ClosedFormTraffic {
    var plain = setting.problem
    plain.dropoutProbability = 0
    return ClosedFormTraffic(closedForm(
      sequenceLength: setting.n, headDimension: setting.d, blocks: setting.blocks, pass: pass, problem: setting.problem,
      softmaxPasses: StandardPhases.softmaxPasses(plain, setting.spec),
      gradientPasses: StandardPhases.gradientPasses(setting.problem, setting.spec)))
  }
}

/// What standard attention's kernels share: the number of passes a row of S (or of P and dP)
/// needs in the SRAM, the checks that at least one element fits, and their trace sections.
enum StandardPhases {
  /// Softmax passes: 1 when a row of S fits the SRAM, else 2.
  static func softmaxPasses(_ problem: AttentionProblem, _ spec: MachineSpec) -> Int {
    StandardAttentionForward.softmaxTiling(problem: problem, capacityInBytes: spec.sramCapacityInBytes)?.passes ?? 1
  }

  /// Softmax-gradient passes: 1 when a row of P and dP fits the SRAM, else 2.
  static func gradientPasses(_ problem: AttentionProblem, _ spec: MachineSpec) -> Int {
    StandardAttentionBackward.gradientTiling(problem: problem, capacityInBytes: spec.sramCapacityInBytes)?.passes ?? 1
  }

  static func checkSoftmax(_ setting: KernelSetting) throws {
    let (problem, capacity) = (setting.problem, setting.spec.sramCapacityInBytes)
    if StandardAttentionForward.softmaxTiling(problem: problem, capacityInBytes: capacity) == nil {
      throw AttentionError.noBlocksFit(
        minimumBytes: problem.dataType.byteWidth + 2 * problem.statisticsType.byteWidth, capacityBytes: capacity,
        algorithm: "the softmax pass")
    }
  }

  static func checkGradient(_ setting: KernelSetting) throws {
    let (problem, capacity) = (setting.problem, setting.spec.sramCapacityInBytes)
    if StandardAttentionBackward.gradientTiling(problem: problem, capacityInBytes: capacity) == nil {
      throw AttentionError.noBlocksFit(
        minimumBytes: 2 * problem.dataType.byteWidth + problem.statisticsType.byteWidth, capacityBytes: capacity,
        algorithm: "the softmax-gradient pass")
    }
  }

  /// A section ends when a kernel has written the last block of its output tensor.
  static func kernelDone(_ event: MachineEvent) -> String? {
    guard case let .store(t) = event, t.rowRange.upperBound == t.tensor.rows, t.columnRange.upperBound == t.tensor.columns else {
      return nil
    }
    return "kernel done: \(t.tensor.name) (\(t.tensor.rows)×\(t.tensor.columns)) written to HBM"
  }

  /// Each phase's tiled matmul visits every (i, j) block at least with a load, a product and a
  /// store, so 6·T_r·T_c is a lower bound on the events.
  static func minimumSteps(_ setting: KernelSetting) -> Int {
    6 * setting.blocks.queryBlockCount(setting.n) * setting.blocks.keyBlockCount(setting.n)
  }
}
