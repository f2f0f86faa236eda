import Foundation
import XCTest

/// `attention-io reproduce --out DIR [--quick] [--force]`: files, progress, refusal to overwrite,
/// one-line errors and exit codes.
final class ReproduceCommandTests: XCTestCase {
  var root = ""

  override func setUp() {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("reproduce-\(UUID().uuidString)").path
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: root)
  }

  func lines(_ text: String) -> [Substring] { text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() }

  func testQuickRunCreatesTheDirectoryAndEveryFileThenRefusesToOverwrite() throws {
    let out = root + "/a/b"
    let run = CapturedRun(["reproduce", "--quick", "--out", out, "--threads", "2"])
    XCTAssertEqual(run.code, 0, run.stderr)
    let files = Set(try FileManager.default.contentsOfDirectory(atPath: out))
    XCTAssertTrue(files.contains("report.md"))
    for name in ["theorem2", "proposition3", "proposition4", "theorem5", "figure2-left", "figure2-middle", "figure2-right", "table21"] {
      XCTAssertTrue(files.contains(name + ".csv"), name)
    }
    XCTAssertGreaterThanOrEqual(files.filter { $0.hasSuffix(".svg") }.count, 8)
    XCTAssertFalse(files.contains { $0.hasPrefix(".") }, "no temporary files left: \(files)")
    // One progress line per experiment on stderr, nothing else.
    let progress = lines(run.stderr)
    XCTAssertEqual(progress.count, 8, run.stderr)
    XCTAssertTrue(progress.allSatisfy { $0.hasPrefix("reproduce: [") }, run.stderr)
    XCTAssertTrue(run.stdout.contains("report.md"), run.stdout)
    XCTAssertEqual(lines(run.stdout).count, 1, run.stdout)
    let report = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
    XCTAssertTrue(report.contains("attention-io reproduce --quick --out \(out) --threads 2"), "the exact command line")
    XCTAssertTrue(report.contains("![figure2-middle.svg](figure2-middle.svg)"))
    let csv = try String(contentsOfFile: out + "/figure2-left.csv", encoding: .utf8)
    XCTAssertTrue(csv.hasPrefix("implementation,hbm_gb,gflops,runtime_ms\nstandard,"), csv)

    // A second run without --force: one line, exit 1, before any experiment runs, files untouched.
    try "keep me".write(toFile: out + "/report.md", atomically: true, encoding: .utf8)
    let again = CapturedRun(["reproduce", "--quick", "--out", out])
    XCTAssertEqual(again.code, 1)
    XCTAssertEqual(again.stdout, "")
    XCTAssertEqual(lines(again.stderr).count, 1, again.stderr)
    XCTAssertTrue(again.stderr.hasPrefix("error: reproduce: "), again.stderr)
    XCTAssertTrue(again.stderr.contains("already exists") && again.stderr.contains("--force"), again.stderr)
    XCTAssertEqual(try String(contentsOfFile: out + "/report.md", encoding: .utf8), "keep me")

    // With --force it overwrites.
    let forced = CapturedRun(["reproduce", "--quick", "--force", "--out", out])
    XCTAssertEqual(forced.code, 0, forced.stderr)
    XCTAssertNotEqual(try String(contentsOfFile: out + "/report.md", encoding: .utf8), "keep me")
  }

  func testOutMustBeGivenAndBeADirectory() throws {
    let missing = CapturedRun(["reproduce", "--quick"])
    XCTAssertEqual(missing.code, 2)
    XCTAssertEqual(lines(missing.stderr).count, 1, missing.stderr)
    XCTAssertTrue(missing.stderr.contains("--out"), missing.stderr)

    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let file = root + "/plain-file"
    try "x".write(toFile: file, atomically: true, encoding: .utf8)
    let notDirectory = CapturedRun(["reproduce", "--quick", "--out", file])
    XCTAssertEqual(notDirectory.code, 1)
    XCTAssertEqual(lines(notDirectory.stderr).count, 1, notDirectory.stderr)
    XCTAssertTrue(notDirectory.stderr.contains("not a directory"), notDirectory.stderr)
  }

  func testUnknownOptionIsAUsageErrorAndHelpListsTheFlags() {
    let unknown = CapturedRun(["reproduce", "--out", root, "--fast"])
    XCTAssertEqual(unknown.code, 2)
    XCTAssertEqual(lines(unknown.stderr).count, 1, unknown.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: root), "nothing created on a usage error")
    let help = CapturedRun(["reproduce", "--help"])
    XCTAssertEqual(help.code, 0)
    for flag in ["--out DIR", "--quick", "--force"] { XCTAssertTrue(help.stdout.contains(flag), flag) }
  }
}
