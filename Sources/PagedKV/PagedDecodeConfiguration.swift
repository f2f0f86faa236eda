import MemoryHierarchy

/// The shape of one paged decode step: block size, head sizes, split count, precision.
///
/// Complete at `init` (validated once). Symbols: B = `blockSize`, d = `headDimension`,
/// h_q = `queryHeads`, h_kv = `keyValueHeads`, G = h_q/h_kv, S = `splits`.
public struct PagedDecodeConfiguration: Hashable, Sendable {
  /// B, tokens per KV block.
  public let blockSize: Int
  /// d.
  public let headDimension: Int
  /// h_q, query heads per sequence.
  public let queryHeads: Int
  /// h_kv, KV heads per sequence; h_q must be a multiple (h_kv = h_q: MHA, 1: MQA, else GQA).
  public let keyValueHeads: Int
  /// S, the number of KV partitions of split-KV decoding (Flash-Decoding); 1 = no split. A
  /// sequence of ⌈L/B⌉ blocks uses P = min(S, ⌈L/B⌉) partitions of whole blocks.
  public let splits: Int
  /// How a shared KV head is read (default: once per query head, like vLLM's legacy kernel).
  public let keyValueReads: KeyValueReads
  /// Storage precision of Q, K, V and O in HBM.
  public let dataType: ElementType
  /// τ in s = τ·q·kᵀ; nil means 1/√d.
  public let scale: Float?

  /// Block-table entries are int32 on a GPU; they are stored here as fp32 elements (4 bytes, and
  /// exact for block indices below 2²⁴), so their byte counts are those of int32.
  public static let blockTableType: ElementType = .fp32
  /// Partial outputs and their logsumexps are fp32, as FlashAttention-2's `out_accum` and
  /// vLLM v2's temporary buffers are.
  public static let accumulatorType: ElementType = .fp32
  /// Block-table entries a work item loads per transfer (a small SRAM staging tile; the count of
  /// entries read does not depend on it).
  public static let blockTableChunk = 64

  /// The largest block size, head dimension, head count or split count accepted (2²⁰), so loops
  /// and counts stay bounded.
  public static let maximumSize = 1 << 20

  /// - Throws: `PagedKVError.invalidConfiguration` when a size is not in 1…2²⁰, h_q is not a
  ///   multiple of h_kv, or the scale is not finite.
  public init(
    blockSize: Int = KVCacheConfiguration.defaultBlockSize, headDimension: Int, queryHeads: Int = 1,
    keyValueHeads: Int = 1, splits: Int = 1, keyValueReads: KeyValueReads = .perQueryHead,
    dataType: ElementType = .fp16, scale: Float? = nil
  ) throws {
    for (name, value) in [
      ("block size", blockSize), ("head dimension", headDimension), ("query heads", queryHeads),
      ("KV heads", keyValueHeads), ("splits", splits),
    ] where value <= 0 || value > PagedDecodeConfiguration.maximumSize {
      throw PagedKVError.invalidConfiguration("\(name) must be in 1…\(PagedDecodeConfiguration.maximumSize), got \(value)")
    }
    guard queryHeads % keyValueHeads == 0 else {
      throw PagedKVError.invalidConfiguration(
        "query heads (\(queryHeads)) must be a multiple of KV heads (\(keyValueHeads))")
    }
    if let scale, !scale.isFinite { throw PagedKVError.invalidConfiguration("scale must be finite, got \(scale)") }
    self.blockSize = blockSize
    self.headDimension = headDimension
    self.queryHeads = queryHeads
    self.keyValueHeads = keyValueHeads
    self.splits = splits
    self.keyValueReads = keyValueReads
    self.dataType = dataType
    self.scale = scale
  }

  /// G = h_q/h_kv, query heads per KV head.
  public var groupSize: Int { queryHeads / keyValueHeads }

  /// W, work items (thread blocks) per sequence and partition: h_q per query head, h_kv per KV head.
  public var workItemsPerSequence: Int {
    keyValueReads == .perQueryHead ? queryHeads : keyValueHeads
  }

  /// r = h_q/W, query rows per work item: 1 or G.
  public var rowsPerWorkItem: Int { queryHeads / workItemsPerSequence }

  /// τ: the given scale or 1/√d.
  public var softmaxScale: Float { scale ?? 1 / Float(headDimension).squareRoot() }

  /// ⌈L/B⌉, blocks of a context of L tokens.
  public func blockCount(contextLength: Int) -> Int {
    BlockTable.blocksNeeded(tokens: contextLength, blockSize: blockSize)
  }

  /// P = min(S, ⌈L/B⌉), partitions used for a context of L tokens.
  public func partitions(contextLength: Int) -> Int {
    min(splits, blockCount(contextLength: contextLength))
  }

  /// Logical blocks of partition p when ⌈L/B⌉ = n blocks are cut into P: [⌊pn/P⌋, ⌊(p+1)n/P⌋),
  /// so partitions differ by at most one block and none is empty.
  public static func partition(_ p: Int, of partitions: Int, blocks n: Int) -> Range<Int> {
    (p * n / partitions)..<((p + 1) * n / partitions)
  }

  /// The KV cache this step reads: `blockCount` blocks of B tokens for h_kv heads of dimension d.
  public func cacheConfiguration(blockCount: Int) throws -> KVCacheConfiguration {
    try KVCacheConfiguration(
      blockSize: blockSize, blockCount: blockCount, keyValueHeads: keyValueHeads, headDimension: headDimension,
      elementType: dataType)
  }
}
