import AttentionAlgorithms
import MemoryHierarchy

/// A closed-form count of a step's HBM traffic, per operand in elements and bytes, and its FLOPs:
/// what the ledger must hold, exactly.
public struct DecodeTrafficForm: Hashable, Sendable {
  /// Traffic per operand (operands without traffic are absent).
  public private(set) var byOperand: [Operand: OperandTraffic] = [:]
  public var matmulFLOPs = 0
  public var otherFLOPs = 0

  public init() {}

  /// The traffic of one operand (zero when absent).
  public subscript(operand: Operand) -> OperandTraffic { byOperand[operand] ?? OperandTraffic() }

  /// Adds `reads` and `writes` elements of `operand`, `byteWidth` bytes each.
  public mutating func add(_ operand: Operand, reads: Int = 0, writes: Int = 0, byteWidth: Int) {
    var t = self[operand]
    t.readElements += reads
    t.writeElements += writes
    t.readBytes += reads * byteWidth
    t.writeBytes += writes * byteWidth
    byOperand[operand] = t
  }

  /// Adds another form (another sequence's).
  public mutating func add(_ other: DecodeTrafficForm) {
    for (operand, t) in other.byOperand {
      var mine = self[operand]
      mine.readElements += t.readElements
      mine.writeElements += t.writeElements
      mine.readBytes += t.readBytes
      mine.writeBytes += t.writeBytes
      byOperand[operand] = mine
    }
    matmulFLOPs += other.matmulFLOPs
    otherFLOPs += other.otherFLOPs
  }

  public var readElements: Int { byOperand.values.reduce(0) { $0 + $1.readElements } }
  public var writeElements: Int { byOperand.values.reduce(0) { $0 + $1.writeElements } }
  public var readBytes: Int { byOperand.values.reduce(0) { $0 + $1.readBytes } }
  public var writeBytes: Int { byOperand.values.reduce(0) { $0 + $1.writeBytes } }
  public var totalElements: Int { readElements + writeElements }
  public var totalBytes: Int { readBytes + writeBytes }
  /// Reads and writes in elements.
  public var traffic: TrafficCount { TrafficCount(readElements: readElements, writeElements: writeElements) }

  /// Whether `ledger` holds exactly this traffic for every operand, and these FLOPs.
  public func matches(_ ledger: IOLedger) -> Bool {
    Operand.allCases.allSatisfy { ledger[$0] == self[$0] }
      && ledger.matmulFLOPs == matmulFLOPs && ledger.otherFLOPs == otherFLOPs
  }
}
