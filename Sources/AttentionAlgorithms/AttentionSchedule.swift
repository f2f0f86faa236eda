import MemoryHierarchy

/// The pass and block-shape vocabulary of the kernels, and lookups of one kernel's facts through
/// `KernelRegistry` by algorithm and pass (no kernel is dispatched on here).
public enum AttentionSchedule {
  /// Which pass a plan or closed form describes.
  public enum Pass: String, Sendable, Hashable, CaseIterable {
    case forward
    case backward
  }

  /// How the `fit` rule grows blocks for this pass: the block the outer loop streams is the large
  /// one, the other is capped at d (the paper's proportions, or their mirror image for
  /// FlashAttention-2's forward, whose outer loop is over queries); standard attention's matmul
  /// tiles are square.
  public enum Shape: Sendable {
    case keyMajor
    case queryMajor
    case square
  }

  /// The tiles the pass keeps in SRAM at once with these blocks: the plan block selection checks.
  public static func tilePlan(_ algorithm: AttentionAlgorithmKind, pass: Pass, blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    KernelRegistry.kernel(algorithm, pass: pass).tileRequests(blocks: blocks, problem: problem)
  }

  /// The block-shape rule of the pass.
  public static func shape(_ algorithm: AttentionAlgorithmKind, pass: Pass) -> Shape {
    KernelRegistry.kernel(algorithm, pass: pass).blockShape
  }

  /// Exact HBM elements of one head's pass, and the causally skipped blocks (FlashAttention-2).
  /// Block-sparse runs need the head's mask and the sparsity settings.
  public static func closedForm(
    _ algorithm: AttentionAlgorithmKind, pass: Pass, problem: AttentionProblem, blocks: BlockSizes, spec: MachineSpec,
    mask: BlockMask? = nil, sparsity: BlockSparsity? = nil
  ) -> (traffic: TrafficCount, skippedBlocks: Int) {
    var context = problem.headContext(0)
    if let mask { context = context.withBlockMask(mask, blocks: blocks) }
    let setting = KernelSetting(problem: problem, blocks: blocks, spec: spec, context: context, sparsity: sparsity)
    let form = KernelRegistry.kernel(algorithm, pass: pass).closedForm(setting)
    return (form.traffic, form.skippedBlocks)
  }
}
