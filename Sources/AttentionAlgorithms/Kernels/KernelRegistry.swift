import MemoryHierarchy

/// The registered kernels: the one list the simulator, block selection, the stepper and traces,
/// the CLI's `--algorithm` parsing and help, `reproduce`, the lessons and the Docs tables read.
///
/// **Adding an algorithm** is one file holding its two kernel types plus one line here (and a case
/// of `AttentionAlgorithmKind` for its CLI name). A kind without a line fails
/// `KernelRegistryTests`, and the generic property test then checks the new kernels'
/// counts, closed forms, traces and numerics on seeded ragged shapes.
public enum KernelRegistry {
  /// Every algorithm, in `AttentionAlgorithmKind` order.
  public static let algorithms: [RegisteredAlgorithm] = [
    RegisteredAlgorithm(StandardAttentionForward.self, StandardAttentionBackward.self),
    RegisteredAlgorithm(UnfusedAttention.Forward.self, UnfusedAttention.Backward.self),
    RegisteredAlgorithm(FlashAttentionForward.self, FlashAttentionBackward.self),
    RegisteredAlgorithm(FlashAttention2Forward.self, FlashAttention2Backward.self),
    RegisteredAlgorithm(BlockSparseAttention.Forward.self, BlockSparseAttention.Backward.self),
  ]

  /// The registered algorithm of `kind`.
  public static func algorithm(_ kind: AttentionAlgorithmKind) -> RegisteredAlgorithm {
    // Every kind is registered (checked by KernelRegistryTests); the fallback only keeps an
    // unregistered kind from trapping.
    algorithms.first { $0.kind == kind } ?? algorithms[0]
  }

  /// The kernel of `kind`'s `pass`.
  public static func kernel(_ kind: AttentionAlgorithmKind, pass: AttentionSchedule.Pass) -> any AttentionKernel.Type {
    algorithm(kind).kernel(pass)
  }

  /// The algorithms' CLI names (`--algorithm`), in registry order.
  public static var names: [String] { algorithms.map(\.kind.rawValue) }

  /// Every registered kernel, forward then backward for each algorithm.
  public static var kernels: [any AttentionKernel.Type] { algorithms.flatMap { [$0.forward, $0.backward] } }
}

/// One algorithm: its forward and backward kernels, joined so that the backward pass reads the
/// forward's outputs with their own types.
public struct RegisteredAlgorithm: Sendable {
  public let kind: AttentionAlgorithmKind
  public let forward: any AttentionForwardKernel.Type
  public let backward: any AttentionBackwardKernel.Type
  /// Whether both passes must use the same blocks (a block mask is defined on one block grid, and
  /// the backward must differentiate the attention the forward computed).
  public let sharesBlocksAcrossPasses: Bool
  private let runForward: @Sendable (inout Machine, HeadTensors, KernelSetting) throws -> ForwardState

  public init<Forward: AttentionForwardKernel, Backward: AttentionBackwardKernel>(
    _ forward: Forward.Type, _ backward: Backward.Type
  ) where Backward.Forward == Forward {
    kind = Forward.algorithm
    self.forward = forward
    self.backward = backward
    sharesBlocksAcrossPasses = Forward.usesBlockMask || Backward.usesBlockMask
    runForward = { machine, inputs, setting in
      let outputs = try Forward.run(on: &machine, inputs, setting: setting)
      var context = setting.context
      if let mask = Forward.blockMask(of: outputs) { context = context.withBlockMask(mask, blocks: setting.blocks) }
      return ForwardState(output: Forward.output(of: outputs), context: context) { machine, inputs, setting in
        try Backward.run(on: &machine, inputs, forward: outputs, setting: setting)
      }
    }
  }

  /// The kernel of one pass.
  public func kernel(_ pass: AttentionSchedule.Pass) -> any AttentionKernel.Type {
    pass == .forward ? forward : backward
  }

  /// The algorithm's name for `--help`, errors and the Docs.
  public var displayName: String { forward.algorithmName }

  /// Whether the algorithm runs on a block mask (`--mask`).
  public var usesBlockMask: Bool { forward.usesBlockMask }

  /// Whether either pass keeps N×N matrices in HBM.
  public var storesAttentionMatrices: Bool { forward.storesAttentionMatrices || backward.storesAttentionMatrices }

  /// Runs the forward pass of one head whose Q, K, V are in `machine`'s HBM.
  public func runForward(on machine: inout Machine, _ inputs: HeadTensors, setting: KernelSetting) throws -> ForwardState {
    try runForward(&machine, inputs, setting)
  }
}

/// What a forward pass left in HBM, ready for its backward pass.
public struct ForwardState: Sendable {
  /// O.
  public let output: HBMTensor
  /// The head's context as the backward pass and the float64 reference must see it: with the
  /// block mask a block-sparse forward chose.
  public let context: HeadContext
  private let runBackward: @Sendable (inout Machine, HeadTensors, KernelSetting) throws -> AttentionGradients

  init(output: HBMTensor, context: HeadContext, runBackward: @escaping @Sendable (inout Machine, HeadTensors, KernelSetting) throws -> AttentionGradients) {
    self.output = output
    self.context = context
    self.runBackward = runBackward
  }

  /// The block mask the forward pass chose (block-sparse kernels), else nil.
  public var blockMask: BlockMask? { context.blockMask }

  /// Runs the algorithm's backward pass; `inputs.outputGradient` holds dO. The setting's context
  /// is replaced by `context` (with the forward's block mask).
  public func backward(on machine: inout Machine, _ inputs: HeadTensors, setting: KernelSetting) throws -> AttentionGradients {
    var setting = setting
    setting.context = context
    return try runBackward(&machine, inputs, setting)
  }
}
