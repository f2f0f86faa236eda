import MemoryHierarchy

/// The shape of a paged KV cache: a pool of `blockCount` physical blocks, each holding the K and
/// V vectors of `blockSize` tokens for `keyValueHeads` heads of dimension `headDimension`.
///
/// Complete at `init`: sizes are validated once, so a configuration can key a report.
///
/// One block costs 2·B·h_kv·d·b bytes (K and V, b = element width); one token 2·h_kv·d·b per layer.
public struct KVCacheConfiguration: Hashable, Sendable {
  /// B, tokens per block (vLLM's default is 16).
  public let blockSize: Int
  /// Physical blocks in the pool.
  public let blockCount: Int
  /// h_kv, KV heads stored per token.
  public let keyValueHeads: Int
  /// d, width of every key and value vector.
  public let headDimension: Int
  /// Storage precision of K and V.
  public let elementType: ElementType

  /// vLLM's default block size, `CacheConfig.DEFAULT_BLOCK_SIZE` (vLLM §7.2).
  public static let defaultBlockSize = 16

  /// - Throws: `PagedKVError.invalidConfiguration` when a size is not positive.
  public init(
    blockSize: Int = KVCacheConfiguration.defaultBlockSize, blockCount: Int, keyValueHeads: Int = 1,
    headDimension: Int, elementType: ElementType = .fp16
  ) throws {
    for (name, value) in [
      ("block size", blockSize), ("block count", blockCount), ("KV heads", keyValueHeads),
      ("head dimension", headDimension),
    ] where value <= 0 {
      throw PagedKVError.invalidConfiguration("\(name) must be positive, got \(value)")
    }
    self.blockSize = blockSize
    self.blockCount = blockCount
    self.keyValueHeads = keyValueHeads
    self.headDimension = headDimension
    self.elementType = elementType
  }

  /// Elements of K (or of V) in one physical block: B·h_kv·d.
  public var elementsPerBlockPerTensor: Int { blockSize * keyValueHeads * headDimension }

  /// Bytes of one physical block, K and V together: 2·B·h_kv·d·b.
  public var bytesPerBlock: Int { 2 * elementsPerBlockPerTensor * elementType.byteWidth }

  /// Row of the pool tensor holding (physical block, KV head, slot).
  ///
  /// The pool is a `(blockCount·h_kv·B) × d` matrix per tensor (K or V): the K data of one
  /// (block, head) pair is one contiguous B×d tile, as in vLLM's
  /// `[num_blocks, num_kv_heads, …, block_size]` layouts, so a kernel gathers a block with one load.
  @inlinable
  public func poolRow(block: Int, head: Int, slot: Int) -> Int {
    (block * keyValueHeads + head) * blockSize + slot
  }
}
