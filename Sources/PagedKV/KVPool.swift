import AttentionAlgorithms
import MemoryHierarchy

/// The physical KV blocks in a machine's HBM: one K tensor and one V tensor of
/// `(blockCount·h_kv·B) × d` elements each (see `KVCacheConfiguration.poolRow`), so the K (or V)
/// data of one (block, KV head) pair is one contiguous B×d tile.
public struct KVPool: Sendable {
  public let configuration: KVCacheConfiguration
  /// The K pool (operand K).
  public let keys: HBMTensor
  /// The V pool (operand V).
  public let values: HBMTensor

  /// Places a pool in `machine`'s HBM. Placement is not traffic. In execute mode the pools hold
  /// `keyContents` / `valueContents` (row-major, `poolRow` order) or `fill` everywhere; unwritten
  /// slots keep `fill`, and NaN (the default) makes any read of a slot outside a sequence visible.
  public static func allocate(
    on machine: inout Machine, configuration: KVCacheConfiguration, keyContents: [Float]? = nil,
    valueContents: [Float]? = nil, fill: Float = .nan
  ) throws -> KVPool {
    let rows = configuration.blockCount * configuration.keyValueHeads * configuration.blockSize
    let keys = try machine.allocateTensor(
      "K pool", operand: .key, rows: rows, columns: configuration.headDimension,
      elementType: configuration.elementType, contents: keyContents, fill: fill)
    let values = try machine.allocateTensor(
      "V pool", operand: .value, rows: rows, columns: configuration.headDimension,
      elementType: configuration.elementType, contents: valueContents, fill: fill)
    return KVPool(configuration: configuration, keys: keys, values: values)
  }

  /// Pool rows of the B×d tile of (physical block, KV head).
  public func rows(block: Int, head: Int) -> Range<Int> {
    let first = configuration.poolRow(block: block, head: head, slot: 0)
    return first..<(first + configuration.blockSize)
  }

  /// Does a copy-on-write copy on the machine (vLLM's block engine): for every KV head, loads the
  /// source block's K and V tiles and stores them into the destination block.
  ///
  /// - Complexity: HBM reads 2·h_kv·B·d elements and writes as many (`copyTraffic`).
  /// - Throws: `MachineError` if the staging tile does not fit the SRAM.
  public func copyBlock(_ copy: BlockCopy, on machine: inout Machine) throws {
    let c = configuration
    let tile = try machine.allocateTile(
      "KV block copy", operand: .key, rows: c.blockSize, columns: c.headDimension, elementType: c.elementType)
    defer { machine.free(tile) }
    for head in 0..<c.keyValueHeads {
      for tensor in [keys, values] {
        try machine.load(tensor, rows: rows(block: copy.source, head: head), into: tile)
        try machine.store(tile, into: tensor, rows: rows(block: copy.destination, head: head))
      }
    }
  }

  /// Exact HBM elements of one `copyBlock`: reads 2·h_kv·B·d, writes 2·h_kv·B·d.
  public static func copyTraffic(_ configuration: KVCacheConfiguration) -> TrafficCount {
    let elements = 2 * configuration.elementsPerBlockPerTensor
    return TrafficCount(readElements: elements, writeElements: elements)
  }
}
