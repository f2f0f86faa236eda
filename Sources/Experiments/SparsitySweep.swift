import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy

/// Block-sparse FlashAttention over a list of mask patterns at one problem size: what each
/// pattern saves in HBM traffic and what it costs in accuracy against dense attention
/// (`attention-io sparsity-sweep`). All patterns use the same blocks, so traffic differences come
/// from the masks alone.
public enum SparsitySweep {
  /// The default patterns of the sweep.
  public static let defaultPatterns: [BlockMaskPattern] = [
    .dense, .causal, .local(width: 4), .local(width: 2), .strided(stride: 4), .butterfly,
    .globalLocal(global: 1, window: 2), .sinksWindow(sinks: 1, window: 4), .topK(4),
    .random(density: 0.5), .random(density: 0.25), .random(density: 0.1),
  ]

  public struct Row: Sendable {
    public let pattern: String
    public let nonzeroBlocks: Int
    public let totalBlocks: Int
    public var density: Double { Double(nonzeroBlocks) / Double(max(totalBlocks, 1)) }
    /// HBM elements of the reported passes, all heads.
    public let hbmElements: Int
    /// HBM elements minus the pattern-independent 2Nd (forward) per head: proportional to the
    /// nonzero blocks when N is a multiple of the blocks.
    public let elementsMinusBase: Int
    public let estimatedSeconds: Double
    /// Execute mode: ‖O − O_dense‖_F / ‖O_dense‖_F.
    public let relativeErrorVsDense: Double?
    /// Execute mode: max relative error against float64 attention with the same mask.
    public let maxRelativeError: Double?
    /// The first head's mask, one line per block row (`#` computed, `.` skipped).
    public let picture: String
  }

  /// Runs one simulation per pattern. `base` is `request` with algorithm and sparsity replaced.
  public static func run(_ base: SimulationRequest, patterns: [BlockMaskPattern]) throws -> (blocks: BlockSizes, rows: [Row]) {
    var rows: [Row] = []
    var blocks = BlockSizes(queryBlockSize: 1, keyBlockSize: 1)
    let n = base.problem.sequenceLength
    let d = base.problem.headDimension
    for (index, pattern) in patterns.enumerated() {
      var request = base
      if let progress = base.progress {
        // One line over the whole sweep: pattern `index` of `patterns.count`.
        let count = patterns.count
        request.progress = { done, total in
          progress(SizeLimits.saturatingSum(SizeLimits.saturatingProduct(index, total), done), SizeLimits.saturatingProduct(count, total))
        }
      }
      request.algorithm = .blockSparse
      request.sparsity = BlockSparsity(pattern: pattern, skipEmptyColumns: base.sparsity?.skipEmptyColumns ?? false)
      let result = try Simulator.run(request)
      blocks = result.blocks
      let mask = result.mask!
      // The pattern-independent part: K and V (and dK, dV) once, per head.
      let perHeadBase = request.pass == .forward ? 2 * n * d : request.pass == .backward ? 4 * n * d : 6 * n * d
      let skipped = request.sparsity?.skipEmptyColumns == true
      rows.append(Row(
        pattern: pattern.description, nonzeroBlocks: mask.nonzeroBlocks, totalBlocks: mask.totalBlocks,
        hbmElements: result.ledger.hbmElements,
        elementsMinusBase: result.headLedger.hbmElements - (skipped ? 0 : perHeadBase),
        estimatedSeconds: result.estimate.estimatedSeconds, relativeErrorVsDense: result.relativeErrorVsDense,
        maxRelativeError: result.maxRelativeError, picture: result.blockMask?.description ?? ""))
    }
    return (blocks, rows)
  }
}
