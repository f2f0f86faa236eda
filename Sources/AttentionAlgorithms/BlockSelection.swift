import MemoryHierarchy

/// Chooses block sizes for a schedule: explicit sizes, the paper's literal rule, or the largest
/// blocks of the paper's proportions that fit (the default). Every choice is checked against
/// the SRAM with the schedule's own tile plan, so a choice that is accepted here never overflows
/// at run time, and one that is refused gets an error that names the tile, the bytes, the
/// capacity and blocks that would fit.
public enum BlockSelection {
  /// The SRAM tiles `algorithm` keeps at once with these blocks (the plan that must fit).
  public static func tilePlan(_ algorithm: AttentionAlgorithmKind, blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    switch algorithm {
    case .flash: return FlashAttentionForward.tilePlan(blocks: blocks, problem: problem)
    case .standard: return StandardAttentionForward.matmulPlan(blocks: blocks, problem: problem, phase: 1)
    }
  }

  /// M in elements of the data type: the SRAM capacity divided by the element width.
  public static func sramElements(_ spec: MachineSpec, _ problem: AttentionProblem) -> Int {
    spec.sramCapacityInBytes / problem.dataType.byteWidth
  }

  /// The blocks a run will use.
  /// - Throws: `AttentionError.invalidBlocks` for non-positive sizes,
  ///   `AttentionError.blocksDoNotFit` when the blocks overflow the SRAM (with a suggestion),
  ///   `AttentionError.noBlocksFit` when not even 1×1 blocks fit.
  public static func choose(
    _ algorithm: AttentionAlgorithmKind, problem: AttentionProblem, spec: MachineSpec,
    rule: BlockRule = .fit, explicit: BlockSizes? = nil
  ) throws -> BlockSizes {
    let n = problem.sequenceLength
    let requested: BlockSizes
    if let explicit {
      guard explicit.queryBlockSize > 0, explicit.keyBlockSize > 0 else {
        throw AttentionError.invalidBlocks("block sizes must be positive, got \(explicit)")
      }
      requested = explicit.clamped(to: n)
    } else if rule == .paper {
      requested = BlockSizes.paperRule(sramElements: sramElements(spec, problem), headDimension: problem.headDimension)
        .clamped(to: n)
    } else {
      return try largestFitting(algorithm, problem: problem, spec: spec)
    }
    do {
      try checkFits(tilePlan(algorithm, blocks: requested, problem: problem), spec: spec)
    } catch let error as MachineError {
      let suggestion = try? largestFitting(algorithm, problem: problem, spec: spec)
      throw AttentionError.blocksDoNotFit(reason: error, blocks: requested, suggestion: suggestion)
    }
    return requested
  }

  /// The `fit` rule.
  ///
  /// - FlashAttention: the largest Bc ≤ min(⌈M/4d⌉, N) such that, with Br = min(Bc, d, N) (the
  ///   paper's proportions), the whole tile plan fits. When the paper's rule fits, this is the
  ///   paper's rule.
  /// - Standard attention: square matmul tiles Br = Bc = b, the largest b ≤ N that fits
  ///   (Q_i, K_j, S_ij on chip), since its re-reads fall as T_r = ⌈N/b⌉ falls.
  public static func largestFitting(_ algorithm: AttentionAlgorithmKind, problem: AttentionProblem, spec: MachineSpec) throws -> BlockSizes {
    let n = problem.sequenceLength
    let d = problem.headDimension
    let capacity = spec.sramCapacityInBytes
    let candidate: (Int) -> BlockSizes
    let upper: Int
    switch algorithm {
    case .flash:
      upper = min(BlockSizes.paperRule(sramElements: sramElements(spec, problem), headDimension: d).keyBlockSize, n)
      candidate = { BlockSizes(queryBlockSize: min($0, d, n), keyBlockSize: $0) }
    case .standard:
      upper = n
      candidate = { BlockSizes(queryBlockSize: $0, keyBlockSize: $0) }
    }
    let fits: (Int) -> Bool = { planBytes(tilePlan(algorithm, blocks: candidate($0), problem: problem)) <= capacity }
    guard fits(1) else {
      throw AttentionError.noBlocksFit(
        minimumBytes: planBytes(tilePlan(algorithm, blocks: candidate(1), problem: problem)),
        capacityBytes: capacity, algorithm: algorithm.displayName)
    }
    // Plan bytes grow with the block size: binary search for the largest that fits.
    var low = 1
    var high = max(upper, 1)
    while low < high {
      let mid = (low + high + 1) / 2
      if fits(mid) { low = mid } else { high = mid - 1 }
    }
    return candidate(low)
  }
}
