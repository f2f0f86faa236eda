import MemoryHierarchy
import XCTest
import _TestSupport

final class MachineTests: XCTestCase {
  let spec = MachineSpec.a100_40GB.withSRAMCapacity(1024)

  func testLoadAndStoreCountExactElementsAndBytesPerOperand() throws {
    for mode in ExecutionMode.allCases {
      var machine = Machine(spec: spec, mode: mode)
      let q = try machine.allocateTensor("Q", operand: .query, rows: 10, columns: 6, elementType: .fp16,
        contents: (0..<60).map(Float.init))
      let o = try machine.allocateTensor("O", operand: .output, rows: 10, columns: 6, elementType: .fp32)
      let tile = try machine.allocateTile("Q_i", operand: .query, rows: 4, columns: 6, elementType: .fp16)
      try machine.load(q, rows: 8..<10, into: tile)
      try machine.load(q, rows: 0..<4, columns: 1..<3, into: tile)
      try machine.store(tile, into: o, rows: 2..<5, columns: 0..<6)
      XCTAssertEqual(machine.ledger[.query].readElements, 12 + 8, "\(mode)")
      XCTAssertEqual(machine.ledger[.query].readBytes, 40, "\(mode)")
      XCTAssertEqual(machine.ledger[.output].writeElements, 18, "\(mode)")
      XCTAssertEqual(machine.ledger[.output].writeBytes, 72, "\(mode)")
      XCTAssertEqual(machine.ledger.hbmReadElements, 20)
      XCTAssertEqual(machine.ledger.hbmWriteElements, 18)
      XCTAssertEqual(machine.ledger.loadCount, 2)
      XCTAssertEqual(machine.ledger.storeCount, 1)
      if mode == .execute {
        // Tile rows 0..<2 hold Q[0..<2, 1..<3] from the second load, then Q[8..<10, 2..<6] left by
        // the first; row 2 holds Q[2, 1..<3] and the arena's initial zeros.
        let out = machine.contents(of: o)
        XCTAssertEqual(Array(out[12..<18]), [1, 2, 50, 51, 52, 53])
        XCTAssertEqual(Array(out[18..<24]), [7, 8, 56, 57, 58, 59])
        XCTAssertEqual(Array(out[24..<30]), [13, 14, 0, 0, 0, 0])
      } else {
        XCTAssertTrue(machine.contents(of: o).isEmpty)
      }
    }
  }

  func testSRAMOverflowNamesTileBytesCapacityAndUse() throws {
    var machine = Machine(spec: spec, mode: .count)
    _ = try machine.allocateTile("K_j", operand: .key, rows: 16, columns: 16, elementType: .fp16)  // 512 B
    _ = try machine.allocateTile("m_i", operand: .rowMax, rows: 16, columns: 1, elementType: .fp32)  // 64 B
    XCTAssertThrowsError(try machine.allocateTile("V_j", operand: .value, rows: 16, columns: 16, elementType: .fp16)) { error in
      guard case let MachineError.sramOverflow(tile, requested, capacity, inUse, resident) = error else {
        return XCTFail("unexpected \(error)")
      }
      XCTAssertEqual(tile, "V_j")
      XCTAssertEqual(requested, 512)
      XCTAssertEqual(capacity, 1024)
      XCTAssertEqual(inUse, 576)
      XCTAssertEqual(resident, ["K_j 512 B", "m_i 64 B"])
      let line = "\(error)"
      XCTAssertFalse(line.contains("\n"))
      for part in ["V_j", "512", "1024", "576"] { XCTAssertTrue(line.contains(part), line) }
    }
    XCTAssertEqual(machine.sram.peakBytes, 576)
  }

  func testFreedSpaceIsReusedAndPeakIsKept() throws {
    var machine = Machine(spec: spec, mode: .execute)
    let a = try machine.allocateTile("a", operand: .other, rows: 100, columns: 1, elementType: .fp32)
    let b = try machine.allocateTile("b", operand: .other, rows: 50, columns: 1, elementType: .fp32)
    machine.free(a)
    let c = try machine.allocateTile("c", operand: .other, rows: 150, columns: 1, elementType: .fp32)
    XCTAssertEqual(machine.sram.inUseBytes, 800)
    XCTAssertEqual(machine.sram.peakBytes, 800)
    // Storage of live tiles never overlaps.
    let ranges = [b, c].map { $0.offset..<($0.offset + $0.elementCount) }
    XCTAssertFalse(ranges[0].overlaps(ranges[1]))
  }

  func testBadTransfersThrowInsteadOfTrapping() throws {
    var machine = Machine(spec: spec, mode: .execute)
    let q = try machine.allocateTensor("Q", operand: .query, rows: 4, columns: 4, elementType: .fp32)
    let tile = try machine.allocateTile("t", operand: .query, rows: 2, columns: 4, elementType: .fp32)
    XCTAssertThrowsError(try machine.load(q, rows: 3..<5, into: tile))
    XCTAssertThrowsError(try machine.load(q, rows: 0..<3, into: tile))
    XCTAssertThrowsError(try machine.store(tile, into: q, rows: 0..<2, columns: 2..<6))
    machine.free(tile)
    XCTAssertThrowsError(try machine.load(q, rows: 0..<1, into: tile))
    XCTAssertThrowsError(try machine.allocateTensor("X", operand: .other, rows: 2, columns: 2, elementType: .fp32, contents: [1]))
    XCTAssertEqual(machine.ledger.hbmElements, 0, "failed transfers are not counted")
  }

  func testTransfersCheckThatBothEndsExist() throws {
    for mode in ExecutionMode.allCases {
      var machine = Machine(spec: spec, mode: mode)
      let q = try machine.allocateTensor("Q", operand: .query, rows: 4, columns: 4, elementType: .fp32)
      let first = try machine.allocateTile("first", operand: .query, rows: 2, columns: 4, elementType: .fp32)
      let register = try machine.allocateTile("acc", operand: .output, rows: 2, columns: 4, elementType: .fp32, level: .registers)
      let second = try machine.allocateTile("second", operand: .query, rows: 2, columns: 4, elementType: .fp32)
      // Freeing one tile leaves the others resident, on both levels.
      machine.free(first)
      XCTAssertThrowsError(try machine.load(q, rows: 0..<2, into: first)) { error in
        XCTAssertTrue("\(error)".contains("first"), "\(error)")
      }
      XCTAssertThrowsError(try machine.store(first, into: q, rows: 0..<2))
      try machine.load(q, rows: 0..<2, into: second)
      try machine.load(q, rows: 2..<4, into: register)
      try machine.store(register, into: q, rows: 0..<2)
      // A register tile freed, then a new tile on the other level: ids are per level.
      machine.free(register)
      XCTAssertThrowsError(try machine.load(q, rows: 0..<2, into: register))
      let third = try machine.allocateTile("third", operand: .query, rows: 2, columns: 4, elementType: .fp32)
      try machine.load(q, rows: 0..<2, into: third)
      // A freed tensor, and one from another machine, throw instead of trapping.
      machine.freeTensor(q)
      XCTAssertThrowsError(try machine.load(q, rows: 0..<2, into: second)) { error in
        XCTAssertTrue("\(error)".contains("freed"), "\(error)")
      }
      var other = Machine(spec: spec, mode: mode)
      _ = try other.allocateTensor("A", operand: .query, rows: 4, columns: 4, elementType: .fp32)
      let foreign = try other.allocateTensor("B", operand: .key, rows: 4, columns: 4, elementType: .fp32)
      XCTAssertThrowsError(try machine.load(foreign, rows: 0..<2, into: second))
      XCTAssertEqual(machine.contents(of: foreign), [])
      XCTAssertEqual(machine.ledger.loadCount, 3, "\(mode)")
      XCTAssertEqual(machine.ledger.storeCount, 1, "\(mode)")
    }
  }

  func testStoreRoundsToTheTensorPrecision() throws {
    var machine = Machine(spec: spec, mode: .execute)
    let x: Float = 1 + 1.0 / 4096  // not representable in fp16 or bf16
    let src = try machine.allocateTensor("X", operand: .other, rows: 1, columns: 1, elementType: .fp32, contents: [x])
    let h = try machine.allocateTensor("H", operand: .other, rows: 1, columns: 1, elementType: .fp16)
    let b = try machine.allocateTensor("B", operand: .other, rows: 1, columns: 1, elementType: .bf16)
    let tile = try machine.allocateTile("t", operand: .other, rows: 1, columns: 1, elementType: .fp32)
    try machine.load(src, rows: 0..<1, into: tile)
    XCTAssertEqual(machine.values(of: tile), [x], "tiles keep fp32 values")
    try machine.store(tile, into: h, rows: 0..<1)
    try machine.store(tile, into: b, rows: 0..<1)
    XCTAssertEqual(machine.contents(of: h), [1])
    XCTAssertEqual(machine.contents(of: b), [1])
  }

  func testEventsMatchTheLedger() throws {
    var machine = Machine(spec: spec, mode: .count)
    machine.recordsEvents = true
    let q = try machine.allocateTensor("Q", operand: .query, rows: 8, columns: 4, elementType: .fp16)
    let tile = try machine.allocateTile("Q_i", operand: .query, rows: 4, columns: 4, elementType: .fp16)
    for i in 0..<2 { try machine.load(q, rows: i * 4..<(i + 1) * 4, into: tile) }
    machine.compute("x", kind: .matmul, flops: 10) { _ in XCTFail("count mode must not run kernels") }
    try machine.store(tile, into: q, rows: 0..<4)
    machine.free(tile)
    var reads = 0
    var writes = 0
    var flops = 0
    for event in machine.events {
      switch event {
      case let .load(t): reads += t.elements
      case let .store(t): writes += t.elements
      case let .compute(_, _, f): flops += f
      default: break
      }
    }
    XCTAssertEqual(reads, machine.ledger.hbmReadElements)
    XCTAssertEqual(writes, machine.ledger.hbmWriteElements)
    XCTAssertEqual(flops, machine.ledger.totalFLOPs)
    XCTAssertEqual(machine.events.count, 6)
  }
}

final class MachineSnapshotTests: XCTestCase {
  /// A machine is a value: a copy taken between steps keeps its tiles, and the original keeps
  /// reading its own tiles correctly after the copy-on-write of its storage.
  func testSnapshotsKeepTheirTilesAcrossCopyOnWrite() throws {
    for capacity in [96, 384, 1000, 4096] {
      var machine = Machine(spec: MachineSpec.teaching.withSRAMCapacity(capacity), mode: .execute)
      let x = try machine.allocateTensor("X", operand: .other, rows: 2, columns: 4, elementType: .fp32, contents: (0..<8).map(Float.init))
      let a = try machine.allocateTile("a", operand: .other, rows: 1, columns: 4, elementType: .fp32)
      let b = try machine.allocateTile("b", operand: .other, rows: 1, columns: 4, elementType: .fp32)
      try machine.load(x, rows: 0..<1, into: a)
      let snapshot = machine
      try machine.load(x, rows: 1..<2, into: b)
      XCTAssertEqual(machine.values(of: a), [0, 1, 2, 3], "capacity \(capacity)")
      XCTAssertEqual(machine.values(of: b), [4, 5, 6, 7], "capacity \(capacity)")
      XCTAssertEqual(snapshot.values(of: a), [0, 1, 2, 3], "capacity \(capacity)")
      XCTAssertEqual(snapshot.values(of: b), [0, 0, 0, 0], "capacity \(capacity)")
    }
  }
}
