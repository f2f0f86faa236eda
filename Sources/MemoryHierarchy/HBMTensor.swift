/// A handle to a row-major `rows × columns` matrix resident in the machine's HBM.
public struct HBMTensor: Hashable, Sendable, CustomStringConvertible {
  public let id: Int
  public let name: String
  public let operand: Operand
  public let rows: Int
  public let columns: Int
  public let elementType: ElementType

  public var elementCount: Int { rows * columns }
  public var bytes: Int { elementCount * elementType.byteWidth }
  public var description: String { "\(name) [\(rows)×\(columns) \(elementType)]" }
}

/// Whether a run does the arithmetic or only follows the shapes.
public enum ExecutionMode: String, CaseIterable, Sendable, Hashable, Codable {
  /// Real float math in SIMD tiles; HBM tensors and SRAM tiles hold data.
  case execute
  /// Shapes only: no storage, no arithmetic; the ledger is updated exactly as in execute mode.
  case count
}
