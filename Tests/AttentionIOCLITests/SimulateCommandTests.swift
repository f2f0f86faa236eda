import Foundation
import Reports
import XCTest

final class SimulateCommandTests: XCTestCase {
  func testJSONHasTheContractKeys() throws {
    let run = CapturedRun(["simulate", "--algorithm", "flash", "--seq-len", "100", "--head-dim", "16", "--batch", "2", "--heads", "3", "--format", "json", "--mode", "execute", "--dtype", "fp32", "--threads", "1"])
    XCTAssertEqual(run.code, 0, run.stderr)
    let json = try JSONValue.parse(run.stdout)
    for path in [
      "algorithm", "pass", "problem.batch", "problem.heads", "problem.seqLen", "problem.headDim", "problem.dtype",
      "blocks.rows", "blocks.cols", "sram.capacityBytes", "sram.peakBytes", "hbm.readElements", "hbm.writeElements",
      "hbm.readBytes", "hbm.writeBytes", "hbm.byOperand", "flops.matmul", "flops.other", "time.estimatedSeconds",
      "closedForm.readElements", "closedForm.writeElements", "check.maxRelativeError",
    ] {
      XCTAssertNotNil(json[path: path], path)
    }
    XCTAssertEqual(json[path: "algorithm"]?.stringValue, "flash")
    XCTAssertEqual(json[path: "problem.batch"]?.intValue, 2)
    XCTAssertEqual(json[path: "hbm.readElements"]?.intValue, json[path: "closedForm.readElements"]?.intValue)
    XCTAssertEqual(json[path: "hbm.byOperand.K.readElements"]?.intValue, 6 * 100 * 16)
    XCTAssertLessThan(try XCTUnwrap(json[path: "check.maxRelativeError"]?.doubleValue), 1e-5)
  }

  func testCountModeHasNoCheckAndTableMentionsTheClosedForm() throws {
    let json = CapturedRun(["simulate", "--algorithm", "standard", "--seq-len", "64", "--head-dim", "8", "--format", "json"])
    XCTAssertEqual(json.code, 0, json.stderr)
    XCTAssertNil(try JSONValue.parse(json.stdout)[path: "check"])
    let table = CapturedRun(["simulate", "--algorithm=standard", "--seq-len=64", "--head-dim=8"])
    XCTAssertEqual(table.code, 0)
    XCTAssertTrue(table.stdout.contains("matches the simulation exactly"), table.stdout)
  }

  func testTinySRAMExitsOneWithOneLine() {
    let run = CapturedRun(["simulate", "--sram-bytes", "64", "--algorithm", "flash", "--seq-len", "128", "--head-dim", "64"])
    XCTAssertEqual(run.code, 1)
    XCTAssertEqual(run.stdout, "")
    XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, run.stderr)
    XCTAssertTrue(run.stderr.contains("64 bytes"), run.stderr)
  }

  func testUsageErrorsExitTwoWithOneLine() {
    let cases: [[String]] = [
      ["frobnicate"],
      ["simulate", "--algorithm", "flash", "--seq-len", "10"],
      ["simulate", "--algorithm", "flash", "--seq-len", "ten", "--head-dim", "8"],
      ["simulate", "--algorithm", "flash", "--seq-len", "0", "--head-dim", "8"],
      ["simulate", "--algorithm", "flash", "--seq-len", "-5", "--head-dim", "8"],
      ["simulate", "--algorithm", "magic", "--seq-len", "10", "--head-dim", "8"],
      ["simulate", "--algorithm", "flash", "--seq-len", "10", "--head-dim", "8", "--dtype", "fp8"],
      ["simulate", "--algorithm", "flash", "--seq-len", "10", "--head-dim", "8", "--device", "tpu"],
      ["simulate", "--algorithm", "flash", "--seq-len", "10", "--head-dim", "8", "--device", "/nonexistent.json"],
      ["simulate", "--algorithm", "flash", "--seq-len", "10", "--head-dim", "8", "--bogus"],
      ["simulate", "--algorithm", "flash", "--seq-len", "10", "--head-dim", "8", "--block-rows", "4"],
      ["simulate", "--algorithm", "flash", "--seq-len", "10", "--head-dim", "8", "--block-rows", "0", "--block-cols", "4"],
      ["simulate", "--algorithm", "flash", "--seq-len", "10", "--head-dim", "8", "--mode", "fast"],
      ["simulate", "--algorithm", "flash", "--seq-len", "10", "--head-dim", "8", "--seq-len", "12"],
      ["simulate", "--algorithm", "flash", "--seq-len", "10", "--head-dim"],
      ["simulate", "stray", "--algorithm", "flash"],
    ]
    for arguments in cases {
      let run = CapturedRun(arguments)
      XCTAssertEqual(run.code, 2, "\(arguments): \(run.stderr)")
      XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.stderr)")
      XCTAssertTrue(run.stderr.hasPrefix("error: "), run.stderr)
    }
  }

  func testInvalidDeviceFileNamesTheField() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("attention-io-bad-\(UUID().uuidString).json")
    try #"{"name": "x", "levels": {"hbm": {"capacityBytes": 1, "bytesPerSecond": 1}, "sram": {"capacityBytes": -4, "bytesPerSecond": 1, "count": 1}}, "compute": {"matmulFLOPsPerSecond": 1, "otherFLOPsPerSecond": 1}}"#
      .write(to: url, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: url) }
    let run = CapturedRun(["simulate", "--algorithm", "flash", "--seq-len", "10", "--head-dim", "8", "--device", url.path])
    XCTAssertEqual(run.code, 2)
    XCTAssertTrue(run.stderr.contains("levels.sram.capacityBytes"), run.stderr)
  }

  func testHelpDescribesEveryCommandAndFlag() {
    let root = CapturedRun(["--help"])
    XCTAssertEqual(root.code, 0)
    for command in ["demo", "simulate", "devices"] { XCTAssertTrue(root.stdout.contains(command)) }
    let simulate = CapturedRun(["simulate", "--help"])
    XCTAssertEqual(simulate.code, 0)
    for flag in ["--algorithm", "--pass", "--seq-len", "--head-dim", "--batch", "--heads", "--dtype", "--device", "--sram-bytes",
      "--block-rows", "--block-cols", "--block-rule", "--mode", "--seed", "--format"] {
      XCTAssertTrue(simulate.stdout.contains(flag), flag)
    }
  }

  func testDevicesListsPresets() {
    let run = CapturedRun(["devices"])
    XCTAssertEqual(run.code, 0)
    for name in ["a100-40gb", "a100-80gb", "h100-sxm", "h200", "rtx3090", "t4", "teaching"] {
      XCTAssertTrue(run.stdout.contains(name), name)
    }
  }
}
