/// What `KVCacheManager.appendToken(to:)` did: where the new token goes, and whether a block was
/// allocated for it or copied for it (copy-on-write).
public struct AppendOutcome: Hashable, Sendable {
  /// Where the new token's K and V must be written.
  public let slot: TokenSlot
  /// A fresh physical block mapped because the last block was full (or the table was empty).
  public let newBlock: Int?
  /// The copy the block engine must do before the write: the last block was shared (reference
  /// count > 1), so it was copied into a fresh block that now replaces it in this table (vLLM §4.4).
  public let copy: BlockCopy?

  public init(slot: TokenSlot, newBlock: Int?, copy: BlockCopy?) {
    self.slot = slot
    self.newBlock = newBlock
    self.copy = copy
  }
}

/// A physical block copy `source → destination` requested by copy-on-write.
public struct BlockCopy: Hashable, Sendable, CustomStringConvertible {
  public let source: Int
  public let destination: Int

  public init(source: Int, destination: Int) {
    self.source = source
    self.destination = destination
  }

  public var description: String { "copy block \(source) → \(destination)" }
}
