/// Exact HBM traffic of one operand: elements and bytes read from HBM into SRAM, and written from
/// SRAM back to HBM.
public struct OperandTraffic: Hashable, Sendable, Codable {
  public var readElements: Int = 0
  public var writeElements: Int = 0
  public var readBytes: Int = 0
  public var writeBytes: Int = 0

  public init(readElements: Int = 0, writeElements: Int = 0, readBytes: Int = 0, writeBytes: Int = 0) {
    self.readElements = readElements
    self.writeElements = writeElements
    self.readBytes = readBytes
    self.writeBytes = writeBytes
  }

  public var totalElements: Int { readElements + writeElements }
  public var totalBytes: Int { readBytes + writeBytes }
}

/// The exact record of a run: every element moved across the HBM/SRAM boundary, per operand, and
/// every FLOP done on chip, split into matmul FLOPs and other FLOPs (exp, max, sum, rescale).
///
/// Counts are integers updated only at the machine's load/store boundary, so execute and count
/// modes count the same by construction. A load reads HBM and writes SRAM; a store reads SRAM and
/// writes HBM, so the SRAM side of the transfers mirrors the HBM side (`sramReadElements` equals
/// `hbmWriteElements`, and the other way round).
public struct IOLedger: Hashable, Sendable {
  /// Traffic per operand, indexed by `Operand.rawValue`.
  public private(set) var traffic: [OperandTraffic]
  /// Multiply-accumulate FLOPs of tile matmuls (2 per multiply-add).
  public var matmulFLOPs: Int = 0
  /// Every other on-chip FLOP: exp, max, sum, subtract, rescale, masking.
  public var otherFLOPs: Int = 0
  /// Number of load operations (HBM → SRAM transfers).
  public var loadCount: Int = 0
  /// Number of store operations (SRAM → HBM transfers).
  public var storeCount: Int = 0

  public init() {
    traffic = Array(repeating: OperandTraffic(), count: Operand.allCases.count)
  }

  /// The traffic of one operand.
  public subscript(operand: Operand) -> OperandTraffic { traffic[operand.rawValue] }

  /// Records a load of `elements` elements of `operand` (`bytes` bytes) from HBM into SRAM.
  @inlinable
  public mutating func recordRead(_ operand: Operand, elements: Int, bytes: Int) {
    recordTraffic(operand, readElements: elements, readBytes: bytes, writeElements: 0, writeBytes: 0)
    loadCount += 1
  }

  /// Records a store of `elements` elements of `operand` (`bytes` bytes) from SRAM into HBM.
  @inlinable
  public mutating func recordWrite(_ operand: Operand, elements: Int, bytes: Int) {
    recordTraffic(operand, readElements: 0, readBytes: 0, writeElements: elements, writeBytes: bytes)
    storeCount += 1
  }

  @usableFromInline
  mutating func recordTraffic(
    _ operand: Operand, readElements: Int, readBytes: Int, writeElements: Int, writeBytes: Int
  ) {
    traffic[operand.rawValue].readElements += readElements
    traffic[operand.rawValue].readBytes += readBytes
    traffic[operand.rawValue].writeElements += writeElements
    traffic[operand.rawValue].writeBytes += writeBytes
  }

  public var hbmReadElements: Int { traffic.reduce(0) { $0 + $1.readElements } }
  public var hbmWriteElements: Int { traffic.reduce(0) { $0 + $1.writeElements } }
  public var hbmReadBytes: Int { traffic.reduce(0) { $0 + $1.readBytes } }
  public var hbmWriteBytes: Int { traffic.reduce(0) { $0 + $1.writeBytes } }
  public var hbmElements: Int { hbmReadElements + hbmWriteElements }
  public var hbmBytes: Int { hbmReadBytes + hbmWriteBytes }
  /// SRAM side of the transfers: loads write SRAM, stores read it.
  public var sramWriteElements: Int { hbmReadElements }
  public var sramReadElements: Int { hbmWriteElements }
  public var totalFLOPs: Int { matmulFLOPs + otherFLOPs }

  /// Operands with any traffic, in `Operand` order.
  public var operandsWithTraffic: [Operand] {
    Operand.allCases.filter { traffic[$0.rawValue].totalElements > 0 }
  }

  /// Adds another ledger (for example another head's) to this one.
  public mutating func add(_ other: IOLedger) {
    for i in traffic.indices {
      traffic[i].readElements += other.traffic[i].readElements
      traffic[i].writeElements += other.traffic[i].writeElements
      traffic[i].readBytes += other.traffic[i].readBytes
      traffic[i].writeBytes += other.traffic[i].writeBytes
    }
    matmulFLOPs += other.matmulFLOPs
    otherFLOPs += other.otherFLOPs
    loadCount += other.loadCount
    storeCount += other.storeCount
  }

  /// The counts of this ledger minus those of an earlier snapshot of it (the traffic of the
  /// operations in between).
  public func subtracting(_ earlier: IOLedger) -> IOLedger {
    var result = self
    for i in traffic.indices {
      result.traffic[i].readElements -= earlier.traffic[i].readElements
      result.traffic[i].writeElements -= earlier.traffic[i].writeElements
      result.traffic[i].readBytes -= earlier.traffic[i].readBytes
      result.traffic[i].writeBytes -= earlier.traffic[i].writeBytes
    }
    result.matmulFLOPs -= earlier.matmulFLOPs
    result.otherFLOPs -= earlier.otherFLOPs
    result.loadCount -= earlier.loadCount
    result.storeCount -= earlier.storeCount
    return result
  }

  /// This ledger repeated `factor` times (batch × heads run the same schedule).
  /// - Throws: `MachineError.countOverflow` if a count would not fit in 64 bits.
  public func repeated(_ factor: Int) throws -> IOLedger {
    func times(_ x: Int) throws -> Int {
      let (r, overflow) = x.multipliedReportingOverflow(by: factor)
      if overflow { throw MachineError.countOverflow(what: "IO ledger × \(factor)") }
      return r
    }
    var result = IOLedger()
    for i in traffic.indices {
      result.traffic[i] = OperandTraffic(
        readElements: try times(traffic[i].readElements),
        writeElements: try times(traffic[i].writeElements),
        readBytes: try times(traffic[i].readBytes),
        writeBytes: try times(traffic[i].writeBytes))
    }
    result.matmulFLOPs = try times(matmulFLOPs)
    result.otherFLOPs = try times(otherFLOPs)
    result.loadCount = try times(loadCount)
    result.storeCount = try times(storeCount)
    return result
  }
}
