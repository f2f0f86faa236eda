import MemoryHierarchy
import XCTest

final class SpecAndLedgerTests: XCTestCase {
  func testPresetsAreValidAndNamed() throws {
    let names = MachineSpec.presets.map(\.name)
    XCTAssertEqual(names, ["a100-40gb", "a100-80gb", "h100-sxm", "h200", "rtx3090", "t4", "teaching"])
    for spec in MachineSpec.presets { XCTAssertNoThrow(try spec.validate(), spec.name) }
    XCTAssertEqual(MachineSpec.a100_40GB.sramCapacityInBytes, 196_608)
    XCTAssertEqual(MachineSpec.a100_40GB.streamingMultiprocessors, 108)
    XCTAssertEqual(MachineSpec.a100_40GB.hbmBytesPerSecond, 1.555e12)
    XCTAssertEqual(MachineSpec.a100_40GB.matmulFLOPsPerSecond, 312e12)
    XCTAssertEqual(MachineSpec.a100_40GB.otherFLOPsPerSecond, 19.5e12)
    XCTAssertLessThan(MachineSpec.teaching.sramCapacityInBytes, 1000)
  }

  func testValidationNamesTheField() {
    var spec = MachineSpec.a100_40GB
    spec.hbmBytesPerSecond = -1
    XCTAssertThrowsError(try spec.validate()) { error in
      XCTAssertEqual(error as? MachineError, .invalidSpecification(field: "hbmBytesPerSecond", reason: "must be a positive number, got -1.0"))
    }
  }

  func testElementRounding() {
    XCTAssertEqual(ElementType.fp16.rounded(65519), 65504)
    XCTAssertEqual(ElementType.fp16.rounded(1 + 1.0 / 2048), 1, "ties to even")
    XCTAssertEqual(ElementType.bf16.rounded(1 + 1.0 / 256), 1, "ties to even")
    XCTAssertEqual(ElementType.bf16.rounded(1 + 3.0 / 256), 1 + 4.0 / 256)
    XCTAssertTrue(ElementType.bf16.rounded(.nan).isNaN)
    XCTAssertEqual(ElementType.bf16.rounded(.infinity), .infinity)
    XCTAssertEqual(ElementType.fp32.rounded(0.1), 0.1)
    XCTAssertEqual(ElementType.fp16.byteWidth, 2)
    XCTAssertEqual(ElementType.fp32.byteWidth, 4)
  }

  func testLedgerRepeatAddAndOverflow() throws {
    var ledger = IOLedger()
    ledger.recordRead(.key, elements: 5, bytes: 10)
    ledger.recordWrite(.output, elements: 3, bytes: 6)
    ledger.matmulFLOPs = 7
    let four = try ledger.repeated(4)
    XCTAssertEqual(four.hbmReadElements, 20)
    XCTAssertEqual(four.hbmWriteBytes, 24)
    XCTAssertEqual(four.matmulFLOPs, 28)
    var sum = IOLedger()
    for _ in 0..<4 { sum.add(ledger) }
    XCTAssertEqual(sum, four)
    XCTAssertThrowsError(try ledger.repeated(Int.max / 2))
    XCTAssertEqual(ledger.sramWriteElements, ledger.hbmReadElements)
  }

  func testRooflineTakesTheLargerSide() {
    var ledger = IOLedger()
    ledger.recordRead(.query, elements: 1, bytes: 1_555_000_000)  // 1 ms at 1.555 TB/s
    ledger.matmulFLOPs = 312_000_000_000  // 1 ms at 312 TFLOP/s
    ledger.otherFLOPs = 19_500_000_000  // 1 ms at 19.5 TFLOP/s
    let estimate = RooflineEstimate(ledger: ledger, spec: .a100_40GB)
    XCTAssertEqual(estimate.memorySeconds, 1e-3, accuracy: 1e-15)
    XCTAssertEqual(estimate.computeSeconds, 2e-3, accuracy: 1e-15)
    XCTAssertEqual(estimate.estimatedSeconds, 2e-3, accuracy: 1e-15)
    XCTAssertEqual(estimate.bound, "compute")
  }
}
