import Foundation
import Reports
import XCTest
import _TestSupport

/// A seeded, in-process fuzzer over the whole CLI (issue 16). Each vector is a command with
/// random options and values: mostly small valid sizes in count mode, with sizes at and past
/// every limit, garbage, line breaks and malformed files mixed in. Every vector must end with
/// exit 0 and output, or exit 1 or 2 and exactly one line on stderr; a trap kills the test run.
/// Commands that do minutes of work (reproduce, bench) always get one invalid value, and must
/// then touch no file.
final class CLIFuzzTests: XCTestCase {
  struct Fuzzer {
    var rng: SplitMix64
    let scratch: String

    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(rng.next() % UInt64(range.count)) }
    mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 1_000_000) / 1e6 < p }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    /// Values past the limits, and values that are not numbers.
    static let extremes = [
      "0", "-1", "9223372036854775807", "9223372036854775808", "4611686018427387904", "1125899906842624", "1125899906842625",
      "4294967296", "2147483648", "9007199254740993", "1000000000000", "1e3", "", " ", "abc", "8\nx", "0x10", "+5", "٣",
    ]

    /// A size: small and valid most of the time.
    mutating func size(small: ClosedRange<Int> = 1...48) -> String {
      chance(0.93) ? String(int(small)) : pick(Self.extremes)
    }

    mutating func path(_ name: String) -> String { scratch + "/" + name + "-" + String(rng.next() % 1_000_000_000) }

    /// Options of `simulate`, `sparsity-sweep` and `trace` that describe the problem.
    mutating func problemOptions(execute: Bool, trace: Bool = false) -> [String] {
      var args: [String] = []
      let small = execute ? 1...16 : 1...64
      if !trace || chance(0.7) { args += ["--seq-len", size(small: small)] }
      if !trace || chance(0.7) { args += ["--head-dim", size(small: execute ? 1...8 : 1...32)] }
      if !trace && chance(0.3) { args += ["--batch", execute ? String(int(1...2)) : size(small: 1...1000)] }
      if !trace && chance(0.3) { args += ["--heads", execute ? String(int(1...2)) : size(small: 1...64)] }
      if chance(0.3) { args += ["--dtype", pick(["fp32", "fp16", "bf16", "fp8", "FP32"])] }
      if chance(0.1) { args += ["--scale", pick(["0.5", "0", "-1", "inf", "nan", "1e308", "x"])] }
      if !trace && chance(0.15) { args.append("--causal") }
      if !trace && chance(0.1) { args += ["--valid-lengths", pick(["1", "1,2", "0", "-1", "5,x", "", "99999999999999999999"])] }
      if !trace && chance(0.1) { args += ["--dropout", pick(["0", "0.1", "0.99", "1", "-0.1", "nan"])] }
      if chance(0.2) { args += ["--device", pick(["a100-40gb", "h100-sxm", "teaching", "tpu", scratch + "/none.json"])] }
      if chance(0.3) {
        args += ["--sram-bytes", chance(0.6) ? String(int(1...300_000)) : pick(Self.extremes + ["1000000000", "1000000000000"])]
      }
      if chance(0.2) { args += ["--block-rows", size(small: 1...64), "--block-cols", size(small: 1...64)] }
      if chance(0.05) { args += ["--block-rows", "4"] }
      if chance(0.15) { args += ["--block-rule", pick(["fit", "paper", "best"])] }
      if chance(0.1) { args += ["--seed", pick(["0", "7", "18446744073709551615", "-1", "x"])] }
      if !trace && chance(0.05) { args += ["--input-distribution", pick(["normal", "local", "local:0.5", "local:1", "x"])] }
      if !trace && chance(0.1) { args += ["--threads", pick(["1", "2", "0", "-3", "x"])] }
      return args
    }

    mutating func simulate() -> [String] {
      let execute = chance(0.1)
      var args = ["simulate"]
      if chance(0.97) {
        args += ["--algorithm", pick(["standard", "standard-unfused", "flash", "flash2", "block-sparse", "block-sparse", "magic"])]
      }
      args += problemOptions(execute: execute)
      if execute { args += ["--mode", "execute"] } else if chance(0.1) { args += ["--mode", pick(["count", "fast"])] }
      if chance(0.2) { args += ["--pass", pick(["forward", "backward", "both", "sideways"])] }
      if args.contains("block-sparse") || chance(0.05) {
        args += ["--mask", pick(["dense", "causal", "local:2", "local:0", "strided:3", "butterfly", "random:0.5", "random:2",
          "global-local:1,2", "sinks-window:1,2", "topk:2", "topk:0", "nonsense", "local:99999999999999999999"])]
        if chance(0.2) { args.append("--skip-empty-columns") }
      }
      if chance(0.2) { args += ["--format", pick(["table", "json", "xml"])] }
      if chance(0.05) { args += ["--output-dir", path("out")] }
      if chance(0.05) { args += ["--max-memory", pick(["1", "1K", "1G", "x", "0", "99999999999T"])] }
      if execute && chance(0.2) { args += ["--check", pick(["full", "sampled", "none", "half"])] }
      if chance(0.02) { args.append("--bogus") }
      return args
    }

    mutating func sweep() -> [String] {
      var args = ["sparsity-sweep"] + problemOptions(execute: false)
      args += ["--mode", chance(0.95) ? "count" : "fast"]
      if chance(0.3) { args += ["--patterns", pick(["dense;causal", "local:2", "topk:1;random:0.25", "x;y", "", "local:2;"])] }
      if chance(0.2) { args.append("--show-masks") }
      if chance(0.2) { args += ["--pass", pick(["forward", "both", "up"])] }
      if chance(0.1) { args += ["--csv", path("sweep.csv")] }
      if chance(0.2) { args += ["--format", pick(["table", "json", "yaml"])] }
      return args
    }

    mutating func trace() -> [String] {
      var args = ["trace"]
      if chance(0.95) { args += ["--algorithm", pick(["standard", "flash", "flash2", "standard-unfused", "nope"])] }
      args += problemOptions(execute: true, trace: true)
      let format = pick(["text", "chrome", "html", "csv", "pdf"])
      args += ["--format", format]
      if chance(0.1) { args += ["--level", pick(["summary", "transfers", "all", "none"])] }
      if chance(0.1) { args += ["--compare", pick(["standard", "flash", "none", "x"])] }
      if chance(0.1) { args += ["--time-scale", pick(["1000", "0", "-1", "x"])] }
      if chance(0.1) { args += ["--out", path("trace")] }
      if chance(0.05) { args.append("--force") }
      return args
    }

    mutating func paged() -> [String] {
      switch int(0...2) {
      case 0:
        var args = ["paged", "decode"]
        if chance(0.95) { args += ["--context-len", size(small: 1...200)] }
        if chance(0.95) { args += ["--block-size", size(small: 1...32)] }
        if chance(0.95) { args += ["--head-dim", size(small: 1...64)] }
        if chance(0.3) { args += ["--batch", size(small: 1...8)] }
        if chance(0.3) { args += ["--query-heads", size(small: 1...8)] }
        if chance(0.3) { args += ["--kv-heads", size(small: 1...8)] }
        if chance(0.2) { args += ["--kv-reads", pick(["per-query-head", "per-kv-head", "x"])] }
        if chance(0.3) { args += ["--splits", size(small: 1...8)] }
        if chance(0.1) { args += ["--mode", pick(["count", "execute", "x"])] }
        if chance(0.2) { args += ["--sram-bytes", chance(0.5) ? String(int(1...300_000)) : pick(Self.extremes)] }
        if chance(0.2) { args += ["--dtype", pick(["fp32", "fp16", "bf16", "int8"])] }
        if chance(0.2) { args += ["--format", pick(["table", "json", "csv"])] }
        return args
      case 1:
        var args = ["paged", "waste"]
        args += ["--requests", chance(0.1) ? pick(Self.extremes) : String(int(1...12))]
        if chance(0.3) { args += ["--block-size", size(small: 1...64)] }
        if chance(0.3) { args += ["--workload", pick(["sharegpt", "alpaca", "x"])] }
        if chance(0.2) { args += ["--rate", pick(["1", "0.5", "0", "-1", "inf", "x"])] }
        if chance(0.2) { args += ["--seed", pick(["1", "x"])] }
        if chance(0.2) { args += ["--format", pick(["table", "json", "x"])] }
        return args
      default:
        // ShareGPT's long outputs make a share run slow in a debug build: mostly Alpaca.
        var args = ["paged", "share"]
        args += ["--requests", chance(0.1) ? pick(Self.extremes) : String(int(1...3))]
        if chance(0.3) { args += ["--block-size", size(small: 8...64)] }
        args += ["--workload", chance(0.9) ? "alpaca" : pick(["sharegpt", "x"])]
        if chance(0.2) { args += ["--format", pick(["table", "json", "x"])] }
        return args
      }
    }

    /// reproduce, bench and demo: real runs take minutes, so one value is always invalid.
    mutating func heavy() -> [String] {
      let bad = pick(["0", "-1", "x", "", "9223372036854775808", "1\n2"])
      switch int(0...2) {
      case 0:
        var args = ["reproduce", "--threads", bad]
        if chance(0.6) { args += ["--out", path("reproduction")] }
        if chance(0.5) { args.append("--quick") }
        if chance(0.2) { args.append("--force") }
        return args.shuffledPairs(&rng)
      case 1:
        var args = ["bench", "--reps", bad]
        if chance(0.5) { args.append("--quick") }
        if chance(0.3) { args += ["--seq-len", pick(["64", "64,128", "x", "0"])] }
        if chance(0.3) { args += ["--head-dim", pick(["64", "x"])] }
        if chance(0.3) { args += ["--threads", pick(["1", "2", "3"])] }
        if chance(0.3) { args.append("--json") }
        return args.shuffledPairs(&rng)
      default:
        return ["demo", "--threads", bad] + (chance(0.5) ? ["--steps", pick(["1", "3", "0", "x"])] : [])
      }
    }

    mutating func vector() -> [String] {
      let roll = int(0...99)
      switch roll {
      case 0..<45: return simulate()
      case 45..<60: return sweep()
      case 60..<72: return trace()
      case 72..<88: return paged()
      case 88..<96: return heavy()
      case 96..<98: return ["devices"] + (chance(0.5) ? ["--format", pick(["json", "table", "x"])] : [])
      default: return [pick(["help", "--help", "nothing", "", "simulate", "paged", "paged nothing"])]
      }
    }
  }

  struct Outcome {
    var vectors = 0
    var exits: [Int32: Int] = [:]
    var slowest = (seconds: 0.0, arguments: [String]())
    var slow: [(seconds: Double, arguments: [String])] = []
  }

  /// Checks the contract of one run; returns its exit code.
  func check(_ arguments: [String], writes: [String], outcome: inout Outcome, file: StaticString = #filePath, line: UInt = #line) {
    let start = Date()
    let run = CapturedRun(arguments)
    let seconds = Date().timeIntervalSince(start)
    if seconds > outcome.slowest.seconds { outcome.slowest = (seconds, arguments) }
    if seconds > 0.1 { outcome.slow.append((seconds, arguments)) }
    outcome.vectors += 1
    outcome.exits[run.code, default: 0] += 1
    let shown = arguments.map { $0.debugDescription }.joined(separator: " ")
    switch run.code {
    case 0:
      XCTAssertFalse(run.stdout.isEmpty, "no output: \(shown)", file: file, line: line)
    case 1, 2:
      XCTAssertEqual(run.stderr.filter(\.isNewline).count, 1, "\(shown): \(run.stderr)", file: file, line: line)
      XCTAssertTrue(run.stderr.hasPrefix("error: ") && run.stderr.hasSuffix("\n"), "\(shown): \(run.stderr)", file: file, line: line)
      if run.code == 2 {
        for path in writes {
          XCTAssertFalse(FileManager.default.fileExists(atPath: path), "usage error but \(path) exists: \(shown)", file: file, line: line)
        }
      }
    default:
      XCTFail("exit \(run.code): \(shown): \(run.stderr)", file: file, line: line)
    }
  }

  func scratchDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("aio-fuzz-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  func testArgumentVectors() throws {
    let scratch = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let seed: UInt64 = 0x16_F022
    var fuzzer = Fuzzer(rng: SplitMix64(seed: seed), scratch: scratch)
    var outcome = Outcome()
    let start = Date()
    for _ in 0..<2_000 {
      let arguments = fuzzer.vector()
      let writes = zip(arguments, arguments.dropFirst()).filter { ["--out", "--output-dir", "--csv"].contains($0.0) }.map(\.1)
      check(arguments, writes: writes, outcome: &outcome)
    }
    print(
      "CLI fuzz (seed \(seed)): \(outcome.vectors) argument vectors in \(String(format: "%.1f", Date().timeIntervalSince(start))) s, exits "
        + outcome.exits.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        + String(format: "; slowest %.2f s: ", outcome.slowest.seconds) + outcome.slowest.arguments.joined(separator: " "))
    for (seconds, arguments) in outcome.slow.sorted(by: { $0.seconds > $1.seconds }).prefix(40) {
      print(String(format: "  slow %.2f s: ", seconds) + arguments.map { $0.debugDescription }.joined(separator: " "))
    }
    XCTAssertEqual(outcome.vectors, 2_000)
    XCTAssertGreaterThan(outcome.exits[0] ?? 0, 200, "too few vectors get past validation to exercise the runs")
  }

  /// Device JSON files: a valid file, truncated, with fields of the wrong type, missing,
  /// negative, huge or nested.
  func testMalformedDeviceFiles() throws {
    let scratch = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    var rng = SplitMix64(seed: 0x16_DE71CE)
    let valid = DeviceFile.json(for: .a100_40GB).serialized(pretty: false)
    let replacements = ["-1", "0", "9223372036854775807", "1e400", "\"x\"", "[]", "{}", "null", "true", "1.5", "1125899906842625", "99999999999999999999"]
    let fields = ["capacityBytes", "bytesPerSecond", "count", "matmulFLOPsPerSecond", "otherFLOPsPerSecond", "name", "source", "levels", "compute", "hbm", "sram"]
    var outcome = Outcome()
    for index in 0..<150 {
      var text = valid
      switch index % 5 {
      case 0: text = String(text.prefix(Int(rng.next() % UInt64(text.count))))
      case 1, 2:
        let field = fields[Int(rng.next() % UInt64(fields.count))]
        if let range = text.range(of: "\"\(field)\":") {
          let rest = text[range.upperBound...]
          let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) ?? rest.endIndex
          text.replaceSubrange(range.upperBound..<end, with: replacements[Int(rng.next() % UInt64(replacements.count))])
        }
      case 3:
        let field = fields[Int(rng.next() % UInt64(fields.count))]
        text = text.replacingOccurrences(of: "\"\(field)\"", with: "\"\(field)x\"")
      default:
        var bytes = Array(text.utf8)
        for _ in 0..<3 { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(rng.next() % 128) }
        text = String(decoding: bytes, as: UTF8.self)
      }
      let path = scratch + "/device-\(index).json"
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      for command in [
        ["simulate", "--algorithm", "flash", "--seq-len", "32", "--head-dim", "8"], ["trace", "--algorithm", "flash"],
        ["paged", "decode", "--context-len", "20", "--block-size", "4", "--head-dim", "8"],
      ] {
        check(command + ["--device", path], writes: [], outcome: &outcome)
      }
    }
    print("CLI fuzz: \(outcome.vectors) runs on malformed device files, exits \(outcome.exits.sorted { $0.key < $1.key })")
  }

  /// NPY inputs: bad magic, versions, headers, dtypes, shapes (huge, negative, wrong rank) and
  /// truncated data.
  func testMalformedNPYInputs() throws {
    let scratch = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    var rng = SplitMix64(seed: 0x16_0A7)
    let (n, d) = (8, 4)
    let good = NPY.serialize(NPYArray(shape: [n, d], values: rng.normals(n * d)))
    let headers = [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4), }",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (8, 4), }",
      "{'descr': '>f4', 'fortran_order': False, 'shape': (8, 4), }",
      "{'descr': '<i4', 'fortran_order': False, 'shape': (8, 4), }",
      "{'descr': '<f4', 'fortran_order': True, 'shape': (8, 4), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 4), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-8, 4), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 8, 4), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4, 1, 1, 1, 1, 1, 1), }",
      "{'descr': '<f4', 'shape': (8, 4), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4)",
      "not a dict at all",
    ]
    func file(header: String, data: [UInt8], version: UInt8 = 1) -> [UInt8] {
      var text = header
      let prefix = version == 1 ? 10 : 12
      while (prefix + text.utf8.count + 1) % 64 != 0 { text += " " }
      text += "\n"
      var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
      let length = text.utf8.count
      bytes += version == 1 ? [UInt8(length & 255), UInt8(length >> 8)] : [UInt8(length & 255), UInt8(length >> 8), 0, 0]
      return bytes + Array(text.utf8) + data
    }
    let data = Array(good.suffix(n * d * 4))
    var outcome = Outcome()
    for index in 0..<120 {
      var bytes: [UInt8]
      switch index % 4 {
      case 0: bytes = file(header: headers[Int(rng.next() % UInt64(headers.count))], data: data)
      case 1: bytes = Array(good.prefix(Int(rng.next() % UInt64(good.count))))
      case 2:
        bytes = Array(good)
        for _ in 0..<4 { bytes[Int(rng.next() % 80)] = UInt8(rng.next() % 256) }
      default: bytes = file(header: headers[0], data: data, version: UInt8(rng.next() % 4))
      }
      let directory = scratch + "/inputs-\(index)"
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      try Data(bytes).write(to: URL(fileURLWithPath: directory + "/q.npy"))
      try Data(good).write(to: URL(fileURLWithPath: directory + "/k.npy"))
      try Data(good).write(to: URL(fileURLWithPath: directory + "/v.npy"))
      check(
        ["simulate", "--algorithm", "flash", "--seq-len", "\(n)", "--head-dim", "\(d)", "--mode", "execute", "--inputs", directory, "--threads", "1"],
        writes: [], outcome: &outcome)
    }
    print("CLI fuzz: \(outcome.vectors) runs on malformed NPY inputs, exits \(outcome.exits.sorted { $0.key < $1.key })")
  }

  /// Mask files: random 0/1 grids with garbage, ragged rows, every line ending, comments and
  /// empty files.
  func testMalformedMaskFiles() throws {
    let scratch = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    var rng = SplitMix64(seed: 0x16_3A5C)
    let pieces = ["0", "1", "1", "0", " ", "\t", "2", "x", "#", "\u{0}", "é"]
    let endings = ["\n", "\r\n", "\r", ""]
    var outcome = Outcome()
    for index in 0..<150 {
      let rows = Int(rng.next() % 6)
      var text = ""
      let ending = endings[Int(rng.next() % UInt64(endings.count))]
      let columns = 1 + Int(rng.next() % 5)
      for _ in 0..<rows {
        let width = rng.next() % 4 == 0 ? 1 + Int(rng.next() % 5) : columns
        for _ in 0..<width {
          text += rng.next() % 5 == 0 ? pieces[Int(rng.next() % UInt64(pieces.count))] : (rng.next() % 2 == 0 ? "1 " : "0 ")
        }
        text += ending
      }
      let path = scratch + "/mask-\(index).txt"
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      check(
        ["simulate", "--algorithm", "block-sparse", "--seq-len", "\(8 * columns)", "--head-dim", "8", "--block-rows", "8", "--block-cols", "8", "--mask", path],
        writes: [], outcome: &outcome)
    }
    print("CLI fuzz: \(outcome.vectors) runs on malformed mask files, exits \(outcome.exits.sorted { $0.key < $1.key })")
  }
}

extension Array where Element == String {
  /// The command name first, then the option pairs in a random order (flags stay single).
  func shuffledPairs(_ rng: inout SplitMix64) -> [String] {
    guard let command = first else { return self }
    var groups: [[String]] = []
    var index = 1
    while index < count {
      if self[index].hasPrefix("--"), index + 1 < count, !self[index + 1].hasPrefix("--") {
        groups.append([self[index], self[index + 1]])
        index += 2
      } else {
        groups.append([self[index]])
        index += 1
      }
    }
    groups.shuffle(using: &rng)
    return [command] + groups.flatMap { $0 }
  }
}
