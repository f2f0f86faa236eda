import Foundation
import MemoryHierarchy
import Reports
import XCTest
import _TestSupport

/// Seeded random mutations of valid device files (the examples and every preset): byte flips,
/// grammar bytes, insertions, deletions, truncations, duplicated keys, deep nesting and huge
/// numbers. The parser and the device reader never trap (a trap would crash the test run), and
/// every error names its position (`line L, column C`, inside the text) or the field.
///
/// The seed is printed; set `ATTENTIONIO_FUZZ_SEED` to replay or vary a run.
final class JSONFuzzTests: XCTestCase {
  var examplesDirectory: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Examples/devices")
  }

  /// The valid files the mutations start from.
  func validDeviceFiles() throws -> [String] {
    let examples = try FileManager.default.contentsOfDirectory(atPath: examplesDirectory.path)
      .filter { $0.hasSuffix(".json") }.sorted()
      .map { try String(contentsOf: examplesDirectory.appendingPathComponent($0), encoding: .utf8) }
    XCTAssertFalse(examples.isEmpty, "no example device files in \(examplesDirectory.path)")
    let presets = MachineSpec.presets.flatMap { preset in
      [true, false].map { DeviceFile.json(for: preset).serialized(pretty: $0) }
    }
    return examples + presets
  }

  /// Every field name a device file has, as `DeviceFile` reports it (dotted path) or as
  /// `MachineSpec.validate` reports it (the property).
  static let knownFields: Set<String> = [
    "(top level)", "name", "source", "levels", "compute", "levels.hbm", "levels.sram", "levels.registers",
    "levels.hbm.capacityBytes", "levels.hbm.bytesPerSecond", "levels.sram.capacityBytes", "levels.sram.bytesPerSecond",
    "levels.sram.count", "levels.registers.capacityBytes", "compute.matmulFLOPsPerSecond", "compute.otherFLOPsPerSecond",
    "sramCapacityInBytes", "streamingMultiprocessors", "hbmCapacityInBytes", "hbmBytesPerSecond", "sramBytesPerSecond",
    "matmulFLOPsPerSecond", "otherFLOPsPerSecond", "registerFileInBytes",
  ]

  static let hugeNumbers = [
    "1e400", "-1e400", "1e-400", "99999999999999999999", "9223372036854775807", "9223372036854775808",
    "-9223372036854775809", "1" + String(repeating: "0", count: 400), "0." + String(repeating: "0", count: 400) + "1",
    "123456789012345678901234567890.5e300", "-0", "4.9e-324", "1.7976931348623157e308", "1.8e308",
  ]

  func testMutatedDeviceFilesNeverTrapAndErrorsNamePositionOrField() throws {
    let seed = ProcessInfo.processInfo.environment["ATTENTIONIO_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x14_150F
    print("JSON fuzz seed: \(seed) (set ATTENTIONIO_FUZZ_SEED to replay another)")
    let files = try validDeviceFiles()
    var rng = SplitMix64(seed: seed)
    var outcomes = (parsed: 0, syntax: 0, field: 0)
    for iteration in 0..<3_000 {
      var bytes = Array(files[iteration % files.count].utf8)
      var applied: [String] = []
      for _ in 0...Int(rng.next() % 3) {
        let kind = Int(rng.next() % 10)
        applied.append("m\(kind)")
        bytes = mutate(bytes, kind: kind, rng: &rng)
      }
      let text = String(decoding: bytes, as: UTF8.self)
      let context = "seed \(seed), iteration \(iteration), mutations \(applied.joined(separator: " "))"

      // The parser alone: a value, or an error at a position inside the text.
      do {
        _ = try JSONValue.parse(text)
      } catch let error as JSONParseError {
        assertPositionInside(error, text, context)
        XCTAssertTrue("\(error)".hasPrefix("line \(error.line), column \(error.column): "), "\(context): \(error)")
        XCTAssertFalse(error.reason.isEmpty, context)
      } catch {
        XCTFail("\(context): not a JSONParseError: \(error)")
      }

      // The device reader: a valid spec, or an error naming the field (`json` with the position
      // for a syntax error).
      do {
        let spec = try DeviceFile.parse(text)
        XCTAssertNoThrow(try spec.validate(), context)
        outcomes.parsed += 1
      } catch let MachineError.invalidSpecification(field, reason) {
        let message = "\(MachineError.invalidSpecification(field: field, reason: reason))"
        XCTAssertTrue(message.contains("\(field): "), "\(context): \(message)")
        XCTAssertFalse(reason.isEmpty, "\(context): \(message)")
        if field == "json" {
          outcomes.syntax += 1
          XCTAssertNotNil(reason.range(of: #"^line [0-9]+, column [0-9]+: "#, options: .regularExpression), "\(context): \(message)")
        } else {
          outcomes.field += 1
          // A known field, or an unknown one that the text spells (a mutated key).
          let last = field.split(separator: ".").last.map(String.init) ?? field
          XCTAssertTrue(
            Self.knownFields.contains(field) || (reason.hasPrefix("unknown field") && !last.isEmpty),
            "\(context): the error names no field: \(message)")
        }
      } catch {
        XCTFail("\(context): not a MachineError.invalidSpecification: \(error)")
      }
    }
    print("JSON fuzz: \(outcomes.parsed) parsed, \(outcomes.syntax) syntax errors, \(outcomes.field) field errors")
    XCTAssertGreaterThan(outcomes.parsed, 30, "the fuzz should keep some files valid")
    XCTAssertGreaterThan(outcomes.syntax, 500, "the fuzz should break the syntax of many files")
    XCTAssertGreaterThan(outcomes.field, 100, "the fuzz should reach the field checks")
  }

  /// Nesting deeper than the parser's limit is an error at the position where the limit is hit.
  func testDeepNestingIsAPositionedError() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
      let text = String(repeating: open, count: 10_000) + "1" + String(repeating: close, count: 10_000)
      XCTAssertThrowsError(try JSONValue.parse(text)) { error in
        XCTAssertEqual((error as? JSONParseError)?.reason, "nesting too deep", "\(error)")
        XCTAssertEqual((error as? JSONParseError)?.line, 1)
      }
      XCTAssertThrowsError(try DeviceFile.parse(text)) { error in
        XCTAssertTrue("\(error)".contains("json: line 1, column"), "\(error)")
      }
    }
  }

  /// An empty key is named `""` (it was an error with an empty field name).
  func testAnEmptyUnknownKeyIsNamed() {
    XCTAssertThrowsError(try DeviceFile.parse(#"{"": 1}"#)) { error in
      XCTAssertEqual("\(error)", #"invalid machine specification: "": unknown field (expected one of compute, levels, name, source)"#)
    }
    XCTAssertThrowsError(try DeviceFile.parse(#"{"levels": {"": 1}}"#)) { error in
      XCTAssertTrue("\(error)".contains(#"levels."": unknown field"#), "\(error)")
    }
  }

  // MARK: Helpers

  func assertPositionInside(_ error: JSONParseError, _ text: String, _ context: String) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    XCTAssertGreaterThanOrEqual(error.line, 1, context)
    XCTAssertLessThanOrEqual(error.line, lines.count, "\(context): \(error)")
    guard error.line >= 1, error.line <= lines.count else { return }
    XCTAssertGreaterThanOrEqual(error.column, 1, context)
    XCTAssertLessThanOrEqual(error.column, lines[error.line - 1].utf8.count + 1, "\(context): \(error)")
  }

  func mutate(_ input: [UInt8], kind: Int, rng: inout SplitMix64) -> [UInt8] {
    var bytes = input
    let position = Int(rng.next() % UInt64(bytes.count + 1))
    func random(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
    switch kind {
    case 0 where position < bytes.count:  // flip a byte
      bytes[position] ^= UInt8(truncatingIfNeeded: 1 << random(8))
    case 1 where position < bytes.count:  // a random byte, any value
      bytes[position] = UInt8(truncatingIfNeeded: rng.next())
    case 2:  // insert grammar
      bytes.insert(grammar(&rng), at: position)
    case 3:  // delete a run
      bytes.removeSubrange(position..<min(bytes.count, position + 1 + random(8)))
    case 4:  // truncate
      bytes.removeSubrange(position...)
    case 5:  // duplicate a key: a `"key": value` pair repeated after itself
      let text = String(decoding: bytes, as: UTF8.self)
      let keys = text.matchRanges(of: #""[A-Za-z]+"\s*:\s*[^,{}\[\]]*"#)
      if !keys.isEmpty {
        let range = keys[random(keys.count)]
        let pair = text[range].trimmingCharacters(in: .whitespacesAndNewlines)
        var copy = text
        copy.insert(contentsOf: pair + ", ", at: range.lowerBound)
        bytes = Array(copy.utf8)
      }
    case 6:  // deep nesting around a value or at a random place
      let depth = [2, 100, 511, 512, 513, 2_000][random(6)]
      let (open, close) = random(2) == 0 ? ("[", "]") : ("{\"k\":", "}")
      let balanced = random(2) == 0
      let start = random(2) == 0 ? position : bytes.firstIndex(of: UInt8(ascii: ":")).map { $0 + 1 } ?? position
      var inner = Array(String(repeating: open, count: depth).utf8) + [UInt8(ascii: "1")]
      if balanced { inner += Array(String(repeating: close, count: depth).utf8) }
      bytes.insert(contentsOf: inner, at: min(start, bytes.count))
    case 7:  // a huge or extreme number in place of a number
      let text = String(decoding: bytes, as: UTF8.self)
      let numbers = text.matchRanges(of: #"-?[0-9][0-9.eE+\-]*"#)
      if !numbers.isEmpty {
        var copy = text
        copy.replaceSubrange(numbers[random(numbers.count)], with: Self.hugeNumbers[random(Self.hugeNumbers.count)])
        bytes = Array(copy.utf8)
      }
    case 8:  // duplicate a run in place
      bytes.insert(contentsOf: bytes[position...].prefix(1 + random(12)), at: position)
    default:  // a grammar byte in place
      if position < bytes.count { bytes[position] = grammar(&rng) }
    }
    return bytes
  }

  func grammar(_ rng: inout SplitMix64) -> UInt8 {
    let bytes = Array("{}[],:\" \n\t0123456789-+.eEtrufalsn\\".utf8)
    return bytes[Int(rng.next() % UInt64(bytes.count))]
  }
}

extension String {
  /// The ranges of the non-overlapping matches of a regular expression.
  fileprivate func matchRanges(of pattern: String) -> [Range<String.Index>] {
    var out: [Range<String.Index>] = []
    var start = startIndex
    while start < endIndex, let range = range(of: pattern, options: .regularExpression, range: start..<endIndex) {
      out.append(range)
      start = range.isEmpty ? index(after: range.upperBound) : range.upperBound
    }
    return out
  }
}
