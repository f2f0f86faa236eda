import Foundation
import Reports
import XCTest
import _TestSupport

/// The reproducers of issue 16 ("hard inputs and big sizes"): every one ends with exit 1 or 2
/// and exactly one line on stderr, at once, without a trap or a huge allocation.
final class HardInputTests: XCTestCase {
  /// Runs `arguments` and checks the one-line failure; returns the run.
  @discardableResult
  func assertFails(_ arguments: [String], code: Int32, mentions: [String] = [], file: StaticString = #filePath, line: UInt = #line) -> CapturedRun {
    let run = CapturedRun(arguments)
    XCTAssertEqual(run.code, code, "\(arguments): \(run.stderr)", file: file, line: line)
    XCTAssertEqual(run.stdout, "", "\(arguments)", file: file, line: line)
    XCTAssertEqual(run.stderr.filter(\.isNewline).count, 1, "\(arguments): \(run.stderr)", file: file, line: line)
    XCTAssertTrue(run.stderr.hasPrefix("error: "), run.stderr, file: file, line: line)
    for word in mentions {
      XCTAssertTrue(run.stderr.contains(word), "\(arguments): '\(word)' not in \(run.stderr)", file: file, line: line)
    }
    return run
  }

  /// Item 1: the eight arithmetic-overflow sites, each an impossible size (exit 2) whose line
  /// names the quantity, its value and the limit.
  func testArithmeticOverflowSitesExitTwo() {
    let max = "9223372036854775807"
    assertFails(["simulate", "--algorithm", "flash", "--seq-len", max, "--head-dim", "64"], code: 2, mentions: ["N × d", max, "limit"])
    assertFails(
      ["simulate", "--algorithm", "flash", "--seq-len", "1024", "--head-dim", "64", "--batch", "1000000000000", "--heads", "1000000000000"],
      code: 2, mentions: ["batch × heads", "1000000000000", "limit"])
    assertFails(["simulate", "--algorithm", "flash2", "--seq-len", "2", "--head-dim", max], code: 2, mentions: ["limit"])
    assertFails(["simulate", "--algorithm", "standard", "--seq-len", "9007199254740993", "--head-dim", "6"], code: 2, mentions: ["limit"])
    assertFails(["simulate", "--algorithm", "standard-unfused", "--seq-len", "2147483648", "--head-dim", "17"], code: 2, mentions: ["N × N", "limit"])
    assertFails(["simulate", "--algorithm", "standard-unfused", "--seq-len", max, "--head-dim", "1", "--causal"], code: 2, mentions: ["limit"])
    assertFails(["sparsity-sweep", "--seq-len", "9007199254740993", "--head-dim", "17", "--mode", "count"], code: 2, mentions: ["limit"])
    assertFails(["trace", "--algorithm", "standard", "--sram-bytes", max], code: 2, mentions: ["sramCapacityInBytes", max, "limit"])
    assertFails(["simulate", "--algorithm", "flash", "--seq-len", "64", "--head-dim", "16", "--mode", "execute", "--sram-bytes", max], code: 2, mentions: ["limit"])
    assertFails(["paged", "decode", "--context-len", "10", "--block-size", "16", "--head-dim", "8", "--sram-bytes", max], code: 2, mentions: ["limit"])
  }

  func testDeviceFileWithHugeSRAMExitsTwo() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("huge-sram-\(UUID().uuidString).json").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let text = """
      {"name": "huge", "levels": {"hbm": {"capacityBytes": 40000000000, "bytesPerSecond": 1.5e12},
       "sram": {"capacityBytes": 9223372036854775807, "bytesPerSecond": 1.9e13, "count": 108}},
       "compute": {"matmulFLOPsPerSecond": 3.1e14, "otherFLOPsPerSecond": 1.9e13}}
      """
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    assertFails(["simulate", "--algorithm", "flash", "--seq-len", "64", "--head-dim", "16", "--device", path], code: 2, mentions: ["sramCapacityInBytes", "limit"])
  }

  /// Item 2: sizes that fit in 64 bits but whose runs would need petabytes or centuries.
  func testHugeRunsAreRefusedAtOnce() {
    assertFails(["sparsity-sweep", "--seq-len", "4294967296", "--head-dim", "1", "--mode", "count"], code: 2, mentions: ["limit"])
    assertFails(["simulate", "--algorithm", "block-sparse", "--seq-len", "1000000000", "--head-dim", "1", "--mask", "local:2"], code: 2, mentions: ["limit"])
    // Representable but too long: the step budget (exit 1).
    assertFails(["simulate", "--algorithm", "flash", "--seq-len", "100000000", "--head-dim", "1"], code: 1, mentions: ["block steps", "limit"])
    // Representable but too big for the memory given: exit 1, naming the estimate and the limit.
    assertFails(
      ["simulate", "--algorithm", "flash", "--seq-len", "10000000", "--head-dim", "128", "--mode", "execute", "--max-memory", "1G"],
      code: 1, mentions: ["estimated memory", "1073741824"])
  }

  /// Found while fuzzing: runs whose memory the estimate must catch before allocating.
  func testTraceAndPagedDecodeRefuseRunsAboveTheMemoryLimit() {
    assertFails(["trace", "--algorithm", "standard", "--sram-bytes", "1125899906842624", "--seq-len", "100000"], code: 1, mentions: ["estimated memory"])
    assertFails(
      ["paged", "decode", "--context-len", "100000", "--block-size", "16", "--head-dim", "128", "--mode", "execute", "--batch", "1000", "--max-memory", "4G"],
      code: 1, mentions: ["estimated memory", "4294967296"])
    assertFails(
      ["paged", "decode", "--context-len", "16000000", "--block-size", "1", "--head-dim", "128", "--batch", "16000000"],
      code: 1, mentions: ["KV blocks", "limit"])
    assertFails(["paged", "decode", "--context-len", "10", "--block-size", "4", "--head-dim", "8", "--max-memory", "x"], code: 2, mentions: ["--max-memory"])
  }

  /// Item 3: the simulated SRAM costs memory only for the tiles in use.
  func testHugeSimulatedSRAMIsCheap() throws {
    let base = ["simulate", "--algorithm", "flash", "--seq-len", "64", "--head-dim", "16", "--mode", "execute", "--format", "json", "--threads", "1"]
    for bytes in ["1000000000", "1000000000000", "1125899906842624"] {
      let run = CapturedRun(base + ["--sram-bytes", bytes])
      XCTAssertEqual(run.code, 0, run.stderr)
      let json = try JSONValue.parse(run.stdout)
      XCTAssertLessThan(try XCTUnwrap(json[path: "check.maxRelativeError"]?.doubleValue), 1e-2)
    }
    assertFails(["trace", "--algorithm", "flash", "--sram-bytes", "4611686018427387904", "--seq-len", "2"], code: 2, mentions: ["limit"])
    assertFails(["trace", "--algorithm", "flash", "--sram-bytes", "4611686018427387904", "--seq-len", "2", "--format", "html"], code: 2)
    let html = CapturedRun(["trace", "--algorithm", "flash", "--sram-bytes", "1125899906842624", "--seq-len", "2", "--format", "html"])
    XCTAssertEqual(html.code, 0, html.stderr)
  }

  /// Item 6: options are checked before any file or directory is touched.
  func testOptionsAreValidatedBeforeFilesAreTouched() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aio-untouched-\(UUID().uuidString)").path
    assertFails(
      ["simulate", "--algorithm", "flash", "--seq-len", "16", "--head-dim", "8", "--mode", "execute", "--threads", "0", "--output-dir", directory],
      code: 2, mentions: ["--threads"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory))

    let csv = FileManager.default.temporaryDirectory.appendingPathComponent("aio-existing-\(UUID().uuidString).csv").path
    try "keep\n".write(toFile: csv, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: csv) }
    assertFails(["sparsity-sweep", "--seq-len", "0", "--head-dim", "8", "--csv", csv], code: 2, mentions: ["--seq-len"])
    XCTAssertEqual(try String(contentsOfFile: csv, encoding: .utf8), "keep\n")
  }

  /// Item 7: outputs an interrupted run left under the marker do not block the next run.
  func testOutputDirectoryOfAnInterruptedRunIsReplaced() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aio-interrupted-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try "o.npy\ndq.npy\ndk.npy\ndv.npy\n".write(toFile: directory + "/.attention-io-incomplete", atomically: true, encoding: .utf8)
    try "partial".write(toFile: directory + "/o.npy", atomically: true, encoding: .utf8)
    let arguments = [
      "simulate", "--algorithm", "flash", "--seq-len", "16", "--head-dim", "8", "--mode", "execute", "--pass", "both",
      "--threads", "1", "--output-dir", directory,
    ]
    let run = CapturedRun(arguments)
    XCTAssertEqual(run.code, 0, run.stderr)
    XCTAssertEqual(try NPY.read(path: directory + "/o.npy").shape, [16, 8])
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/.attention-io-incomplete"))
    assertFails(arguments, code: 1, mentions: ["already exists"])
  }

  func testValuesWithLineBreaksGiveOneLine() {
    assertFails(["simulate", "--algorithm", "flash", "--seq-len", "16", "--head-dim", "8\nfoo"], code: 2, mentions: ["\\n"])
    assertFails(["simulate", "--algorithm", "fl\r\nash", "--seq-len", "16", "--head-dim", "8"], code: 2)
    assertFails(["trace", "--algorithm", "flash", "--format", "x\ny"], code: 2)
    assertFails(["paged", "decode\nx"], code: 2)
    assertFails(["sparsity-sweep", "--seq-len", "16", "--head-dim", "8", "--patterns", "local:\n2"], code: 2)
    assertFails(["no\ncommand"], code: 2)
  }

  func testMaskFileWithCRLFLineEndingsParses() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("mask-crlf-\(UUID().uuidString).txt").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try "1 0\r\n1 1\r\n".write(toFile: path, atomically: true, encoding: .utf8)
    let run = CapturedRun(["simulate", "--algorithm", "block-sparse", "--seq-len", "16", "--head-dim", "8", "--block-rows", "8", "--block-cols", "8", "--mask", path])
    XCTAssertEqual(run.code, 0, run.stderr)
    try "1 0\r\n1 x\r\n".write(toFile: path, atomically: true, encoding: .utf8)
    assertFails(["simulate", "--algorithm", "block-sparse", "--seq-len", "16", "--head-dim", "8", "--mask", path], code: 2, mentions: ["line 2"])
  }

  func testDeviceFileSourceMustBeAString() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("source-\(UUID().uuidString).json").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    for source in ["[1, 2]", "true", "null", "{\"a\": 1}", "3"] {
      let text = """
        {"name": "x", "source": \(source), "levels": {"hbm": {"capacityBytes": 40000000000, "bytesPerSecond": 1.5e12},
         "sram": {"capacityBytes": 196608, "bytesPerSecond": 1.9e13, "count": 108}},
         "compute": {"matmulFLOPsPerSecond": 3.1e14, "otherFLOPsPerSecond": 1.9e13}}
        """
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      assertFails(["simulate", "--algorithm", "flash", "--seq-len", "64", "--head-dim", "16", "--device", path], code: 2, mentions: ["source"])
    }
  }

  /// Item 6, last bullet: all-NaN Q gives NaN dK; that is a failed check, never an error of 0.
  func testNaNOutputsTheInputsDoNotForceFailTheCheck() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aio-nan-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let (n, d) = (16, 8)
    var rng = SplitMix64(seed: 16)
    try NPY.write(NPYArray(shape: [n, d], values: [Float](repeating: .nan, count: n * d)), to: directory + "/q.npy", overwrite: false)
    for name in ["k", "v", "do"] {
      try NPY.write(NPYArray(shape: [n, d], values: rng.normals(n * d)), to: directory + "/\(name).npy", overwrite: false)
    }
    let run = CapturedRun([
      "simulate", "--algorithm", "flash", "--seq-len", "\(n)", "--head-dim", "\(d)", "--mode", "execute", "--pass", "both",
      "--inputs", directory, "--format", "json", "--threads", "1",
    ])
    XCTAssertEqual(run.code, 1, run.stderr)
    XCTAssertEqual(run.stderr.filter(\.isNewline).count, 1, run.stderr)
    XCTAssertTrue(run.stderr.contains("check failed"), run.stderr)
    let json = try JSONValue.parse(run.stdout)
    XCTAssertEqual(json[path: "check.passed"], .bool(false))
    XCTAssertGreaterThan(try XCTUnwrap(json[path: "check.nonFiniteOutputs"]?.intValue), 0)
    XCTAssertNotEqual(json[path: "check.maxRelativeError"]?.doubleValue, 0)
  }

  func testCheckModesAreReported() throws {
    let base = ["simulate", "--algorithm", "flash", "--seq-len", "300", "--head-dim", "8", "--mode", "execute", "--format", "json", "--threads", "1"]
    for (mode, rows) in [("full", 300), ("sampled", 256), ("none", 0)] {
      let run = CapturedRun(base + ["--check", mode])
      XCTAssertEqual(run.code, 0, run.stderr)
      let json = try JSONValue.parse(run.stdout)
      XCTAssertEqual(json[path: "check.mode"]?.stringValue, mode)
      XCTAssertEqual(json[path: "check.rowsChecked"]?.intValue, rows)
      XCTAssertEqual(json[path: "check.maxRelativeError"] == nil, mode == "none")
    }
    let automatic = try JSONValue.parse(CapturedRun(base).stdout)
    XCTAssertEqual(automatic[path: "check.mode"]?.stringValue, "full")
    assertFails(["simulate", "--algorithm", "flash", "--seq-len", "16", "--head-dim", "8", "--check", "full"], code: 2, mentions: ["--mode execute"])
    assertFails(base + ["--check", "some"], code: 2, mentions: ["--check"])
    assertFails(base + ["--max-memory", "lots"], code: 2, mentions: ["--max-memory"])
  }

  /// Count mode does not loop over batch × heads: a hundred million heads cost one head.
  func testCountModeWithManyHeads() throws {
    let run = CapturedRun(["simulate", "--algorithm", "flash", "--seq-len", "64", "--head-dim", "16", "--batch", "100000000", "--heads", "16", "--format", "json"])
    XCTAssertEqual(run.code, 0, run.stderr)
    let one = CapturedRun(["simulate", "--algorithm", "flash", "--seq-len", "64", "--head-dim", "16", "--format", "json"])
    let total = try XCTUnwrap(try JSONValue.parse(run.stdout)[path: "hbm.readElements"]?.intValue)
    let head = try XCTUnwrap(try JSONValue.parse(one.stdout)[path: "hbm.readElements"]?.intValue)
    XCTAssertEqual(total, head * 1_600_000_000)
  }
}
