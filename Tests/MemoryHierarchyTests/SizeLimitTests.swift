import XCTest
import _TestSupport
@testable import MemoryHierarchy

/// Issue 16: checked size arithmetic, and a simulated SRAM that costs real memory only for the
/// tiles in use.
final class SizeLimitTests: XCTestCase {
  func testProductsPastTheLimitAreTypedErrors() throws {
    XCTAssertEqual(try SizeLimits.product("x", [3, 5, 7]), 105)
    for factors in [[Int.max, 2], [1 << 32, 1 << 32], [1 << 25, 1 << 26]] {
      XCTAssertThrowsError(try SizeLimits.product("Q of one head", factors)) { error in
        let limit = error as? SizeLimitError
        XCTAssertEqual(limit?.kind, .unrepresentable)
        XCTAssertTrue(limit?.description.contains("Q of one head") ?? false, "\(error)")
        XCTAssertTrue(limit?.description.contains(SizeLimits.maximumBytesText) ?? false, "\(error)")
        XCTAssertFalse(limit?.description.contains("\n") ?? true)
      }
    }
    XCTAssertEqual(SizeLimits.saturatingProduct(Int.max, 2), Int.max)
    XCTAssertEqual(SizeLimits.saturatingSum(Int.max, 1), Int.max)
    XCTAssertEqual(SizeLimits.scientific(2.36e21), "2.4e21")
    XCTAssertEqual(SizeLimits.scientific(9.96), "1.0e1")
  }

  func testSpecsPastTheLimitAreInvalid() {
    for bytes in [SizeLimits.maximumBytes + 1, 1 << 62, Int.max] {
      XCTAssertThrowsError(try MachineSpec.a100_40GB.withSRAMCapacity(bytes).validate()) { error in
        guard case let .invalidSpecification(field, reason)? = error as? MachineError else { return XCTFail("\(error)") }
        XCTAssertEqual(field, "sramCapacityInBytes")
        XCTAssertTrue(reason.contains(String(bytes)), reason)
      }
      XCTAssertThrowsError(try MachineSpec.a100_40GB.withRegisterFile(bytes).validate())
    }
    XCTAssertNoThrow(try MachineSpec.a100_40GB.withSRAMCapacity(SizeLimits.maximumBytes).validate())
  }

  func testHugeSimulatedSRAMStoresOnlyTheTilesInUse() throws {
    var machine = Machine(spec: MachineSpec.a100_40GB.withSRAMCapacity(1 << 40), mode: .execute)
    XCTAssertLessThanOrEqual(machine.sram.storage.count, SRAMArena.initialFloats + SRAMArena.alignmentSlack)
    let q = try machine.allocateTensor("Q", operand: .query, rows: 4, columns: 3, elementType: .fp32, contents: (0..<12).map(Float.init))
    let small = try machine.allocateTile("Q_i", operand: .query, rows: 4, columns: 3, elementType: .fp32)
    try machine.load(q, rows: 0..<4, into: small)
    // A tile past the initial storage grows it; the resident tile keeps its values.
    let big = try machine.allocateTile("S", operand: .scores, rows: 1024, columns: 512, elementType: .fp32)
    XCTAssertGreaterThanOrEqual(machine.sram.storage.count, big.offset + big.elementCount)
    XCTAssertLessThan(machine.sram.storage.count, 4 * (SRAMArena.initialFloats + big.elementCount))
    XCTAssertEqual(machine.values(of: small), (0..<12).map(Float.init))
    XCTAssertEqual(machine.sram.capacityInBytes, 1 << 40)
  }

  func testOversizedTilesAndTensorsThrow() {
    var machine = Machine(spec: MachineSpec.a100_40GB, mode: .execute)
    XCTAssertThrowsError(try machine.allocateTile("S", operand: .scores, rows: Int.max, columns: 2, elementType: .fp32)) { error in
      XCTAssertEqual((error as? SizeLimitError)?.kind, .unrepresentable, "\(error)")
    }
    XCTAssertThrowsError(try machine.allocateTensor("Q", operand: .query, rows: 1 << 40, columns: 1 << 20, elementType: .fp16)) { error in
      XCTAssertEqual((error as? SizeLimitError)?.kind, .unrepresentable, "\(error)")
    }
    var count = Machine(spec: MachineSpec.a100_40GB, mode: .count)
    XCTAssertThrowsError(try count.allocateTensor("Q", operand: .query, rows: Int.max, columns: 64, elementType: .fp16))
  }

  func testResidentTileBookkeepingDoesNotGrowWithAllocations() throws {
    var machine = Machine(spec: MachineSpec.a100_40GB, mode: .count)
    for _ in 0..<10_000 {
      let tile = try machine.allocateTile("K_j", operand: .key, rows: 8, columns: 8, elementType: .fp16)
      machine.free(tile)
    }
    XCTAssertEqual(machine.sram.liveIDs.count, 0)
    XCTAssertEqual(machine.sram.inUseBytes, 0)
  }

  func testReplayAddsTheLedgerChangeTimes() throws {
    var stepped = Machine(spec: MachineSpec.a100_40GB, mode: .count)
    var replayed = Machine(spec: MachineSpec.a100_40GB, mode: .count)
    let q1 = try stepped.allocateTensor("Q", operand: .query, rows: 64, columns: 8, elementType: .fp16)
    let q2 = try replayed.allocateTensor("Q", operand: .query, rows: 64, columns: 8, elementType: .fp16)
    let t1 = try stepped.allocateTile("Q_i", operand: .query, rows: 8, columns: 8, elementType: .fp16)
    let t2 = try replayed.allocateTile("Q_i", operand: .query, rows: 8, columns: 8, elementType: .fp16)
    for i in 0..<8 { try stepped.load(q1, rows: i * 8..<(i + 1) * 8, into: t1) }
    let before = replayed.ledger
    try replayed.load(q2, rows: 0..<8, into: t2)
    try replayed.replay(replayed.ledger.subtracting(before), times: 7)
    XCTAssertEqual(stepped.ledger, replayed.ledger)
    // Only count mode with nobody listening may replay: elsewhere it is a typed error.
    var execute = Machine(spec: MachineSpec.a100_40GB, mode: .execute)
    XCTAssertThrowsError(try execute.replay(before, times: 2))
    replayed.recordsEvents = true
    XCTAssertThrowsError(try replayed.replay(before, times: 2))
  }
}
