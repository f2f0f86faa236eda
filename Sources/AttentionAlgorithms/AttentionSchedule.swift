import MemoryHierarchy

/// The one place that dispatches over algorithms: their tile plans, closed forms and passes.
/// Adding an algorithm means adding a case here and in `AttentionAlgorithmKind`.
public enum AttentionSchedule {
  /// Which pass a plan or closed form describes.
  public enum Pass: String, Sendable, Hashable, CaseIterable {
    case forward
    case backward
  }

  /// The tiles the pass keeps in SRAM at once with these blocks: the plan block selection checks.
  public static func tilePlan(_ algorithm: AttentionAlgorithmKind, pass: Pass, blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    switch (algorithm, pass) {
    case (.flash, .forward), (.blockSparse, .forward): return FlashAttentionForward.tilePlan(blocks: blocks, problem: problem)
    case (.flash, .backward), (.blockSparse, .backward): return FlashAttentionBackward.tilePlan(blocks: blocks, problem: problem)
    case (.flash2, .forward): return FlashAttention2Forward.tilePlan(blocks: blocks, problem: problem)
    case (.flash2, .backward): return FlashAttention2Backward.tilePlan(blocks: blocks, problem: problem)
    case (.standard, _): return StandardAttentionForward.matmulPlan(blocks: blocks, problem: problem)
    case (.standardUnfused, _):
      // Its matmul kernels never touch the dropout mask (a separate kernel applies it).
      var plain = problem
      plain.dropoutProbability = 0
      return StandardAttentionForward.matmulPlan(blocks: blocks, problem: plain)
    }
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

  public static func shape(_ algorithm: AttentionAlgorithmKind, pass: Pass) -> Shape {
    switch (algorithm, pass) {
    case (.flash, _), (.flash2, .backward), (.blockSparse, _): return .keyMajor
    case (.flash2, .forward): return .queryMajor
    case (.standard, _), (.standardUnfused, _): return .square
    }
  }

  /// The number of softmax passes standard attention needs (1 when a row of S fits the SRAM).
  static func rowPasses(_ tiling: (rows: Int, columns: Int, passes: Int)?) -> Int { tiling?.passes ?? 1 }

  /// Exact HBM elements of one head's pass, and the causally skipped blocks (FlashAttention-2).
  /// Block-sparse runs need the head's mask and the sparsity settings.
  public static func closedForm(
    _ algorithm: AttentionAlgorithmKind, pass: Pass, problem: AttentionProblem, blocks: BlockSizes, spec: MachineSpec,
    mask: BlockMask? = nil, sparsity: BlockSparsity? = nil
  ) -> (traffic: TrafficCount, skippedBlocks: Int) {
    let n = problem.sequenceLength
    let d = problem.headDimension
    let capacity = spec.sramCapacityInBytes
    switch (algorithm, pass) {
    case (.blockSparse, _):
      let mask = mask ?? BlockMask(rowBlocks: blocks.queryBlockCount(n), columnBlocks: blocks.keyBlockCount(n), value: true)
      var traffic = BlockSparseAttention.closedForm(
        sequenceLength: n, headDimension: d, blocks: blocks, mask: mask, pass: pass, skipEmptyColumns: sparsity?.skipEmptyColumns ?? false)
      if pass == .forward, case let .topK(k)? = sparsity?.pattern {
        traffic = traffic + TopKBlockSelection.closedForm(sequenceLength: n, headDimension: d, blocks: blocks, keep: k)
      }
      return (traffic, 0)
    case (.flash, .forward): return (FlashAttentionForward.closedForm(sequenceLength: n, headDimension: d, blocks: blocks), 0)
    case (.flash, .backward): return (FlashAttentionBackward.closedForm(sequenceLength: n, headDimension: d, blocks: blocks), 0)
    case (.flash2, .forward):
      return FlashAttention2Forward.closedForm(sequenceLength: n, headDimension: d, blocks: blocks, causal: problem.causal)
    case (.flash2, .backward):
      return FlashAttention2Backward.closedForm(sequenceLength: n, headDimension: d, blocks: blocks, causal: problem.causal)
    case (.standard, .forward):
      let passes = rowPasses(StandardAttentionForward.softmaxTiling(problem: problem, capacityInBytes: capacity))
      return (StandardAttentionForward.closedForm(
        sequenceLength: n, headDimension: d, blocks: blocks, softmaxPasses: passes, dropout: problem.dropoutProbability > 0), 0)
    case (.standard, .backward):
      let passes = rowPasses(StandardAttentionBackward.gradientTiling(problem: problem, capacityInBytes: capacity))
      return (StandardAttentionBackward.closedForm(
        sequenceLength: n, headDimension: d, blocks: blocks, gradientPasses: passes, dropout: problem.dropoutProbability > 0), 0)
    case (.standardUnfused, _):
      var plain = problem
      plain.dropoutProbability = 0
      let softmax = rowPasses(StandardAttentionForward.softmaxTiling(problem: plain, capacityInBytes: capacity))
      let gradient = rowPasses(StandardAttentionBackward.gradientTiling(problem: problem, capacityInBytes: capacity))
      return (UnfusedAttention.closedForm(
        sequenceLength: n, headDimension: d, blocks: blocks, pass: pass == .forward ? .forward : .backward, problem: problem,
        softmaxPasses: softmax, gradientPasses: gradient), 0)
    }
  }

  /// What a forward pass leaves in HBM for its backward pass.
  public enum ForwardState: Sendable {
    case standard(StandardAttentionForward.Outputs)
    case unfused(UnfusedAttention.ForwardOutputs)
    case flash(FlashAttentionForward.Outputs)
    case flash2(FlashAttention2Forward.Outputs)
    /// The forward outputs and the head's context with its block mask.
    case blockSparse(FlashAttentionForward.Outputs, HeadContext)

    /// The head's context as the backward and the reference must see it (with the block mask).
    public func context(_ original: HeadContext) -> HeadContext {
      if case let .blockSparse(_, context) = self { return context }
      return original
    }

    /// O.
    public var output: HBMTensor {
      switch self {
      case let .standard(o): return o.output
      case let .unfused(o): return o.output
      case let .flash(o): return o.output
      case let .flash2(o): return o.output
      case let .blockSparse(o, _): return o.output
      }
    }

    /// Blocks skipped by a causal mask (FlashAttention-2), else 0.
    public var skippedBlocks: Int {
      if case let .flash2(o) = self { return o.skippedBlocks }
      return 0
    }
  }

  /// Runs the forward pass of one head whose Q, K, V are in `machine`'s HBM.
  public static func forward(
    _ algorithm: AttentionAlgorithmKind, on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    blocks: BlockSizes, problem: AttentionProblem, context: HeadContext, sparsity: BlockSparsity? = nil
  ) throws -> ForwardState {
    switch algorithm {
    case .blockSparse:
      let sparsity = sparsity ?? BlockSparsity(pattern: .dense)
      let mask: BlockMask
      if case let .topK(keep) = sparsity.pattern {
        if sparsity.skipEmptyColumns && !machine.executes {
          throw AttentionError.invalidBlocks("topk with skipped empty columns depends on the keys: use --mode execute")
        }
        mask = try TopKBlockSelection.run(on: &machine, queries: q, keys: k, blocks: blocks, problem: problem, keep: keep)
      } else {
        mask = try sparsity.pattern.mask(sequenceLength: problem.sequenceLength, blocks: blocks, seed: problem.seed)
      }
      let masked = context.withBlockMask(mask, blocks: blocks)
      let outputs = try FlashAttentionForward.run(
        on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem, context: masked,
        blockMask: mask, skipEmptyColumns: sparsity.skipEmptyColumns)
      return .blockSparse(outputs, masked)
    case .standard:
      return .standard(try StandardAttentionForward.run(on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem, context: context))
    case .standardUnfused:
      return .unfused(try UnfusedAttention.forward(on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem, context: context))
    case .flash:
      return .flash(try FlashAttentionForward.run(on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem, context: context))
    case .flash2:
      return .flash2(try FlashAttention2Forward.run(on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem, context: context))
    }
  }

  /// Runs the backward pass of one head after `forward`, with dO in HBM.
  public static func backward(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor, state: ForwardState,
    outputGradient dO: HBMTensor, blocks: BlockSizes, problem: AttentionProblem, context: HeadContext,
    sparsity: BlockSparsity? = nil
  ) throws -> FlashAttentionBackward.Gradients {
    switch state {
    case let .blockSparse(f, masked):
      return try FlashAttentionBackward.run(
        on: &machine, queries: q, keys: k, values: v, forward: f, outputGradient: dO, blocks: blocks, problem: problem,
        context: masked, blockMask: masked.blockMask, skipEmptyColumns: sparsity?.skipEmptyColumns ?? false)
    case let .standard(f):
      return try StandardAttentionBackward.run(
        on: &machine, queries: q, keys: k, values: v, forward: f, outputGradient: dO, blocks: blocks, problem: problem, context: context)
    case let .unfused(f):
      return try UnfusedAttention.backward(
        on: &machine, queries: q, keys: k, values: v, forward: f, outputGradient: dO, blocks: blocks, problem: problem, context: context)
    case let .flash(f):
      return try FlashAttentionBackward.run(
        on: &machine, queries: q, keys: k, values: v, forward: f, outputGradient: dO, blocks: blocks, problem: problem, context: context)
    case let .flash2(f):
      return try FlashAttention2Backward.run(
        on: &machine, queries: q, keys: k, values: v, forward: f, outputGradient: dO, blocks: blocks, problem: problem, context: context)
    }
  }
}
