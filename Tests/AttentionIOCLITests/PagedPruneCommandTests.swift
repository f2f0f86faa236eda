import AttentionIO
import AttentionIOCLI
import Foundation
import XCTest

final class PagedPruneCommandTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("attention-io-prune-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  static let small = ["--prompt-len", "60", "--steps", "6", "--block-size", "4", "--head-dim", "8", "--query-heads", "4", "--kv-heads", "2"]

  func testSingleRunPrintsEachStepBesideFull() {
    let run = CapturedRun(["paged", "prune", "--policy", "quest:4", "--every", "1"] + Self.small)
    XCTAssertEqual(run.code, 0, run.stderr)
    for text in ["read (full)", "read (quest:4)", "KV held (full)", "rel. error", "recall", "every step's traffic equals its closed form"] {
      XCTAssertTrue(run.stdout.contains(text), text + "\n" + run.stdout)
    }
    XCTAssertTrue(run.stderr.contains("step 6/6"), run.stderr)
    let h2o = CapturedRun(["paged", "prune", "--policy", "h2o:8,8", "--mode", "execute"] + Self.small)
    XCTAssertEqual(h2o.code, 0, h2o.stderr)
    XCTAssertTrue(h2o.stdout.contains("tokens moved"), h2o.stdout)
    XCTAssertTrue(h2o.stdout.contains("kernel vs float64"), h2o.stdout)
  }

  func testJSONHasTheRunTheFullBaselineAndEveryStep() throws {
    let run = CapturedRun(["paged", "prune", "--policy", "streaming:4,16", "--format", "json"] + Self.small)
    XCTAssertEqual(run.code, 0, run.stderr)
    let json = try JSONValue.parse(run.stdout)
    XCTAssertEqual(json["run"]?["policy"]?.stringValue, "streaming:4,16")
    XCTAssertEqual(json["run"]?["closedFormMatches"], JSONValue.bool(true))
    XCTAssertEqual(json["full"]?["relativeErrorMean"]?.doubleValue, 0)
    guard let stepsValue = json["steps"], case let JSONValue.array(steps) = stepsValue else { return XCTFail(run.stdout) }
    XCTAssertEqual(steps.count, 6)
    XCTAssertLessThan(steps[5]["memoryHeldBytes"]?.intValue ?? .max, steps[5]["fullMemoryHeldBytes"]?.intValue ?? 0)
  }

  func testSweepWritesOneCSVRowPerPolicyAndBudgetAndAnSVG() throws {
    let csv = directory.appendingPathComponent("out.csv").path
    let run = CapturedRun(["paged", "prune", "--sweep", "--csv", csv, "--budgets", "0.25,0.5"] + Self.small)
    XCTAssertEqual(run.code, 0, run.stderr)
    let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 1 + 1 + 3 * 2)
    let header = lines[0].split(separator: ",").map(String.init)
    for column in ["policy", "budget_fraction", "bytes_read", "memory_held_bytes", "relative_error_mean", "recall_mean"] {
      XCTAssertTrue(header.contains(column), column)
    }
    XCTAssertTrue(lines[1].hasPrefix("full,"))
    let svg = try String(contentsOfFile: directory.appendingPathComponent("out.svg").path, encoding: .utf8)
    XCTAssertTrue(svg.hasPrefix("<svg"))
    for name in ["quest", "streaming", "h2o", "Bytes read per decode step vs error", "KV memory held vs error"] {
      XCTAssertTrue(svg.contains(name), name)
    }
    // Nothing the user has is overwritten without --force.
    let again = CapturedRun(["paged", "prune", "--sweep", "--csv", csv, "--budgets", "0.5"] + Self.small)
    XCTAssertEqual(again.code, 1)
    XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
    XCTAssertEqual(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").count, 8)
    let forced = CapturedRun(["paged", "prune", "--sweep", "--csv", csv, "--budgets", "0.5", "--force"] + Self.small)
    XCTAssertEqual(forced.code, 0, forced.stderr)
    XCTAssertEqual(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").count, 5)
  }

  func testNPYInputsAreRead() throws {
    let (n, d) = (40, 4)
    var rng = SeededRandom(seed: 5)
    try NPY.write(NPYArray(shape: [2, n, d], values: rng.normals(2 * n * d)), to: directory.appendingPathComponent("q.npy").path)
    try NPY.write(NPYArray(shape: [1, n, d], values: rng.normals(n * d)), to: directory.appendingPathComponent("k.npy").path)
    try NPY.write(NPYArray(shape: [1, n, d], values: rng.normals(n * d)), to: directory.appendingPathComponent("v.npy").path)
    let run = CapturedRun(["paged", "prune", "--inputs", directory.path, "--policy", "streaming:2,8", "--block-size", "4"])
    XCTAssertEqual(run.code, 0, run.stderr)
    XCTAssertTrue(run.stdout.contains("P=30 + T=10"), run.stdout)
    XCTAssertTrue(run.stdout.contains("h_q=2, h_kv=1"), run.stdout)
    let short = CapturedRun(["paged", "prune", "--inputs", directory.path, "--prompt-len", "40", "--steps", "5"])
    XCTAssertEqual(short.code, 2)
    XCTAssertTrue(short.stderr.contains("40 tokens"), short.stderr)
  }

  func testBadInputIsOneLineWithTheRightExitCode() {
    let usage: [[String]] = [
      ["paged", "prune", "--policy", "quest:0"] + Self.small,
      ["paged", "prune", "--policy", "topk:3"] + Self.small,
      ["paged", "prune", "--policy", "streaming:4"] + Self.small,
      ["paged", "prune", "--policy", "quest:4", "--sweep"] + Self.small,
      ["paged", "prune", "--csv", "x.csv"] + Self.small,
      ["paged", "prune", "--sweep", "--budgets", "0,2"] + Self.small,
      ["paged", "prune", "--sweep", "--families", "quest,magic"] + Self.small,
      ["paged", "prune", "--inputs", "/nonexistent-directory"] + Self.small,
      ["paged", "prune", "--prompt-len", "0"] + Self.small.dropFirst(2),
      ["paged", "prune", "--query-heads", "3", "--kv-heads", "2"],
      ["paged", "prune", "--locality", "0"] + Self.small,
      ["paged", "prune", "--dtype", "u8"] + Self.small,
      ["paged", "prune", "--prompt-len", "1000000", "--head-dim", "1024"],
      ["paged", "prune", "--policy", "full", "--show-step", "7"] + Self.small,
    ]
    for arguments in usage {
      let run = CapturedRun(arguments)
      XCTAssertEqual(run.code, 2, "\(arguments): \(run.stderr)")
      XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.stderr)")
      XCTAssertTrue(run.stderr.hasPrefix("error: "), run.stderr)
    }
    let help = CapturedRun(["paged", "prune", "--help"])
    for flag in ["--policy", "--sweep", "--csv", "--svg", "--force", "--prompt-len", "--steps", "--inputs", "--sinks", "--heavy-hitters"] {
      XCTAssertTrue(help.stdout.contains(flag), flag)
    }
    XCTAssertTrue(CapturedRun(["paged", "--help"]).stdout.contains("prune"))
  }
}
