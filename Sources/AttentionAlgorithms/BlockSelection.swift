import MemoryHierarchy

/// Chooses block sizes for a schedule: explicit sizes, the paper's literal rule, or the largest
/// blocks of the paper's proportions that fit (the default). Every choice is checked against
/// the SRAM with the pass's own tile plan, so a choice that is accepted here never overflows
/// at run time, and one that is refused gets an error that names the tile, the bytes, the
/// capacity and blocks that would fit.
public enum BlockSelection {
  /// The SRAM tiles of the forward pass of `algorithm` with these blocks.
  public static func tilePlan(_ algorithm: AttentionAlgorithmKind, blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    AttentionSchedule.tilePlan(algorithm, pass: .forward, blocks: blocks, problem: problem)
  }

  /// M in elements of the data type: the SRAM capacity divided by the element width.
  public static func sramElements(_ spec: MachineSpec, _ problem: AttentionProblem) -> Int {
    spec.sramCapacityInBytes / problem.dataType.byteWidth
  }

  /// The paper's rule for a pass: Bc = ⌈M/4d⌉, Br = min(⌈M/4d⌉, d); mirrored (Br large, Bc ≤ d)
  /// for FlashAttention-2's forward, whose outer loop runs over query blocks.
  public static func paperBlocks(_ algorithm: AttentionAlgorithmKind, pass: AttentionSchedule.Pass, problem: AttentionProblem, spec: MachineSpec) -> BlockSizes {
    let rule = BlockSizes.paperRule(sramElements: sramElements(spec, problem), headDimension: problem.headDimension)
    if AttentionSchedule.shape(algorithm, pass: pass) == .queryMajor {
      return BlockSizes(queryBlockSize: rule.keyBlockSize, keyBlockSize: rule.queryBlockSize)
    }
    return rule
  }

  /// The blocks a pass will use.
  /// - Throws: `AttentionError.invalidBlocks` for non-positive sizes,
  ///   `AttentionError.blocksDoNotFit` when the blocks overflow the SRAM (with a suggestion),
  ///   `AttentionError.noBlocksFit` when not even 1×1 blocks fit.
  public static func choose(
    _ algorithm: AttentionAlgorithmKind, pass: AttentionSchedule.Pass = .forward, problem: AttentionProblem, spec: MachineSpec,
    rule: BlockRule = .fit, explicit: BlockSizes? = nil
  ) throws -> BlockSizes {
    try SimulationLimits.checkAlgorithm(algorithm, problem: problem)
    let n = problem.sequenceLength
    let requested: BlockSizes
    if let explicit {
      guard explicit.queryBlockSize > 0, explicit.keyBlockSize > 0 else {
        throw AttentionError.invalidBlocks("block sizes must be positive, got \(explicit)")
      }
      requested = explicit.clamped(to: n)
    } else if rule == .paper {
      requested = paperBlocks(algorithm, pass: pass, problem: problem, spec: spec).clamped(to: n)
    } else {
      return try largestFitting(algorithm, pass: pass, problem: problem, spec: spec)
    }
    do {
      try checkFits(AttentionSchedule.tilePlan(algorithm, pass: pass, blocks: requested, problem: problem), spec: spec)
    } catch let error as MachineError {
      let suggestion = try? largestFitting(algorithm, pass: pass, problem: problem, spec: spec)
      throw AttentionError.blocksDoNotFit(reason: error, blocks: requested, suggestion: suggestion)
    }
    return requested
  }

  /// Whether a pass's tile plan with these blocks fits with every accumulator in the register file
  /// (or everything in the SRAM on a machine without one), that is, without spilling.
  public static func fitsWithoutSpills(
    _ algorithm: AttentionAlgorithmKind, pass: AttentionSchedule.Pass = .forward, blocks: BlockSizes, problem: AttentionProblem, spec: MachineSpec
  ) -> Bool {
    fits(AttentionSchedule.tilePlan(algorithm, pass: pass, blocks: blocks.clamped(to: problem.sequenceLength), problem: problem), spec: spec)
  }

  /// The `fit` rule.
  ///
  /// - FlashAttention (both passes) and FlashAttention-2's backward: the largest Bc ≤
  ///   min(⌈M/4d⌉, N) such that, with Br = min(Bc, d, N) (the paper's proportions), the pass's
  ///   whole tile plan fits: its SRAM tiles in the SRAM and its accumulators in the register file
  ///   (or everything in the SRAM on a machine without one). When the paper's rule fits, this is
  ///   the paper's rule.
  /// - FlashAttention-2's forward: the mirror image (the largest Br, with Bc = min(Br, d, N)),
  ///   since its outer loop streams query blocks and its traffic falls with T_r.
  /// - Standard attention: square matmul tiles Br = Bc = b, the largest b ≤ N that fits, since
  ///   its re-reads fall as T_r and T_c fall.
  public static func largestFitting(
    _ algorithm: AttentionAlgorithmKind, pass: AttentionSchedule.Pass = .forward, problem: AttentionProblem, spec: MachineSpec
  ) throws -> BlockSizes {
    try SimulationLimits.checkAlgorithm(algorithm, problem: problem)
    let n = problem.sequenceLength
    let d = problem.headDimension
    let capacity = spec.sramCapacityInBytes
    let paper = BlockSizes.paperRule(sramElements: sramElements(spec, problem), headDimension: d).keyBlockSize
    let candidate: (Int) -> BlockSizes
    let upper: Int
    switch AttentionSchedule.shape(algorithm, pass: pass) {
    case .keyMajor:
      upper = min(paper, n)
      candidate = { BlockSizes(queryBlockSize: min($0, d, n), keyBlockSize: $0) }
    case .queryMajor:
      upper = min(paper, n)
      candidate = { BlockSizes(queryBlockSize: $0, keyBlockSize: min($0, d, n)) }
    case .square:
      upper = n
      candidate = { BlockSizes(queryBlockSize: $0, keyBlockSize: $0) }
    }
    let plan = { AttentionSchedule.tilePlan(algorithm, pass: pass, blocks: candidate($0), problem: problem) }
    // Accumulators in the register file where they fit; only when not even 1×1 blocks keep them
    // there (a register file smaller than one accumulator row) are spills to the SRAM allowed.
    let allowingSpills = !fits(plan(1), spec: spec)
    guard fits(plan(1), spec: spec, allowingSpills: allowingSpills) else {
      throw AttentionError.noBlocksFit(minimumBytes: sramBytes(plan(1), spec: spec), capacityBytes: capacity, algorithm: algorithm.displayName)
    }
    // SRAM and register use grow with the block size: binary search for the largest that fits.
    var low = 1
    var high = max(upper, 1)
    while low < high {
      let mid = (low + high + 1) / 2
      if fits(plan(mid), spec: spec, allowingSpills: allowingSpills) { low = mid } else { high = mid - 1 }
    }
    return candidate(low)
  }
}
