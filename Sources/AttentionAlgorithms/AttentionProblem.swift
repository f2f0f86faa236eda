import MemoryHierarchy

/// One attention problem: batch × heads independent heads, each with Q, K, V ∈ R^{N×d}.
///
/// Batch and heads repeat the same schedule, so per-head counts multiply by `batch · heads`.
public struct AttentionProblem: Hashable, Sendable {
  public var batch: Int
  public var heads: Int
  /// N, the number of queries and keys.
  public var sequenceLength: Int
  /// d, the width of every query, key and value.
  public var headDimension: Int
  /// Storage precision of Q, K, V, O, S, P in HBM (default fp16, as in the paper's experiments).
  public var dataType: ElementType
  /// Storage precision of the softmax statistics ℓ, m (and L).
  public var statisticsType: ElementType
  /// τ in S = τ·QKᵀ; nil means 1/√d.
  public var scale: Float?
  /// Seed for the random inputs of execute mode and for the dropout mask.
  public var seed: UInt64
  /// Causal mask: query i sees keys 0…i.
  public var causal: Bool
  /// Key-padding mask: batch entry b sees keys 0..<validLengths[b]; nil means all N keys.
  public var validLengths: [Int]?
  /// Dropout probability p in [0, 1): each P entry is kept with probability 1 − p and scaled by
  /// 1/(1 − p) (Algorithm 2).
  public var dropoutProbability: Float
  /// How execute mode draws its random inputs (`--input-distribution`).
  public var inputDistribution: InputDistribution = .normal

  /// - Throws: `AttentionError.invalidProblem` when a size is not positive, a valid length is
  ///   outside 0…N or their count is not the batch size, or p is outside [0, 1).
  public init(
    batch: Int = 1, heads: Int = 1, sequenceLength: Int, headDimension: Int,
    dataType: ElementType = .fp16, statisticsType: ElementType = .fp32, scale: Float? = nil,
    seed: UInt64 = 0, causal: Bool = false, validLengths: [Int]? = nil, dropoutProbability: Float = 0
  ) throws {
    for (name, value) in [("batch", batch), ("heads", heads), ("sequence length", sequenceLength), ("head dimension", headDimension)]
    where value <= 0 {
      throw AttentionError.invalidProblem("\(name) must be positive, got \(value)")
    }
    guard ElementType.floatingPoint.contains(dataType), ElementType.floatingPoint.contains(statisticsType) else {
      throw AttentionError.invalidProblem("data and statistics types must be fp32, fp16 or bf16")
    }
    do {
      try SimulationLimits.checkProblem(
        batch: batch, heads: heads, sequenceLength: sequenceLength, headDimension: headDimension, byteWidth: dataType.byteWidth)
    } catch let error as SizeLimitError {
      throw AttentionError.invalidProblem(error.description)
    }
    if let scale, !scale.isFinite {
      throw AttentionError.invalidProblem("scale must be finite, got \(scale)")
    }
    self.batch = batch
    self.heads = heads
    self.sequenceLength = sequenceLength
    self.headDimension = headDimension
    self.dataType = dataType
    self.statisticsType = statisticsType
    self.scale = scale
    self.seed = seed
    if let validLengths {
      guard validLengths.count == batch else {
        throw AttentionError.invalidProblem("expected \(batch) valid lengths (one per batch entry), got \(validLengths.count)")
      }
      if let bad = validLengths.first(where: { $0 < 0 || $0 > sequenceLength }) {
        throw AttentionError.invalidProblem("valid length \(bad) is outside 0…\(sequenceLength)")
      }
    }
    guard dropoutProbability >= 0, dropoutProbability < 1 else {
      throw AttentionError.invalidProblem("dropout probability must be in [0, 1), got \(dropoutProbability)")
    }
    self.causal = causal
    self.validLengths = validLengths
    self.dropoutProbability = dropoutProbability
  }

  /// The masks and dropout stream of head number `head` (0 ..< batch·heads, batch-major).
  public func headContext(_ head: Int) -> HeadContext {
    let b = head / heads
    return HeadContext(
      batchIndex: b, headIndex: head % heads, sequenceLength: sequenceLength, causal: causal,
      validKeys: validLengths?[b] ?? sequenceLength,
      dropout: DropoutMask(seed: seed, probability: dropoutProbability, batch: b, head: head % heads))
  }

  /// Whether any head has a mask (causal or key padding).
  public var isMasked: Bool {
    causal || (validLengths?.contains { $0 < sequenceLength } ?? false)
  }

  /// batch · heads.
  public var headCount: Int { batch * heads }

  /// τ: the given scale or 1/√d.
  public var softmaxScale: Float { scale ?? 1 / Float(headDimension).squareRoot() }
}

/// Errors of the attention layer; each prints as one line.
public enum AttentionError: Error, Equatable, Sendable, CustomStringConvertible {
  case invalidProblem(String)
  case invalidBlocks(String)
  /// The requested (or rule-given) blocks do not fit the SRAM. `suggestion` is the largest blocks
  /// of the paper's proportions that do fit, if any do.
  case blocksDoNotFit(reason: MachineError, blocks: BlockSizes, suggestion: BlockSizes?)
  case noBlocksFit(minimumBytes: Int, capacityBytes: Int, algorithm: String)

  public var description: String {
    switch self {
    case let .invalidProblem(s): return "invalid problem: \(s)"
    case let .invalidBlocks(s): return "invalid blocks: \(s)"
    case let .blocksDoNotFit(reason, blocks, suggestion):
      let hint = suggestion.map { "; blocks that fit: --block-rows \($0.queryBlockSize) --block-cols \($0.keyBlockSize)" } ?? ""
      return "\(reason) [blocks Br=\(blocks.queryBlockSize), Bc=\(blocks.keyBlockSize)]\(hint)"
    case let .noBlocksFit(minimum, capacity, algorithm):
      return "SRAM too small for \(algorithm): even 1×1 blocks need \(minimum) bytes, but the SRAM capacity is \(capacity) bytes"
    }
  }
}
