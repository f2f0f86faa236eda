import AttentionIO
import Foundation
import XCTest

final class TraceCommandTests: XCTestCase {
  func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("trace-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
  }

  func testDefaultTextIsTheTeachingRun() throws {
    let run = CapturedRun(["trace", "--algorithm", "flash", "--format", "text"])
    XCTAssertEqual(run.code, 0, run.stderr)
    XCTAssertEqual(run.stderr, "")
    let problem = try AttentionProblem(sequenceLength: 16, headDimension: 8, seed: 0)
    XCTAssertEqual(run.stdout, TraceText.render(try Trace.record(.flash, problem: problem, spec: .teaching)))
    XCTAssertEqual(CapturedRun(["trace", "--algorithm", "flash"]).stdout, run.stdout, "text is the default format")
  }

  /// Every registered kernel is listed by `trace --help` and traced in every format.
  func testEveryRegisteredKernelIsListedAndTraced() throws {
    let help = CapturedRun(["trace", "--help"])
    XCTAssertEqual(help.code, 0, help.stderr)
    for kernel in KernelRegistry.kernels {
      let flags = "--algorithm \(kernel.algorithm.rawValue) --pass \(kernel.pass.rawValue)"
      XCTAssertTrue(help.stdout.contains(flags), flags)
      XCTAssertTrue(help.stdout.contains(kernel.title), kernel.title)
      for format in ["text", "csv", "chrome"] {
        let run = CapturedRun(["trace"] + flags.split(separator: " ").map(String.init) + ["--format", format])
        XCTAssertEqual(run.code, 0, "\(flags) \(format): \(run.stderr)")
        XCTAssertEqual(run.stderr, "", "\(flags) \(format)")
      }
    }
    let html = CapturedRun(["trace", "--algorithm", "flash", "--pass", "backward", "--format", "html"])
    XCTAssertEqual(html.code, 0, html.stderr)
    XCTAssertTrue(html.stdout.contains("FlashAttention backward (Algorithm 4) vs standard attention backward (Algorithm 3, tiled)"))
    let problem = try AttentionProblem(sequenceLength: 16, headDimension: 8, seed: 0)
    let text = CapturedRun(["trace", "--algorithm", "flash", "--pass", "backward"])
    XCTAssertEqual(text.stdout, TraceText.render(try Trace.record(.flash, pass: .backward, problem: problem, spec: .teaching)))
    for name in PagedDecodeSimulator.traceNames {
      XCTAssertTrue(help.stdout.contains("--algorithm \(name)"), name)
      for format in ["text", "csv", "chrome", "html"] {
        let run = CapturedRun(["trace", "--algorithm", name, "--batch", "2", "--format", format])
        XCTAssertEqual(run.code, 0, "\(name) \(format): \(run.stderr)")
      }
    }
    let decodeFlag = CapturedRun(["trace", "--algorithm", "flash", "--context-len", "40"])
    XCTAssertEqual(decodeFlag.code, 2)
    XCTAssertEqual(decodeFlag.stderr, "error: trace: --context-len goes with --algorithm paged-decode or split-kv-decode\n")
    let masked = CapturedRun(["trace", "--algorithm", "flash", "--mask", "causal"])
    XCTAssertEqual(masked.code, 2)
    XCTAssertEqual(masked.stderr, "error: trace: --mask and --skip-empty-columns need --algorithm block-sparse\n")
  }

  func testProblemFlagsAndLevels() throws {
    let run = CapturedRun([
      "trace", "--algorithm", "standard", "--seq-len", "12", "--head-dim", "4", "--device", "a100-40gb",
      "--sram-bytes", "256", "--block-rows", "4", "--block-cols", "4", "--dtype", "fp32", "--seed", "3", "--level", "summary",
    ])
    XCTAssertEqual(run.code, 0, run.stderr)
    XCTAssertTrue(run.stdout.contains("N = 12, d = 4, fp32 data"), run.stdout)
    XCTAssertTrue(run.stdout.contains("a100-40gb: SRAM 256 B"), run.stdout)
    XCTAssertFalse(run.stdout.contains("   step        start  event"))
  }

  func testCSVAndChromeOnStandardOutput() throws {
    let csv = CapturedRun(["trace", "--algorithm", "standard", "--format", "csv"])
    XCTAssertEqual(csv.code, 0, csv.stderr)
    XCTAssertTrue(csv.stdout.hasPrefix(TraceCSV.columns.joined(separator: ",") + "\n"))
    let chrome = CapturedRun(["trace", "--algorithm", "flash", "--format", "chrome", "--compare", "standard", "--time-scale", "1000"])
    XCTAssertEqual(chrome.code, 0, chrome.stderr)
    let json = try JSONValue.parse(chrome.stdout)
    let pids = Set(try XCTUnwrap(json["traceEvents"]?.arrayValue).compactMap { $0["pid"]?.intValue })
    XCTAssertEqual(pids, [1, 2])
  }

  func testOutWritesAtomicallyAndNeverOverwritesWithoutForce() throws {
    let directory = try temporaryDirectory()
    let path = directory.appendingPathComponent("flash.html").path
    let first = CapturedRun(["trace", "--algorithm", "flash", "--format", "html", "--out", path])
    XCTAssertEqual(first.code, 0, first.stderr)
    XCTAssertTrue(first.stdout.hasPrefix("wrote \(path) (html, flash 218 steps, standard 96 steps"), first.stdout)
    let html = try String(contentsOfFile: path, encoding: .utf8)
    XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
    XCTAssertFalse(html.contains("http:") || html.contains("https:"))

    let again = CapturedRun(["trace", "--algorithm", "standard", "--format", "csv", "--out", path])
    XCTAssertEqual(again.code, 1)
    XCTAssertEqual(again.stdout, "")
    XCTAssertEqual(again.stderr.filter { $0 == "\n" }.count, 1, again.stderr)
    XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), html, "the existing file is untouched")

    let forced = CapturedRun(["trace", "--algorithm", "standard", "--format", "csv", "--out", path, "--force"])
    XCTAssertEqual(forced.code, 0, forced.stderr)
    XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("step,"))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
    XCTAssertEqual(leftovers, ["flash.html"], "no temporary files left behind")

    let missing = CapturedRun(["trace", "--algorithm", "flash", "--out", directory.appendingPathComponent("no/such/dir.txt").path])
    XCTAssertEqual(missing.code, 1)
    XCTAssertEqual(missing.stderr.filter { $0 == "\n" }.count, 1, missing.stderr)
  }

  func testLargeHTMLTracesAreRefusedWithOneLine() {
    let run = CapturedRun(["trace", "--algorithm", "flash", "--seq-len", "128", "--format", "html"])
    XCTAssertEqual(run.code, 1)
    XCTAssertEqual(run.stdout, "")
    XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, run.stderr)
    XCTAssertTrue(run.stderr.contains("5,000 steps"), run.stderr)
    XCTAssertTrue(run.stderr.contains("smaller problem"), run.stderr)
  }

  func testTooManyStepsForAnyFormatIsARuntimeError() {
    let run = CapturedRun(["trace", "--algorithm", "flash", "--seq-len", "512"])
    XCTAssertEqual(run.code, 1)
    XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, run.stderr)
    XCTAssertTrue(run.stderr.contains("smaller problem"), run.stderr)
  }

  func testUsageErrorsExitTwoWithOneLine() {
    let cases: [[String]] = [
      ["trace"],
      ["trace", "--format", "text"],
      ["trace", "--algorithm", "magic"],
      ["trace", "--algorithm", "flash", "--format", "pdf"],
      ["trace", "--algorithm", "flash", "--batch", "2"],
      ["trace", "--algorithm", "flash", "--mode", "count"],
      ["trace", "--algorithm", "flash", "--seq-len", "0"],
      ["trace", "--algorithm", "flash", "--force"],
      ["trace", "--algorithm", "flash", "--format", "html", "--level", "summary"],
      ["trace", "--algorithm", "flash", "--format", "text", "--compare", "standard"],
      ["trace", "--algorithm", "flash", "--format", "html", "--compare", "magic"],
      ["trace", "--algorithm", "flash", "--format", "csv", "--time-scale", "10"],
      ["trace", "--algorithm", "flash", "--format", "chrome", "--time-scale", "-1"],
      ["trace", "--algorithm", "flash", "--block-rows", "4"],
      ["trace", "--algorithm", "flash", "--device", "tpu"],
    ]
    for arguments in cases {
      let run = CapturedRun(arguments)
      XCTAssertEqual(run.code, 2, "\(arguments): \(run.stderr)")
      XCTAssertEqual(run.stdout, "", "\(arguments)")
      XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.stderr)")
      XCTAssertTrue(run.stderr.hasPrefix("error: "), "\(arguments): \(run.stderr)")
    }
  }

  func testHelpListsTheFormatsAndExamples() {
    let run = CapturedRun(["trace", "--help"])
    XCTAssertEqual(run.code, 0)
    for text in ["--format text|chrome|html|csv", "--out FILE", "--force", "--time-scale", "attention-io trace --algorithm flash --format html --out flash.html"] {
      XCTAssertTrue(run.stdout.contains(text), text)
    }
  }
}
