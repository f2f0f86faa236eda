import Foundation
import Reports
import XCTest
import _TestSupport

/// NPY bytes are built by hand here (magic, version, length field, header text, data), so the
/// reader is checked against the format rather than against the writer. The expected header
/// lengths (118, 182, 116) are what numpy 2.4 writes for the same arrays.
final class NPYTests: XCTestCase {
  // MARK: - Helpers

  /// An NPY file with `header` copied verbatim (no padding added) and a length field of 2 bytes
  /// (version 1.x) or 4 bytes (version 2.x and later).
  func npy(_ header: [UInt8], data: [UInt8] = [], major: UInt8 = 1, minor: UInt8 = 0) -> Data {
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, minor]
    let fieldSize = major == 1 ? 2 : 4
    for index in 0..<fieldSize { bytes.append(UInt8(truncatingIfNeeded: header.count >> (8 * index))) }
    return Data(bytes + header + data)
  }

  func npy(_ header: String, data: [UInt8] = [], major: UInt8 = 1, minor: UInt8 = 0) -> Data {
    npy(Array(header.utf8), data: data, major: major, minor: minor)
  }

  /// numpy's dictionary text with the given fields spelled as Python source.
  func dict(descr: String = "'<f4'", fortran: String = "False", shape: String) -> String {
    "{'descr': \(descr), 'fortran_order': \(fortran), 'shape': \(shape), }"
  }

  /// numpy's full header text: the dictionary, padding spaces, newline, `length` bytes in all.
  func padded(_ dictionary: String, toLength length: Int) -> String {
    dictionary + String(repeating: " ", count: length - dictionary.utf8.count - 1) + "\n"
  }

  func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
  }

  func float64Bytes(_ values: [Double]) -> [UInt8] {
    values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
  }

  func assertThrows(_ data: Data, _ expected: NPYError, _ message: String = "", line: UInt = #line) {
    XCTAssertThrowsError(try NPY.parse(data), message, line: line) { error in
      XCTAssertEqual(error as? NPYError, expected, message, line: line)
    }
  }

  // MARK: - Reading known bytes

  func testReadsNumpysFloat32File() throws {
    let header = padded(dict(shape: "(2, 3)"), toLength: 118)
    let values: [Float] = [0, 1, -2.5, 3e-8, 65504, .infinity]
    let array = try NPY.parse(npy(header, data: float32Bytes(values)))
    XCTAssertEqual(array, NPYArray(shape: [2, 3], values: values))
  }

  func testReadsFloat16KnownBitPatterns() throws {
    // 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF (largest finite), 2⁻²⁴ = 0x0001 (smallest
    // subnormal), +∞ = 0x7C00, −0 = 0x8000.
    let bits: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x8000]
    let data = bits.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
    let array = try NPY.parse(npy(padded(dict(descr: "'<f2'", shape: "(6,)"), toLength: 118), data: data))
    XCTAssertEqual(array.shape, [6])
    XCTAssertEqual(array.values, [1, -2, 65504, 0x1p-24, .infinity, -0.0])
    XCTAssertEqual(array.values[5].sign, .minus)
  }

  func testReadsFloat64RoundingToFloat() throws {
    let doubles: [Double] = [1.5, -0.1, 1e300, -1e-300]
    let header = padded(dict(descr: "'<f8'", shape: "(2, 2)"), toLength: 118)
    let array = try NPY.parse(npy(header, data: float64Bytes(doubles)))
    XCTAssertEqual(array.shape, [2, 2])
    XCTAssertEqual(array.values, [1.5, Float(-0.1 as Double), .infinity, -0.0])
  }

  func testReadsVersion2Header() throws {
    // numpy.lib.format.write_array(f, a, version=(2, 0)): 4-byte length 116 (0x74), data at 128.
    let header = padded(dict(shape: "(2, 3)"), toLength: 116)
    let file = npy(header, data: float32Bytes([1, 2, 3, 4, 5, 6]), major: 2)
    XCTAssertEqual(Array(file.prefix(12)), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 0x74, 0, 0, 0])
    XCTAssertEqual(try NPY.parse(file), NPYArray(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]))
  }

  func testReadsScalarAndEmptyShapes() throws {
    let scalar = npy(dict(shape: "()"), data: float32Bytes([7]))
    XCTAssertEqual(try NPY.parse(scalar), NPYArray(shape: [], values: [7]))
    XCTAssertEqual(try NPY.parse(npy(dict(shape: "(0,)"))), NPYArray(shape: [0], values: []))
    XCTAssertEqual(try NPY.parse(npy(dict(shape: "(3, 0, 4)"))), NPYArray(shape: [3, 0, 4], values: []))
    // A zero dimension wins even when the other dimensions' product would overflow.
    let huge = "(9223372036854775807, 9223372036854775807, 0)"
    XCTAssertEqual(try NPY.parse(npy(dict(shape: huge))).values, [])
  }

  func testAcceptsTolerantHeaderSpellings() throws {
    let one = float32Bytes([1, 2])
    let spellings = [
      #"{"descr": "<f4", "fortran_order": False, "shape": (2,)}"#,  // double quotes, no trailing comma
      "{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}",  // any key order
      "{'descr':'<f4','fortran_order':False,'shape':(2,),}",  // no spaces
      "  {\n\t'descr' : '<f4' ,\r\n 'fortran_order' : False ,\n 'shape' : ( 2 , ) ,\n}\n\n",  // whitespace
      "{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }",  // native byte order
      "{'descr': u'<f4', 'fortran_order': False, 'shape': (2L,), }",  // Python 2 writers
      "{'descr': '<f4', 'fortran_order': False, 'shape': (+2,), }",
    ]
    for text in spellings {
      XCTAssertEqual(try NPY.parse(npy(text, data: one)), NPYArray(shape: [2], values: [1, 2]), text)
    }
    let trailingComma = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2,), }"
    XCTAssertEqual(try NPY.parse(npy(trailingComma, data: one)).shape, [1, 2])
  }

  // MARK: - Writing

  func testSerializeMatchesNumpyBytes() {
    let values: [Float] = [0, 1, 2, 3, 4, 5]
    let expected = npy(padded(dict(shape: "(2, 3)"), toLength: 118), data: float32Bytes(values))
    XCTAssertEqual(NPY.serialize(NPYArray(shape: [2, 3], values: values)), expected)
    // numpy writes `()` for a scalar and `(n,)` for one dimension; all three headers are 118 bytes.
    XCTAssertEqual(
      NPY.serialize(NPYArray(shape: [], values: [1.5])),
      npy(padded(dict(shape: "()"), toLength: 118), data: float32Bytes([1.5])))
    XCTAssertEqual(
      NPY.serialize(NPYArray(shape: [0], values: [])), npy(padded(dict(shape: "(0,)"), toLength: 118)))
    XCTAssertEqual(
      NPY.serialize(NPYArray(shape: [5], values: [1, 2, 3, 4, 5])),
      npy(padded(dict(shape: "(5,)"), toLength: 118), data: float32Bytes([1, 2, 3, 4, 5])))
  }

  func testSerializeKeepsNumpysGrowthAxisSpaces() {
    // numpy adds 21 − len("1") = 20 spare spaces after the dictionary so shape[0] can grow in
    // place. For 15 dimensions they push the header past 128 bytes: numpy writes length 182.
    let shape = [Int](repeating: 1, count: 15)
    let tuple = "(" + shape.map(String.init).joined(separator: ", ") + ")"
    let expected = npy(padded(dict(shape: tuple), toLength: 182), data: float32Bytes([9]))
    XCTAssertEqual(NPY.serialize(NPYArray(shape: shape, values: [9])), expected)
  }

  func testSerializedLayoutForRandomShapes() throws {
    for seed in UInt64(0)..<40 {
      var rng = SplitMix64(seed: seed)
      let shape = (0..<Int(rng.next() % 5)).map { _ in Int(rng.next() % 6) }
      let count = shape.reduce(1, *)
      let array = NPYArray(shape: shape, values: rng.normals(count))
      try withTrace("seed: \(seed), shape: \(shape)") { context in
        let bytes = [UInt8](NPY.serialize(array))
        let magicAndVersion: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
        XCTAssertEqual(Array(bytes.prefix(8)), magicAndVersion, context.message("magic, 1.0"))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let dataStart = 10 + headerLength
        XCTAssertEqual(dataStart % 64, 0, context.message("data aligned to 64"))
        XCTAssertEqual(bytes[dataStart - 1], 0x0A, context.message("header ends with a newline"))
        XCTAssertEqual(bytes.count, dataStart + 4 * count, context.message("4 bytes per value"))
        let text = String(decoding: bytes[10..<dataStart], as: UTF8.self)
        let prefix = "{'descr': '<f4', 'fortran_order': False, 'shape': ("
        XCTAssertTrue(text.hasPrefix(prefix), context.message(text))
        XCTAssertEqual(try NPY.parse(Data(bytes)), array, context.message("round trip"))
      }
    }
  }

  func testSerializeSwitchesToVersion2WhenHeaderExceeds65535Bytes() throws {
    // 25 000 dimensions of 1 need about 75 000 header bytes: too many for a 2-byte length.
    let array = NPYArray(shape: [Int](repeating: 1, count: 25_000), values: [3])
    let bytes = [UInt8](NPY.serialize(array))
    XCTAssertEqual(Array(bytes[6..<8]), [2, 0])
    let headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
    XCTAssertGreaterThan(headerLength, 65_535)
    XCTAssertEqual((12 + headerLength) % 64, 0)
    XCTAssertEqual(bytes[12 + headerLength - 1], 0x0A)
    XCTAssertEqual(try NPY.parse(Data(bytes)), array)
  }

  // MARK: - Errors

  func testPreambleErrors() {
    let good = Array(npy(dict(shape: "()"), data: float32Bytes([1])))
    assertThrows(Data([0x93] + Array("NUMPZ".utf8) + good.dropFirst(6)), .badMagic)
    assertThrows(Data([0x50, 0x4B, 0x03, 0x04]), .badMagic, "a zip (npz) file")
    assertThrows(Data(), .truncated(byteCount: 0, needed: 10))
    assertThrows(Data(good.prefix(4)), .truncated(byteCount: 4, needed: 10))
    assertThrows(Data(good.prefix(7)), .truncated(byteCount: 7, needed: 10))
    assertThrows(Data(good.prefix(9)), .truncated(byteCount: 9, needed: 10))
    let version2 = Array(npy(dict(shape: "()"), major: 2))
    assertThrows(Data(version2.prefix(11)), .truncated(byteCount: 11, needed: 12))
    let one = float32Bytes([1])
    assertThrows(npy(dict(shape: "()"), data: one, major: 3), .unsupportedVersion(major: 3, minor: 0))
    assertThrows(npy(dict(shape: "()"), data: one, major: 1, minor: 1), .unsupportedVersion(major: 1, minor: 1))
    var beyond = good
    beyond[8] = 0xFF
    let claimed = 0x00FF | Int(good[9]) << 8
    assertThrows(Data(beyond), .headerBeyondEnd(headerLength: claimed, available: good.count - 10))
    let v2 = Data([0x93] + Array("NUMPY".utf8) + [2, 0, 0xFF, 0xFF, 0xFF, 0xFF] + Array("{}".utf8))
    assertThrows(v2, .headerBeyondEnd(headerLength: 0xFFFF_FFFF, available: 2))
  }

  func testEveryMalformedHeaderMessage() {
    let base = "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"
    let cases: [(header: [UInt8], message: String)] = [
      (Array("".utf8), "header is empty"),
      (Array("   \n".utf8), "header is empty"),
      (Array("['descr']".utf8), "expected '{' at the start of the header at byte 0, found '['"),
      (Array("{descr: '<f4'}".utf8), "expected a quoted key at byte 1, found 'd'"),
      ([0x7B, 0xFF], "expected a quoted key at byte 1, found byte 0xFF"),
      (Array("{'descr' '<f4'}".utf8), #"expected ':' after key 'descr' at byte 9, found "'""#),
      (Array("{'descr': '<f4' 'shape': ()}".utf8),
       #"expected ',' or '}' after the value of 'descr' at byte 16, found "'""#),
      (Array((base + " x").utf8), "expected only padding after the closing '}' at byte 56, found 'x'"),
      (Array("{'descr': '<f4".utf8), "unterminated string starting at byte 10"),
      (Array("{'descr': '<f4\n', 'shape': ()}".utf8), "unterminated string starting at byte 10"),
      (Array("{'descr': '<f4', ".utf8), "expected a quoted key at byte 17, found the end of the header"),
      (Array("{'descr': ".utf8), "expected a value at byte 10, found the end of the header"),
      (Array("{'shape': (2, 3".utf8), "expected ',' or ')' at byte 15, found the end of the header"),
      (Array("{'shape': (2 3)}".utf8), "expected ',' or ')' at byte 13, found '3'"),
      (Array("{'shape': {}}".utf8), "expected a value at byte 10, found '{'"),
      (Array("{'shape': (-,)}".utf8), "expected digits at byte 12, found ','"),
      (Array("{'descr': '<f4', 'fortran_order': false, 'shape': ()}".utf8), "unknown name 'false' at byte 34"),
      (Array("{'shape': (99999999999999999999,)}".utf8), "integer at byte 11 does not fit in 64 bits"),
      (Array(("{'shape': " + String(repeating: "(", count: 20)).utf8),
       "values nested more than 16 deep at byte 26"),
      (Array("{'descr': '<f4', 'descr': '<f4'}".utf8), "duplicate key 'descr'"),
      (Array("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': 1}".utf8),
       "unexpected key 'extra' (expected 'descr', 'fortran_order' and 'shape')"),
      (Array(dict(descr: "[('a', '<f4')]", shape: "()").utf8), "'descr' must be a string, found a list"),
      (Array(dict(fortran: "0", shape: "()").utf8), "'fortran_order' must be True or False, found an integer"),
      (Array(dict(fortran: "None", shape: "()").utf8), "'fortran_order' must be True or False, found None"),
      (Array(dict(shape: "[2, 3]").utf8), "'shape' must be a tuple of integers, found a list"),
      (Array(dict(shape: "(5)").utf8), "'shape' must be a tuple of integers, found an integer"),
      (Array(dict(shape: "(2, '3')").utf8), "'shape' must be a tuple of integers, found a string in it"),
      (Array(dict(shape: "(2, True)").utf8), "'shape' must be a tuple of integers, found True in it"),
    ]
    for (header, message) in cases {
      assertThrows(npy(header), .malformedHeader(message), String(decoding: header, as: UTF8.self))
    }
  }

  func testHeaderContentErrors() {
    assertThrows(npy("{'fortran_order': False, 'shape': ()}"), .missingKey("descr"))
    assertThrows(npy("{'descr': '<f4', 'shape': ()}"), .missingKey("fortran_order"))
    assertThrows(npy("{'descr': '<f4', 'fortran_order': False}"), .missingKey("shape"))
    assertThrows(npy("{}"), .missingKey("descr"))
    for descr in ["<i4", ">f4", "|f4", "<f16", "<c8", "float32", "f4", ""] {
      let file = npy(dict(descr: "'\(descr)'", shape: "()"), data: float32Bytes([1]))
      assertThrows(file, .unsupportedDtype(descr))
    }
    assertThrows(npy(dict(fortran: "True", shape: "(2, 3)")), .fortranOrder)
    assertThrows(npy(dict(shape: "(2, -3)")), .negativeDimension(shape: [2, -3]))
    // The element count overflows, or the count fits but its byte count does not.
    assertThrows(npy(dict(shape: "(4611686018427387904, 4)")), .shapeTooLarge(shape: [1 << 62, 4]))
    assertThrows(npy(dict(shape: "(2305843009213693952,)")), .shapeTooLarge(shape: [2_305_843_009_213_693_952]))
  }

  func testDataLengthMustMatchTheShape() {
    let header = dict(shape: "(2, 3)")
    let six = float32Bytes([0, 1, 2, 3, 4, 5])
    func mismatch(_ byteCount: Int) -> NPYError {
      .dataLengthMismatch(shape: [2, 3], expectedValues: 6, bytesPerValue: 4, dataByteCount: byteCount)
    }
    assertThrows(npy(header, data: Array(six.prefix(20))), mismatch(20), "too short")
    assertThrows(npy(header, data: six + float32Bytes([6])), mismatch(28), "too long")
    assertThrows(npy(header, data: Array(six.prefix(22))), mismatch(22), "ragged")
    assertThrows(npy(header, data: six + [0]), mismatch(25), "one stray byte")
    assertThrows(
      npy(dict(shape: "()")),
      .dataLengthMismatch(shape: [], expectedValues: 1, bytesPerValue: 4, dataByteCount: 0))
  }

  func testErrorDescriptionsSayWhatIsWrong() {
    let expected: [(NPYError, String)] = [
      (.badMagic, "not an NPY file (bad magic string)"),
      (.truncated(byteCount: 7, needed: 10),
       "truncated NPY file: the preamble needs 10 bytes but there are only 7"),
      (.unsupportedVersion(major: 3, minor: 0), "unsupported NPY version 3.0 (expected 1.0 or 2.0)"),
      (.headerBeyondEnd(headerLength: 300, available: 20),
       "header length 300 runs past the end of the file (only 20 bytes follow the preamble)"),
      (.malformedHeader("header is empty"), "malformed header: header is empty"),
      (.missingKey("shape"), "malformed header: missing key 'shape'"),
      (.unsupportedDtype("<i4"),
       "unsupported dtype '<i4' (expected little-endian float16, float32 or float64)"),
      (.fortranOrder, "Fortran order is not supported"),
      (.negativeDimension(shape: [2, -1]), "shape [2, -1] has a negative dimension"),
      (.shapeTooLarge(shape: [1 << 62, 4]),
       "shape [4611686018427387904, 4] has more elements than can be addressed"),
      (.dataLengthMismatch(shape: [2, 3], expectedValues: 6, bytesPerValue: 4, dataByteCount: 20),
       "shape [2, 3] needs 6 values but the data holds 5"),
      (.dataLengthMismatch(shape: [2, 3], expectedValues: 6, bytesPerValue: 4, dataByteCount: 22),
       "shape [2, 3] needs 6 values of 4 bytes but the data holds 22 bytes"),
      (.dataLengthMismatch(shape: [1], expectedValues: 1, bytesPerValue: 0, dataByteCount: 3),
       "shape [1] needs 1 values of 0 bytes but the data holds 3 bytes"),
    ]
    for (error, text) in expected {
      XCTAssertEqual(error.description, text)
      XCTAssertFalse(error.description.contains("\n"))
    }
  }

  func testValidatedChecksShapeAgainstValues() {
    XCTAssertNoThrow(try NPYArray.validated(shape: [2, 3], values: [Float](repeating: 0, count: 6)))
    XCTAssertNoThrow(try NPYArray.validated(shape: [], values: [1]))
    XCTAssertThrowsError(try NPYArray.validated(shape: [2, 3], values: [1, 2, 3, 4, 5])) { error in
      XCTAssertEqual("\(error)", "shape [2, 3] needs 6 values but the data holds 5")
    }
    XCTAssertThrowsError(try NPYArray.validated(shape: [-1], values: [])) { error in
      XCTAssertEqual(error as? NPYError, .negativeDimension(shape: [-1]))
    }
  }

  // MARK: - Files

  /// Runs `body` with a fresh directory that is removed afterwards.
  func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try body(directory)
  }

  func testWriteThenReadAndRefuseToOverwrite() throws {
    try withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("a.npy").path
      let array = NPYArray(shape: [2, 2], values: [1, 2, 3, 4])
      try NPY.write(array, to: path)
      XCTAssertEqual(try NPY.read(path: path), array)
      XCTAssertThrowsError(try NPY.write(NPYArray(shape: [1], values: [5]), to: path)) { error in
        XCTAssertEqual(error as? AtomicFile.WriteError, .exists(path))
      }
      XCTAssertEqual(try NPY.read(path: path), array, "the existing file is untouched")
    }
  }

  func testWriteOverwritesWhenAsked() throws {
    try withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("a.npy").path
      try NPY.write(NPYArray(shape: [2, 2], values: [1, 2, 3, 4]), to: path)
      let other = NPYArray(shape: [1], values: [5])
      try NPY.write(other, to: path, overwrite: true)
      XCTAssertEqual(try NPY.read(path: path), other)
      XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["a.npy"])
    }
  }

  func testWriteRejectsAnInconsistentArrayAndWritesNothing() throws {
    try withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("bad.npy").path
      XCTAssertThrowsError(try NPY.write(NPYArray(shape: [3], values: [1]), to: path)) { error in
        let expected = NPYError.dataLengthMismatch(
          shape: [3], expectedValues: 3, bytesPerValue: 4, dataByteCount: 4)
        XCTAssertEqual(error as? NPYFileError, NPYFileError(path: path, reason: .invalidArray(expected)))
        XCTAssertEqual("\(error)", "not writing \(path): shape [3] needs 3 values but the data holds 1")
      }
      XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
  }

  func testReadErrorsNameTheFile() throws {
    try withTemporaryDirectory { directory in
      let text = directory.appendingPathComponent("notes.npy").path
      try AtomicFile.write("hello", to: text)
      XCTAssertThrowsError(try NPY.read(path: text)) { error in
        XCTAssertEqual(error as? NPYFileError, NPYFileError(path: text, reason: .invalid(.badMagic)))
        XCTAssertEqual("\(error)", "\(text): not an NPY file (bad magic string)")
      }
      let missing = directory.appendingPathComponent("missing.npy").path
      XCTAssertThrowsError(try NPY.read(path: missing)) { error in
        XCTAssertEqual("\(error)", "cannot read \(missing): no such file")
      }
      XCTAssertThrowsError(try NPY.read(path: directory.path)) { error in
        XCTAssertEqual("\(error)", "cannot read \(directory.path): it is a directory")
      }
    }
  }

  // MARK: - Fuzz

  /// Random mutations of valid files: every outcome is an array consistent with its shape (that
  /// survives a round trip bit for bit) or an `NPYError`. A trap would crash the test run.
  func testMutationFuzzNeverTraps() {
    let seeds: [Data] = [
      NPY.serialize(NPYArray(shape: [2, 3], values: [0, 1, 2, 3, 4, 5])),
      npy(padded(dict(shape: "(2, 3)"), toLength: 116), data: float32Bytes([1, 2, 3, 4, 5, 6]), major: 2),
      npy(dict(descr: "'<f2'", shape: "(3,)"), data: [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B]),
      npy(dict(descr: "'<f8'", shape: "(2,)"), data: float64Bytes([1.5, -0.1])),
      npy("{'descr':'<f4','fortran_order':False,'shape':()}", data: float32Bytes([7])),
    ]
    let grammar = Array("{}()[],:'\" \n\t0123456789-+LTFNuxe\\".utf8)
    var rng = SplitMix64(seed: 2024)
    var parsed = 0
    var rejected = 0
    for iteration in 0..<4_000 {
      var bytes = [UInt8](seeds[iteration % seeds.count])
      for _ in 0...Int(rng.next() % 4) {
        let position = Int(rng.next() % UInt64(bytes.count + 1))
        switch rng.next() % 7 {
        case 0 where position < bytes.count: bytes[position] = UInt8(truncatingIfNeeded: rng.next())
        case 1 where position < bytes.count: bytes[position] = grammar[Int(rng.next() % UInt64(grammar.count))]
        case 2: bytes.insert(grammar[Int(rng.next() % UInt64(grammar.count))], at: position)
        case 3: bytes.removeSubrange(position..<min(bytes.count, position + 1 + Int(rng.next() % 8)))
        case 4: bytes.removeSubrange(position...)
        case 5 where bytes.count >= 10: bytes[8 + Int(rng.next() % 2)] = UInt8(truncatingIfNeeded: rng.next())
        default: bytes.insert(contentsOf: bytes[position...].prefix(Int(rng.next() % 6)), at: position)
        }
      }
      do {
        let array = try NPY.parse(Data(bytes))
        parsed += 1
        XCTAssertEqual(array.values.count, array.shape.reduce(1, *), "iteration \(iteration)")
        let again = try NPY.parse(NPY.serialize(array))
        XCTAssertEqual(again.shape, array.shape, "iteration \(iteration)")
        XCTAssertEqual(again.values.map(\.bitPattern), array.values.map(\.bitPattern), "iteration \(iteration)")
      } catch {
        rejected += 1
        XCTAssertTrue(error is NPYError, "iteration \(iteration): \(error)")
      }
    }
    XCTAssertGreaterThan(parsed, 50, "the fuzz should keep some files valid")
    XCTAssertGreaterThan(rejected, 1_000, "the fuzz should break most files")
  }
}
