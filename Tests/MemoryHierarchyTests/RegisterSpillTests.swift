import MemoryHierarchy
import XCTest

/// Accumulators go to the register file when they fit and to SRAM when they do not, as a real
/// kernel spills them; a machine without a register file keeps everything in SRAM.
final class RegisterSpillTests: XCTestCase {
  func testAnAccumulatorThatDoesNotFitTheRegisterFileIsPlacedInSRAM() throws {
    for mode in ExecutionMode.allCases {
      var machine = Machine(spec: MachineSpec.a100_40GB.withSRAMCapacity(1024).withRegisterFile(64), mode: mode)
      let small = try machine.allocateTile("S_ij", operand: .scores, rows: 4, columns: 4, elementType: .fp32, level: .registers)
      let large = try machine.allocateTile("O_i", operand: .output, rows: 8, columns: 4, elementType: .fp32, level: .registers)
      XCTAssertEqual(small.level, .registers, "\(mode)")
      XCTAssertEqual(large.level, .sram, "64 bytes of registers are full: O_i spills (\(mode))")
      XCTAssertEqual(machine.registers.inUseBytes, 64)
      XCTAssertEqual(machine.sram.inUseBytes, 128)
      // The spilled tile works like any SRAM tile.
      let o = try machine.allocateTensor("O", operand: .output, rows: 8, columns: 4, elementType: .fp32)
      machine.compute("fill", kind: .other, flops: 0) { view in view[large].update(repeating: 2, count: 32) }
      try machine.store(large, into: o, rows: 0..<8)
      XCTAssertEqual(machine.ledger[.output].writeElements, 32)
      if mode == .execute { XCTAssertEqual(machine.contents(of: o), [Float](repeating: 2, count: 32)) }
      machine.free(large)
      machine.free(small)
      XCTAssertEqual(machine.sram.inUseBytes + machine.registers.inUseBytes, 0)
    }
  }

  func testWithoutARegisterFileEveryTileIsInSRAMAndSRAMOverflowIsStillAnError() throws {
    var machine = Machine(spec: MachineSpec.a100_40GB.withSRAMCapacity(100).withRegisterFile(0), mode: .count)
    let tile = try machine.allocateTile("O_i", operand: .output, rows: 4, columns: 4, elementType: .fp32, level: .registers)
    XCTAssertEqual(tile.level, .sram)
    XCTAssertThrowsError(try machine.allocateTile("S_ij", operand: .scores, rows: 4, columns: 4, elementType: .fp32, level: .registers)) {
      XCTAssertEqual($0 as? MachineError, .sramOverflow(tile: "S_ij", requestedBytes: 64, capacityBytes: 100, inUseBytes: 64, residentTiles: ["O_i 64 B"]))
    }
  }
}
