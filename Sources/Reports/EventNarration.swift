import MemoryHierarchy

/// One line of plain text per machine event, for step-by-step lessons, the demo and text traces.
/// The wording is shown to students and checked by golden files: change it deliberately.
public enum EventNarration {
  /// A description such as `load  K[0..<4, 0..<8] → K_j   32 elements, 64 B`.
  public static func line(_ event: MachineEvent) -> String {
    switch event {
    case let .allocate(tile, inUse):
      return "alloc    \(tile.name) \(tile.rows)×\(tile.columns) \(tile.elementType) (\(tile.bytes) B) — \(tile.level == .sram ? "SRAM" : "registers") in use \(inUse) B"
    case let .free(tile, inUse):
      return "free     \(tile.name) — \(tile.level == .sram ? "SRAM" : "registers") in use \(inUse) B"
    case let .load(t):
      return "load     \(t.tensor.name)\(ranges(t)) → \(t.tile.name)   \(t.elements) elements, \(t.bytes) B"
    case let .store(t):
      return "store    \(t.tile.name) → \(t.tensor.name)\(ranges(t))   \(t.elements) elements, \(t.bytes) B"
    case let .compute(label, kind, flops):
      return "compute  \(label)   \(flops) \(kind.rawValue) FLOPs"
    }
  }

  /// A short name for a transfer, without sizes: `load K[0..<4, 0..<8] → K_j`,
  /// `store O_i → O[0..<4, 0..<8]`; other events get their narration line.
  public static func transferName(_ event: MachineEvent) -> String {
    switch event {
    case let .load(t): return "load \(t.tensor.name)\(ranges(t)) → \(t.tile.name)"
    case let .store(t): return "store \(t.tile.name) → \(t.tensor.name)\(ranges(t))"
    default: return line(event)
    }
  }

  static func ranges(_ t: MachineEvent.Transfer) -> String {
    if t.tensor.columns == 1 { return "[\(t.rowRange.lowerBound)..<\(t.rowRange.upperBound)]" }
    return "[\(t.rowRange.lowerBound)..<\(t.rowRange.upperBound), \(t.columnRange.lowerBound)..<\(t.columnRange.upperBound)]"
  }
}
