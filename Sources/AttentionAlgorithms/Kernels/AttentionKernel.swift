import MemoryHierarchy

/// One pass of one attention algorithm, with every fact about it in one type: its name and
/// description, its tile plan, the block-shape rule that sizes its blocks, its closed form, its run
/// on the `Machine`, where its outer iterations end (for traces) and, from those, its work
/// decomposition into the independent units a GPU would run as thread blocks.
///
/// A kernel is registered in `KernelRegistry.algorithms` together with the other pass of its
/// algorithm (`RegisteredAlgorithm`); the simulator, block selection, the stepper and traces, the
/// CLI's `--algorithm` parsing and help, `reproduce` and the lessons all reach it from there. The
/// forward and backward refinements (`AttentionForwardKernel`, `AttentionBackwardKernel`) add the
/// run itself; see `Docs/Design.md` ("Adding a kernel") for a worked example.
public protocol AttentionKernel: Sendable {
  /// The algorithm this kernel belongs to (its raw value is the CLI's `--algorithm` name).
  static var algorithm: AttentionAlgorithmKind { get }
  /// The pass it runs.
  static var pass: AttentionSchedule.Pass { get }
  /// What it is, for headings: `FlashAttention forward (Algorithm 1)`.
  static var title: String { get }
  /// One line for `--help` and the Docs tables.
  static var summary: String { get }
  /// How the `fit` rule grows its blocks (which block its outer loop streams).
  static var blockShape: AttentionSchedule.Shape { get }
  /// How its work splits into independent units (thread blocks on a GPU).
  static var workDecomposition: WorkDecomposition { get }

  /// The tiles it keeps on chip at once with these blocks, in allocation order: the plan block
  /// selection checks against the SRAM and the register file.
  static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest]

  /// Exact HBM elements of one head's pass (and the blocks a causal mask lets it skip).
  static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic

  /// The title of the trace section that `event` closes (the end of an outer iteration or a
  /// phase), or nil; `index` counts the sections closed before it.
  static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String?

  /// A lower bound on the pass's machine events (exact where it is cheap), so a trace too long to
  /// record is refused before it runs.
  static func minimumSteps(_ setting: KernelSetting) -> Int

  /// Refuses settings the pass cannot run before anything runs (for example a softmax row that
  /// fits no SRAM). The default accepts every setting.
  static func checkSetting(_ setting: KernelSetting) throws

  /// Whether the pass keeps N×N matrices (S, P and their gradients) in HBM, which bounds the
  /// sequence lengths it can run and the memory a run needs. Default: false.
  static var storesAttentionMatrices: Bool { get }

  /// Whether the pass runs on a block mask (its blocks are shared by both passes). Default: false.
  static var usesBlockMask: Bool { get }

  /// The passes its softmax makes over a row of S (1 when a row fits the SRAM), for kernels whose
  /// softmax is a separate phase; nil for fused kernels (the default).
  static func softmaxPasses(_ setting: KernelSetting) -> Int?
}

extension AttentionKernel {
  public static func checkSetting(_ setting: KernelSetting) throws {}
  public static var workDecomposition: WorkDecomposition { .head }
  public static var storesAttentionMatrices: Bool { false }
  public static var usesBlockMask: Bool { false }
  public static func softmaxPasses(_ setting: KernelSetting) -> Int? { nil }
}

/// A forward pass: reads Q, K, V and leaves its `Outputs` in HBM for its backward pass.
public protocol AttentionForwardKernel: AttentionKernel {
  /// The algorithm's name in headings, errors and `--help`: `FlashAttention (Algorithms 1 and 4)`.
  static var algorithmName: String { get }

  /// The HBM tensors the pass leaves behind (O, and what the backward pass reads).
  associatedtype Outputs: Sendable

  /// Runs one head whose Q, K, V are in `machine`'s HBM.
  static func run(on machine: inout Machine, _ inputs: HeadTensors, setting: KernelSetting) throws -> Outputs

  /// The output O among `outputs`.
  static func output(of outputs: Outputs) -> HBMTensor

  /// The block mask the pass chose (block-sparse kernels), else nil.
  static func blockMask(of outputs: Outputs) -> BlockMask?
}

extension AttentionForwardKernel {
  public static var pass: AttentionSchedule.Pass { .forward }
  public static func blockMask(of outputs: Outputs) -> BlockMask? { nil }
}

/// A backward pass: reads its forward pass's outputs and dO, and writes dQ, dK, dV.
public protocol AttentionBackwardKernel: AttentionKernel {
  /// The forward pass whose outputs this pass reads.
  associatedtype Forward: AttentionForwardKernel

  /// Runs one head after `Forward.run`; `inputs.outputGradient` holds dO.
  static func run(
    on machine: inout Machine, _ inputs: HeadTensors, forward: Forward.Outputs, setting: KernelSetting
  ) throws -> AttentionGradients
}

extension AttentionBackwardKernel {
  public static var pass: AttentionSchedule.Pass { .backward }
  public static var algorithm: AttentionAlgorithmKind { Forward.algorithm }
}

/// What a kernel run is given besides the machine and the tensors: one head's problem and
/// context, the blocks, the machine it runs on and, for block-sparse kernels, the sparsity.
public struct KernelSetting: Sendable {
  public var problem: AttentionProblem
  public var blocks: BlockSizes
  public var spec: MachineSpec
  /// The head's position, masks and dropout stream; the backward pass of a block-sparse kernel
  /// gets the context with the block mask its forward pass chose.
  public var context: HeadContext
  /// Block-sparse kernels: the mask pattern and the column policy (dense when nil).
  public var sparsity: BlockSparsity?

  public init(problem: AttentionProblem, blocks: BlockSizes, spec: MachineSpec, context: HeadContext? = nil, sparsity: BlockSparsity? = nil) {
    self.problem = problem
    self.blocks = blocks
    self.spec = spec
    self.context = context ?? problem.headContext(0)
    self.sparsity = sparsity
  }

  /// The block mask the head's forward pass chose (block-sparse kernels), else nil.
  public var blockMask: BlockMask? { context.blockMask }

  /// N, d: the head's sequence length and head dimension.
  var n: Int { problem.sequenceLength }
  var d: Int { problem.headDimension }
}

/// One head's inputs in HBM: Q, K, V, and dO for a backward pass.
public struct HeadTensors: Sendable {
  public var queries: HBMTensor
  public var keys: HBMTensor
  public var values: HBMTensor
  /// dO (backward passes only).
  public var outputGradient: HBMTensor?

  public init(queries: HBMTensor, keys: HBMTensor, values: HBMTensor, outputGradient: HBMTensor? = nil) {
    self.queries = queries
    self.keys = keys
    self.values = values
    self.outputGradient = outputGradient
  }

  /// dO, or an error for a backward pass run without it.
  func requireOutputGradient() throws -> HBMTensor {
    guard let outputGradient else { throw AttentionError.invalidProblem("a backward pass needs dO in HBM") }
    return outputGradient
  }
}

/// The gradients a backward pass leaves in HBM.
public struct AttentionGradients: Sendable {
  public let queryGradient: HBMTensor
  public let keyGradient: HBMTensor
  public let valueGradient: HBMTensor

  public init(queryGradient: HBMTensor, keyGradient: HBMTensor, valueGradient: HBMTensor) {
    self.queryGradient = queryGradient
    self.keyGradient = keyGradient
    self.valueGradient = valueGradient
  }
}

/// A closed form's exact HBM traffic and the blocks a causal mask skipped.
public struct ClosedFormTraffic: Hashable, Sendable {
  public var traffic: TrafficCount
  /// Blocks skipped by a causal mask (FlashAttention-2), else 0.
  public var skippedBlocks: Int

  public init(_ traffic: TrafficCount, skippedBlocks: Int = 0) {
    self.traffic = traffic
    self.skippedBlocks = skippedBlocks
  }
}

/// How a kernel's work splits into independent units, the thread blocks (CTAs) a GPU would launch.
public enum WorkDecomposition: String, Sendable, Hashable {
  /// One unit per head: the outer iterations depend on each other (FlashAttention's Algorithms 1
  /// and 4 read back the O_i or dQ_i the previous iteration wrote), so one thread block loops over
  /// them all, as FlashAttention's own kernels do.
  case head
  /// One unit per trace section: each outer iteration (or each kernel of a phase) reads and
  /// writes rows no other unit of the same phase touches, so they can run at once.
  case section
}
