import XCTest
@testable import MemoryHierarchy

/// In debug builds every tile is followed by a guard zone that `Machine.compute` checks after
/// each step (an `assert`, compiled out with the zones in release builds), so a kernel writing
/// past its tile fails in the tests instead of silently changing the next tile. The assertion
/// itself would stop the test process, so these tests turn it off and read what it checks.
final class TileBoundsTests: XCTestCase {
  let spec = MachineSpec.a100_40GB.withSRAMCapacity(4096).withRegisterFile(1024)

  func testGuardZonesExistOnlyInDebugBuilds() {
    #if DEBUG
    XCTAssertEqual(SRAMArena.guardFloats, 16)
    #else
    XCTAssertEqual(SRAMArena.guardFloats, 0)
    #endif
  }

  func testAnOverrunIsNamedAndTheNextTileIsUntouched() throws {
    #if DEBUG
    for level in [OnChipLevel.sram, .registers] {
      var machine = Machine(spec: spec, mode: .execute)
      machine.checksTileBounds = false
      let a = try machine.allocateTile("A", operand: .other, rows: 3, columns: 5, elementType: .fp32, level: level)
      let b = try machine.allocateTile("B", operand: .other, rows: 2, columns: 4, elementType: .fp32, level: level)
      machine.compute("fill", kind: .other, flops: 0) { view in
        for x in 0..<a.elementCount { view[a][x] = 1 }
        for x in 0..<b.elementCount { view[b][x] = 2 }
      }
      XCTAssertEqual(machine.tileOverruns(), [], "writing exactly the tiles is no overrun")
      machine.compute("overrun", kind: .other, flops: 0) { view in
        view[a][a.elementCount] = 7  // one element past the end of A
      }
      XCTAssertEqual(machine.tileOverruns(), ["tile A (15 elements, \(level.rawValue))"])
      XCTAssertEqual(machine.values(of: b), Array(repeating: 2, count: 8), "the next tile keeps its values")
    }
    #else
    var machine = Machine(spec: spec, mode: .execute)
    _ = try machine.allocateTile("A", operand: .other, rows: 3, columns: 5, elementType: .fp32)
    XCTAssertEqual(machine.tileOverruns(), [])
    #endif
  }

  func testGuardZonesDoNotChangeCapacityOrCounts() throws {
    // A plan that fills the SRAM exactly still fits: the zones are beyond the capacity.
    var machine = Machine(spec: spec, mode: .execute)
    let whole = try machine.allocateTile("all", operand: .other, rows: 32, columns: 32, elementType: .fp32)
    XCTAssertEqual(machine.sram.inUseBytes, 4096)
    XCTAssertEqual(machine.sram.peakBytes, 4096)
    machine.compute("write all", kind: .other, flops: 0) { view in
      for x in 0..<whole.elementCount { view[whole][x] = Float(x) }
    }
    XCTAssertEqual(machine.tileOverruns(), [])
    XCTAssertEqual(machine.values(of: whole), (0..<1024).map(Float.init))
    machine.free(whole)
    // Many small u8 tiles (1 byte per element) also fit to the last byte.
    for t in 0..<64 {
      _ = try machine.allocateTile("m\(t)", operand: .other, rows: 8, columns: 8, elementType: .u8)
    }
    XCTAssertEqual(machine.sram.inUseBytes, 4096)
    XCTAssertEqual(machine.tileOverruns(), [])
  }
}
