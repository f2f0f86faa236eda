import MemoryHierarchy

/// Block-sparse FlashAttention (FlashAttention §3.3, Algorithm 5, and its backward): Algorithm 1's
/// and Algorithm 4's inner bodies, run only for the blocks (i, j) a block mask keeps. The mask comes
/// from the run's `BlockSparsity` pattern (or is chosen from the keys by top-K selection), and the
/// column policy says whether a column the mask empties still loads K_j, V_j (the literal
/// Algorithm 5) or is skipped.
///
/// With r_i the real rows of block row i (the last may be ragged) and c_j the real keys of block
/// column j, per head:
///
/// - forward: K and V: 2Nd (the literal Algorithm 5 loads K_j, V_j for every column), or
///   2d·Σ over nonempty columns of c_j when empty columns are skipped; plus, per nonzero block,
///   3·r_i·d + 4·r_i (load Q_i, O_i, ℓ_i, m_i; store O_i, ℓ_i, m_i);
/// - backward: K, V loads and dK, dV stores: 4Nd, or 4d·Σ over nonempty columns of c_j; plus, per
///   nonzero block, 5·r_i·d + 2·r_i (load Q_i, O_i, dO_i, dQ_i, ℓ_i, m_i; store dQ_i).
///
/// With a dense mask these are exactly FlashAttention's 2Nd + T_c(3Nd + 4N) and
/// 4Nd + T_c(5Nd + 2N). For a mask of density s on divisible sizes, the forward is
/// 2Nd + s·T_c(3Nd + 4N) = Θ(Nd + s·N²d²/M) (Proposition 4).
public enum BlockSparseAttention {
  /// Algorithm 5.
  public enum Forward: AttentionForwardKernel {
    public static let algorithm = AttentionAlgorithmKind.blockSparse
    public static let usesBlockMask = true
    public static let title = "block-sparse FlashAttention forward (Algorithm 5)"
    public static let algorithmName = "block-sparse FlashAttention (Algorithm 5)"
    public static let summary = "Algorithm 1's inner body for the blocks a block mask keeps (--mask)"
    public static let blockShape = AttentionSchedule.Shape.keyMajor

    public static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
      FlashAttentionForward.tileRequests(blocks: blocks, problem: problem)
    }

    /// Per head; top-K selection adds its two passes (`TopKBlockSelection.closedForm`).
    public static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic {
      let (n, d, blocks) = (setting.n, setting.d, setting.blocks)
      // A dense mask moves exactly what Algorithm 1 moves.
      guard setting.blockMask != nil || setting.sparsity != nil else { return FlashAttentionForward.closedForm(setting) }
      var traffic = BlockSparseAttention.closedForm(
        sequenceLength: n, headDimension: d, blocks: blocks, mask: mask(setting), pass: .forward,
        skipEmptyColumns: setting.sparsity?.skipEmptyColumns ?? false)
      if case let .topK(k)? = setting.sparsity?.pattern {
        traffic = traffic + TopKBlockSelection.closedForm(sequenceLength: n, headDimension: d, blocks: blocks, keep: k)
      }
      return ClosedFormTraffic(traffic)
    }

    /// A section is one outer iteration j over the columns the run visits: it ends with the store
    /// of m for the last block row the mask keeps in column j, or with the load of V_j when it
    /// keeps none.
    public static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String? {
      // Only a store of m or a load of V can end a section: other events need no mask.
      switch event {
      case let .store(t) where t.tensor.operand == .rowMax: break
      case let .load(t) where t.tensor.operand == .value: break
      default: return nil
      }
      let mask = mask(setting)
      let skipping = setting.sparsity?.skipEmptyColumns ?? false
      let columns = (0..<mask.columnBlocks).filter { !skipping || !mask.isColumnEmpty($0) }
      guard index < columns.count else { return nil }
      let j = columns[index]
      let kept = (0..<mask.rowBlocks).filter { mask[$0, j] }
      if let last = kept.last {
        guard case let .store(t) = event, t.tensor.operand == .rowMax,
          t.rowRange.lowerBound == last * setting.blocks.queryBlockSize
        else { return nil }
        return "outer iteration j = \(j): K_j, V_j met the \(kept.count) query block\(kept.count == 1 ? "" : "s") the mask keeps"
      }
      guard case let .load(t) = event, t.tensor.operand == .value else { return nil }
      return "outer iteration j = \(j): K_j, V_j loaded, but the mask keeps no block of this column"
    }

    /// Allocating and freeing the tiles, and loading K_j, V_j for every column the run visits.
    public static func minimumSteps(_ setting: KernelSetting) -> Int {
      2 * tileRequests(blocks: setting.blocks, problem: setting.problem).count + 2 * visitedColumns(setting)
    }

    /// The key-block columns the run visits: every column, or the nonempty ones when skipping.
    static func visitedColumns(_ setting: KernelSetting) -> Int {
      guard setting.sparsity?.skipEmptyColumns == true else { return setting.blocks.keyBlockCount(setting.n) }
      let mask = mask(setting)
      return (0..<mask.columnBlocks).filter { !mask.isColumnEmpty($0) }.count
    }

    public struct Outputs: Sendable {
      public let attention: FlashAttentionForward.Outputs
      /// The head's block mask.
      public let mask: BlockMask
    }

    public static func output(of outputs: Outputs) -> HBMTensor { outputs.attention.output }
    public static func blockMask(of outputs: Outputs) -> BlockMask? { outputs.mask }

    public static func run(on machine: inout Machine, _ inputs: HeadTensors, setting: KernelSetting) throws -> Outputs {
      let sparsity = setting.sparsity ?? BlockSparsity(pattern: .dense)
      let problem = setting.problem
      let blocks = setting.blocks
      let mask: BlockMask
      if case let .topK(keep) = sparsity.pattern {
        if sparsity.skipEmptyColumns && !machine.executes {
          throw AttentionError.invalidBlocks("topk with skipped empty columns depends on the keys: use --mode execute")
        }
        mask = try TopKBlockSelection.run(on: &machine, queries: inputs.queries, keys: inputs.keys, blocks: blocks, problem: problem, keep: keep)
      } else {
        mask = try sparsity.pattern.mask(sequenceLength: problem.sequenceLength, blocks: blocks, seed: problem.seed)
      }
      var masked = setting
      masked.context = setting.context.withBlockMask(mask, blocks: blocks)
      var sweep = try FlashAttentionForward.Sweep(on: &machine, inputs, setting: masked)
      defer { sweep.release() }
      for j in 0..<mask.columnBlocks {
        if sparsity.skipEmptyColumns && mask.isColumnEmpty(j) { continue }
        try sweep.loadKeyBlock(j, on: &machine)
        // Algorithm 5: the whole inner body is guarded by M_ij ≠ 0.
        try sweep.forEachQueryBlock(on: &machine, where: { mask[$0, j] }) { machine, sweep, i in
          try sweep.attend(queryBlock: i, keyBlock: j, on: &machine)
        }
      }
      sweep.free(on: &machine)
      return Outputs(attention: sweep.outputs, mask: mask)
    }

    /// The head's mask for a closed form: the one its forward pass chose, else the pattern's
    /// (top-K in count mode keeps the first K blocks of each row).
    static func mask(_ setting: KernelSetting) -> BlockMask {
      if let mask = setting.blockMask { return mask }
      let blocks = setting.blocks
      let dense = BlockMask(rowBlocks: blocks.queryBlockCount(setting.n), columnBlocks: blocks.keyBlockCount(setting.n), value: true)
      guard let pattern = setting.sparsity?.pattern else { return dense }
      return (try? pattern.mask(sequenceLength: setting.n, blocks: blocks, seed: setting.problem.seed)) ?? dense
    }
  }

  /// The backward of Algorithm 5: Algorithm 4's inner body for the kept blocks.
  public enum Backward: AttentionBackwardKernel {
    public typealias Forward = BlockSparseAttention.Forward
    public static let usesBlockMask = true
    public static let title = "block-sparse FlashAttention backward"
    public static let summary = "Algorithm 4's inner body for the blocks the forward's mask keeps"
    public static let blockShape = AttentionSchedule.Shape.keyMajor

    public static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
      FlashAttentionBackward.tileRequests(blocks: blocks, problem: problem)
    }

    public static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic {
      // A dense mask moves exactly what Algorithm 4 moves.
      guard setting.blockMask != nil || setting.sparsity != nil else { return FlashAttentionBackward.closedForm(setting) }
      return ClosedFormTraffic(BlockSparseAttention.closedForm(
        sequenceLength: setting.n, headDimension: setting.d, blocks: setting.blocks, mask: Forward.mask(setting), pass: .backward,
        skipEmptyColumns: setting.sparsity?.skipEmptyColumns ?? false))
    }

    /// A section is one outer iteration j: it ends with the store of dV_j.
    public static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String? {
      FlashAttentionBackward.sectionTitle(after: event, index: index, setting: setting)
    }

    /// Allocating and freeing the tiles, and for every visited column: load K_j, V_j, zero dK_j,
    /// dV_j, store them.
    public static func minimumSteps(_ setting: KernelSetting) -> Int {
      2 * tileRequests(blocks: setting.blocks, problem: setting.problem).count + 5 * Forward.visitedColumns(setting)
    }

    public static func run(
      on machine: inout Machine, _ inputs: HeadTensors, forward: Forward.Outputs, setting: KernelSetting
    ) throws -> AttentionGradients {
      let mask = forward.mask
      let skipEmptyColumns = setting.sparsity?.skipEmptyColumns ?? false
      var sweep = try FlashAttentionBackward.Sweep(on: &machine, inputs, forward: forward.attention, setting: setting)
      defer { sweep.release() }
      for j in 0..<mask.columnBlocks {
        // An empty column's dK_j, dV_j stay at their initial 0 when empty columns are skipped.
        if skipEmptyColumns && mask.isColumnEmpty(j) { continue }
        try sweep.beginKeyBlock(j, on: &machine)
        for i in 0..<mask.rowBlocks where mask[i, j] {
          try sweep.attend(queryBlock: i, keyBlock: j, on: &machine)
        }
        try sweep.endKeyBlock(j, on: &machine)
      }
      sweep.free(on: &machine)
      return sweep.gradients
    }
  }

  public static func closedForm(
    sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, mask: BlockMask, pass: AttentionSchedule.Pass,
    skipEmptyColumns: Bool
  ) -> TrafficCount {
    let rows = { (i: Int) in min(n, (i + 1) * blocks.queryBlockSize) - i * blocks.queryBlockSize }
    let columns = { (j: Int) in min(n, (j + 1) * blocks.keyBlockSize) - j * blocks.keyBlockSize }
    var keyRows = n
    if skipEmptyColumns {
      keyRows = (0..<mask.columnBlocks).filter { !mask.isColumnEmpty($0) }.reduce(0) { $0 + columns($1) }
    }
    var reads = 0
    var writes = 0
    for i in 0..<mask.rowBlocks {
      for j in 0..<mask.columnBlocks where mask[i, j] {
        let r = rows(i)
        if pass == .forward {
          reads += 2 * r * d + 2 * r
          writes += r * d + 2 * r
        } else {
          reads += 4 * r * d + 2 * r
          writes += r * d
        }
      }
    }
    if pass == .forward {
      reads += 2 * keyRows * d
    } else {
      reads += 2 * keyRows * d
      writes += 2 * keyRows * d
    }
    return TrafficCount(readElements: reads, writeElements: writes)
  }
}
