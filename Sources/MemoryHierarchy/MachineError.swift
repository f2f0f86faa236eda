/// Errors raised by the simulated machine and its specification. Every case prints as one line
/// that says what was asked, what the limit is and what to change.
public enum MachineError: Error, Equatable, Sendable, CustomStringConvertible {
  /// An SRAM allocation did not fit: the tile, the bytes asked for, the capacity, the bytes in
  /// use and the tiles holding them.
  case sramOverflow(
    tile: String, requestedBytes: Int, capacityBytes: Int, inUseBytes: Int, residentTiles: [String])
  /// A register-file allocation did not fit (same fields as `sramOverflow`).
  case registerOverflow(
    tile: String, requestedBytes: Int, capacityBytes: Int, inUseBytes: Int, residentTiles: [String])
  /// A transfer or access fell outside a tensor or tile.
  case outOfBounds(String)
  /// A count did not fit in 64 bits.
  case countOverflow(what: String)
  /// A machine specification is invalid: the field and what is wrong with it.
  case invalidSpecification(field: String, reason: String)

  public var description: String {
    switch self {
    case let .sramOverflow(tile, requested, capacity, inUse, resident):
      let holders = resident.isEmpty ? "" : " (\(resident.joined(separator: ", ")))"
      return "SRAM overflow: tile \(tile) needs \(requested) bytes, but the SRAM capacity is "
        + "\(capacity) bytes and \(inUse) bytes are already in use\(holders)"
    case let .registerOverflow(tile, requested, capacity, inUse, resident):
      let holders = resident.isEmpty ? "" : " (\(resident.joined(separator: ", ")))"
      return "register file overflow: tile \(tile) needs \(requested) bytes, but the register file holds "
        + "\(capacity) bytes and \(inUse) bytes are already in use\(holders)"
    case let .outOfBounds(what):
      return "out of bounds: \(what)"
    case let .countOverflow(what):
      return "count overflow: \(what) does not fit in 64 bits"
    case let .invalidSpecification(field, reason):
      return "invalid machine specification: \(field): \(reason)"
    }
  }
}
