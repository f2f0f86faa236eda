import AttentionIO
import AttentionIOCLI
import Foundation
import XCTest

/// What a new user meets first: --version, -h, help texts, the register file from the command
/// line, the .npy round trip, the default HTML lesson and the trace refusals.
final class FirstContactTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("first-contact-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  func testVersionAndShortHelp() {
    let version = CapturedRun(["--version"])
    XCTAssertEqual(version.code, 0)
    XCTAssertEqual(version.stdout, "attention-io \(CommandLineTool.version)\n")
    XCTAssertEqual(CapturedRun(["-h"]).stdout, CapturedRun(["--help"]).stdout)
    for command in [["demo"], ["simulate"], ["sparsity-sweep"], ["trace"], ["paged"], ["paged", "decode"], ["paged", "waste"],
      ["paged", "share"], ["reproduce"], ["bench"], ["devices"]] {
      let long = CapturedRun(command + ["--help"])
      let short = CapturedRun(command + ["-h"])
      XCTAssertEqual(long.code, 0, "\(command)")
      XCTAssertEqual(short.stdout, long.stdout, "\(command): -h is --help")
      XCTAssertTrue(long.stdout.hasSuffix("\n"), "\(command): help ends with a newline")
      XCTAssertFalse(long.stdout.hasSuffix("\n\n\n"), "\(command)")
    }
  }

  /// The case: 64 MiB of SRAM and explicit blocks whose dP_ij does not fit the register
  /// file. The accumulator is placed in SRAM, and the JSON says where each tile lives.
  func testAnAccumulatorThatDoesNotFitTheRegisterFileSpillsToSRAM() throws {
    let base = ["simulate", "--algorithm", "flash", "--pass", "backward", "--seq-len", "372", "--head-dim", "30",
      "--block-rows", "230", "--block-cols", "205", "--sram-bytes", "67108864", "--dtype", "fp32"]
    let run = CapturedRun(base + ["--format", "json"])
    XCTAssertEqual(run.code, 0, run.stderr)
    let json = try JSONValue.parse(run.stdout)
    guard case let .array(tiles)? = json["passes"]?["backward"]?["tiles"] else { return XCTFail("no passes.backward.tiles") }
    var levels: [String: String] = [:]
    var spilled: [String] = []
    for tile in tiles {
      guard case let .string(name)? = tile["name"], case let .string(level)? = tile["level"] else { return XCTFail("\(tile)") }
      levels[name] = level
      if case .bool(true)? = tile["spilled"] { spilled.append(name) }
    }
    XCTAssertEqual(levels["K_j"], "sram")
    XCTAssertFalse(spilled.isEmpty, "an accumulator spilled: \(levels)")
    XCTAssertTrue(spilled.allSatisfy { levels[$0] == "sram" })
    XCTAssertTrue(levels.values.contains("registers"), "the accumulators that fit stay in registers: \(levels)")
    XCTAssertTrue(CapturedRun(base).stdout.contains("spilled  backward: "), "the table says so too")

    // --register-bytes 0: the paper's model, every tile in SRAM.
    let paper = CapturedRun(base + ["--format", "json", "--register-bytes", "0"])
    XCTAssertEqual(paper.code, 0, paper.stderr)
    let paperJSON = try JSONValue.parse(paper.stdout)
    XCTAssertEqual(paperJSON["registers"]?["capacityBytes"], .int(0))
    XCTAssertEqual(paperJSON["registers"]?["peakBytes"], .int(0))
    XCTAssertFalse(paper.stdout.contains("\"registers\","), "no tile lives in registers")
    XCTAssertEqual(CapturedRun(base + ["--register-bytes", "-1"]).code, 2)
  }

  /// The README's paper-rule example: the forward fits (S in registers), the backward overflows
  /// the SRAM with one line that names the tile; with no register file the forward overflows too.
  func testThePaperRuleAtHeadDimension128() {
    let base = ["simulate", "--algorithm", "flash", "--seq-len", "1024", "--head-dim", "128", "--block-rule", "paper"]
    XCTAssertEqual(CapturedRun(base).code, 0)
    let backward = CapturedRun(base + ["--pass", "backward"])
    XCTAssertEqual(backward.code, 1)
    XCTAssertTrue(backward.stderr.hasPrefix("error: SRAM overflow: tile dQ_i needs 32768 bytes"), backward.stderr)
    XCTAssertEqual(backward.stderr.filter { $0 == "\n" }.count, 1)
    let paperModel = CapturedRun(base + ["--register-bytes", "0"])
    XCTAssertEqual(paperModel.code, 1)
    XCTAssertTrue(paperModel.stderr.contains("SRAM overflow: tile S_ij"), paperModel.stderr)
  }

  func testSaveInputsThenReadThemBackGivesTheSameOutputs() throws {
    let base = ["simulate", "--algorithm", "flash", "--pass", "both", "--seq-len", "24", "--head-dim", "8", "--mode", "execute", "--dtype", "fp32"]
    let inputs = directory.appendingPathComponent("in").path
    let seeded = directory.appendingPathComponent("seeded").path
    let read = directory.appendingPathComponent("read").path
    let save = CapturedRun(base + ["--save-inputs", inputs, "--output-dir", seeded])
    XCTAssertEqual(save.code, 0, save.stderr)
    XCTAssertEqual(save.stderr, "simulate: wrote q.npy, k.npy, v.npy, do.npy to \(inputs); wrote o.npy, dq.npy, dk.npy, dv.npy to \(seeded)\n")
    let again = CapturedRun(base + ["--inputs", inputs, "--output-dir", read])
    XCTAssertEqual(again.code, 0, again.stderr)
    XCTAssertTrue(again.stderr.hasPrefix("simulate: read q.npy, k.npy, v.npy, do.npy from \(inputs); "), again.stderr)
    for name in ["o.npy", "dq.npy", "dk.npy", "dv.npy"] {
      XCTAssertEqual(
        FileManager.default.contents(atPath: seeded + "/" + name), FileManager.default.contents(atPath: read + "/" + name), name)
    }
    XCTAssertEqual(try NPY.read(path: inputs + "/q.npy").shape, [24, 8])
    // Never overwritten without --force; not with --inputs; only in execute mode.
    XCTAssertEqual(CapturedRun(base + ["--save-inputs", inputs]).code, 1)
    XCTAssertEqual(CapturedRun(base + ["--save-inputs", inputs, "--force"]).code, 0)
    XCTAssertEqual(CapturedRun(base + ["--save-inputs", inputs, "--inputs", inputs]).code, 2)
    XCTAssertEqual(CapturedRun(["simulate", "--algorithm", "flash", "--seq-len", "8", "--head-dim", "4", "--save-inputs", inputs]).code, 2)
  }

  func testTheDefaultLessonIsOneWhereFlashAttentionWinsAndTheReversalIsTitled() throws {
    let lesson = directory.appendingPathComponent("flash.html").path
    let run = CapturedRun(["trace", "--algorithm", "flash", "--format", "html", "--out", lesson])
    XCTAssertEqual(run.code, 0, run.stderr)
    let html = try String(contentsOfFile: lesson, encoding: .utf8)
    XCTAssertTrue(html.contains("N = 64, d = 8"), "the first lesson: N = 64 on 2,048 bytes")
    XCTAssertTrue(html.contains("<p>FlashAttention forward (Algorithm 1) moves "), "FlashAttention wins the default lesson")
    XCTAssertFalse(html.contains("When the SRAM is tiny"))
    for glyph in ["⏮", "⏭", "❚"] { XCTAssertFalse(html.contains(glyph), "controls are inline SVG, not \(glyph)") }
    XCTAssertTrue(html.contains("<svg class=\"icon\""))

    let tiny = directory.appendingPathComponent("tiny.html").path
    XCTAssertEqual(CapturedRun(["trace", "--algorithm", "flash", "--format", "html", "--device", "teaching", "--out", tiny]).code, 0)
    let tinyHTML = try String(contentsOfFile: tiny, encoding: .utf8)
    XCTAssertTrue(tinyHTML.contains("<h1>When the SRAM is tiny, standard attention wins: "), "the reversal has its own title")
    XCTAssertTrue(tinyHTML.contains("N = 16, d = 8"))
  }

  /// `--out out/flash.html` in a fresh clone: the missing `out/` is created (one level only).
  func testAMissingOutputFolderIsCreated() throws {
    let lesson = directory.appendingPathComponent("out/flash.html").path
    let trace = CapturedRun(["trace", "--algorithm", "flash", "--format", "csv", "--out", lesson])
    XCTAssertEqual(trace.code, 0, trace.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: lesson))
    let csv = directory.appendingPathComponent("sweeps/sweep.csv").path
    let sweep = CapturedRun(["sparsity-sweep", "--seq-len", "64", "--head-dim", "8", "--mode", "count", "--patterns", "dense", "--csv", csv])
    XCTAssertEqual(sweep.code, 0, sweep.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: csv))
    let deep = CapturedRun(["trace", "--algorithm", "flash", "--out", directory.appendingPathComponent("a/b/c.txt").path])
    XCTAssertEqual(deep.code, 1, "a longer missing path is an error")
  }

  func testStepLimitRefusalsGroupNumbersAndGiveAdviceThatWorks() {
    // Too long for HTML but within the other formats' limit: --format chrome is suggested.
    let html = CapturedRun(["trace", "--algorithm", "flash", "--seq-len", "128", "--format", "html"])
    XCTAssertEqual(html.code, 1)
    XCTAssertTrue(html.stderr.contains("at most 5,000 steps"), html.stderr)
    XCTAssertTrue(html.stderr.contains("--format chrome"), html.stderr)
    // Too long for every format: chrome is not suggested, and numbers are grouped the same way.
    let huge = CapturedRun(["trace", "--algorithm", "flash", "--seq-len", "2048", "--format", "html"])
    XCTAssertEqual(huge.code, 1)
    XCTAssertFalse(huge.stderr.contains("--format chrome"), huge.stderr)
    let chrome = CapturedRun(["trace", "--algorithm", "flash", "--seq-len", "2048", "--format", "chrome"])
    XCTAssertEqual(chrome.code, 1)
    XCTAssertTrue(chrome.stderr.contains("limit of 20,000"), chrome.stderr)
    for stderr in [html.stderr, huge.stderr, chrome.stderr] {
      XCTAssertNil(stderr.range(of: "[0-9]{5,}", options: .regularExpression), "numbers are grouped: \(stderr)")
      XCTAssertEqual(stderr.filter { $0 == "\n" }.count, 1, stderr)
    }
  }
}
