/// The element types this reader accepts, with their NPY `descr` spellings.
enum NPYDType: Equatable, Sendable {
  case float16, float32, float64

  /// Accepts `<f2`, `<f4`, `<f8`, and the same with `=` (native order). Every platform Swift
  /// targets here is little-endian, so native means little. `>` (big-endian), `|` and the
  /// one-letter aliases (`<e`, `<f`, `<d`) are not accepted; numpy never writes them for floats.
  init?(descr: String) {
    switch descr {
    case "<f2", "=f2": self = .float16
    case "<f4", "=f4": self = .float32
    case "<f8", "=f8": self = .float64
    default: return nil
    }
  }

  var bytesPerValue: Int {
    switch self {
    case .float16: return 2
    case .float32: return 4
    case .float64: return 8
    }
  }
}

/// The validated content of an NPY header: a supported dtype in C order, and a shape whose
/// dimensions are all non-negative.
struct NPYHeader: Equatable, Sendable {
  var dtype: NPYDType
  var shape: [Int]

  /// Parses the header text (the bytes between the length field and the data).
  ///
  /// The text is a Python dictionary literal such as
  /// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` followed by padding. Keys may
  /// come in any order, strings may use either quote, whitespace and trailing commas are free, and
  /// Python 2's `3L` integers are accepted. Anything `ast.literal_eval` would read differently
  /// (`(5)` is the integer 5, not a shape) is rejected rather than guessed at.
  /// - Throws: `NPYError.malformedHeader`, `.missingKey`, `.unsupportedDtype`, `.fortranOrder`
  ///   or `.negativeDimension`.
  static func parse(_ bytes: [UInt8]) throws(NPYError) -> NPYHeader {
    var parser = PythonLiteralParser(bytes: bytes)
    let entries = try parser.parseHeaderDictionary()
    var found: [String: PythonLiteral] = [:]
    for (key, value) in entries {
      guard ["descr", "fortran_order", "shape"].contains(key) else {
        throw .malformedHeader("unexpected key '\(key)' (expected 'descr', 'fortran_order' and 'shape')")
      }
      guard found[key] == nil else { throw .malformedHeader("duplicate key '\(key)'") }
      found[key] = value
    }
    guard let descr = found["descr"] else { throw .missingKey("descr") }
    guard let fortranOrder = found["fortran_order"] else { throw .missingKey("fortran_order") }
    guard let shapeLiteral = found["shape"] else { throw .missingKey("shape") }

    guard case let .string(descrText) = descr else {
      throw .malformedHeader("'descr' must be a string, found \(descr.kindName)")
    }
    guard let dtype = NPYDType(descr: descrText) else { throw .unsupportedDtype(descrText) }
    guard case let .boolean(isFortran) = fortranOrder else {
      throw .malformedHeader("'fortran_order' must be True or False, found \(fortranOrder.kindName)")
    }
    guard !isFortran else { throw .fortranOrder }
    guard case let .tuple(items) = shapeLiteral else {
      throw .malformedHeader("'shape' must be a tuple of integers, found \(shapeLiteral.kindName)")
    }
    var shape: [Int] = []
    for item in items {
      guard case let .integer(dimension) = item else {
        throw .malformedHeader("'shape' must be a tuple of integers, found \(item.kindName) in it")
      }
      shape.append(dimension)
    }
    guard shape.allSatisfy({ $0 >= 0 }) else { throw .negativeDimension(shape: shape) }
    return NPYHeader(dtype: dtype, shape: shape)
  }
}

/// The Python literals an NPY header can contain.
enum PythonLiteral: Equatable, Sendable {
  case string(String)
  case integer(Int)
  case boolean(Bool)
  case none
  case tuple([PythonLiteral])
  case list([PythonLiteral])

  /// How error messages name the value: "a string", "True", "a list".
  var kindName: String {
    switch self {
    case .string: return "a string"
    case .integer: return "an integer"
    case let .boolean(value): return value ? "True" : "False"
    case .none: return "None"
    case .tuple: return "a tuple"
    case .list: return "a list"
    }
  }
}

/// A recursive-descent reader for the dictionary literal in an NPY header. It never traps: every
/// index is bounds-checked, integers are overflow-checked, and nesting is capped so hostile input
/// cannot exhaust the stack. Error messages give byte offsets within the header text.
struct PythonLiteralParser {
  /// Deeper nesting than any real header needs (a structured dtype nests 3 or 4 levels).
  static let maximumDepth = 16

  let bytes: [UInt8]
  var position = 0

  init(bytes: [UInt8]) { self.bytes = bytes }

  /// Reads `{ key: value, … }` followed only by whitespace, keeping the entries in order.
  mutating func parseHeaderDictionary() throws(NPYError) -> [(key: String, value: PythonLiteral)] {
    skipWhitespace()
    guard position < bytes.count else { throw .malformedHeader("header is empty") }
    try expect(UInt8(ascii: "{"), "at the start of the header")
    var entries: [(key: String, value: PythonLiteral)] = []
    while true {
      skipWhitespace()
      if peek() == UInt8(ascii: "}") { position += 1; break }
      guard isStringStart() else { throw unexpected("expected a quoted key") }
      let key = try parseString()
      skipWhitespace()
      try expect(UInt8(ascii: ":"), "after key '\(key)'")
      entries.append((key, try parseValue(depth: 1)))
      skipWhitespace()
      if peek() == UInt8(ascii: ",") { position += 1; continue }
      if peek() == UInt8(ascii: "}") { position += 1; break }
      throw unexpected("expected ',' or '}' after the value of '\(key)'")
    }
    skipWhitespace()
    guard position == bytes.count else { throw unexpected("expected only padding after the closing '}'") }
    return entries
  }

  mutating func parseValue(depth: Int) throws(NPYError) -> PythonLiteral {
    guard depth <= Self.maximumDepth else {
      throw .malformedHeader("values nested more than \(Self.maximumDepth) deep at byte \(position)")
    }
    skipWhitespace()
    guard let byte = peek() else { throw unexpected("expected a value") }
    if isStringStart() { return .string(try parseString()) }
    switch byte {
    case UInt8(ascii: "("):
      position += 1
      let (items, sawComma) = try parseSequence(closing: UInt8(ascii: ")"), depth: depth)
      // `(x)` is just x in Python; only `()` and a comma make a tuple.
      if items.count == 1, !sawComma, let only = items.first { return only }
      return .tuple(items)
    case UInt8(ascii: "["):
      position += 1
      return .list(try parseSequence(closing: UInt8(ascii: "]"), depth: depth).items)
    case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return .integer(try parseInteger())
    case _ where Self.isNameStart(byte):
      return try parseName()
    default:
      throw unexpected("expected a value")
    }
  }

  /// Reads items up to `closing` (the opening bracket is already consumed). Reports whether any
  /// comma was seen, which distinguishes `(5,)` from `(5)`.
  mutating func parseSequence(
    closing: UInt8, depth: Int
  ) throws(NPYError) -> (items: [PythonLiteral], sawComma: Bool) {
    var items: [PythonLiteral] = []
    var sawComma = false
    while true {
      skipWhitespace()
      if peek() == closing { position += 1; return (items, sawComma) }
      items.append(try parseValue(depth: depth + 1))
      skipWhitespace()
      if peek() == UInt8(ascii: ",") {
        position += 1
        sawComma = true
      } else if peek() != closing {
        throw unexpected("expected ',' or '\(Character(Unicode.Scalar(closing)))'")
      }
    }
  }

  /// Reads a quoted string with an optional `u` prefix. A backslash keeps the next byte
  /// literally (enough for `\'`, which is all a dtype string could need). Bytes are read as
  /// Latin-1, the encoding of version 1.0 and 2.0 headers.
  mutating func parseString() throws(NPYError) -> String {
    let start = position
    if let byte = peek(), byte == UInt8(ascii: "u") || byte == UInt8(ascii: "U") { position += 1 }
    guard let quote = peek() else { throw unexpected("expected a string") }
    position += 1
    var scalars = String.UnicodeScalarView()
    while let byte = peek(), byte != quote, byte != 0x0A, byte != 0x0D {
      position += 1
      if byte == UInt8(ascii: "\\") {
        guard let escaped = peek() else { break }
        position += 1
        scalars.append(Unicode.Scalar(escaped))
      } else {
        scalars.append(Unicode.Scalar(byte))
      }
    }
    guard peek() == quote else { throw .malformedHeader("unterminated string starting at byte \(start)") }
    position += 1
    return String(scalars)
  }

  /// Reads a decimal integer with an optional sign and Python 2 `L` suffix.
  mutating func parseInteger() throws(NPYError) -> Int {
    let start = position
    var negative = false
    if let sign = peek(), sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
      negative = sign == UInt8(ascii: "-")
      position += 1
    }
    guard let first = peek(), Self.isDigit(first) else { throw unexpected("expected digits") }
    var magnitude = 0
    while let byte = peek(), Self.isDigit(byte) {
      let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
      let (sum, overflow2) = shifted.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
      guard !overflow1, !overflow2 else {
        throw .malformedHeader("integer at byte \(start) does not fit in \(Int.bitWidth) bits")
      }
      magnitude = sum
      position += 1
    }
    if let suffix = peek(), suffix == UInt8(ascii: "L") || suffix == UInt8(ascii: "l") { position += 1 }
    return negative ? -magnitude : magnitude
  }

  /// Reads `True`, `False` or `None`.
  mutating func parseName() throws(NPYError) -> PythonLiteral {
    let start = position
    while let byte = peek(), Self.isNameStart(byte) || Self.isDigit(byte) { position += 1 }
    let name = String(decoding: bytes[start..<position], as: UTF8.self)
    switch name {
    case "True": return .boolean(true)
    case "False": return .boolean(false)
    case "None": return .none
    default: throw .malformedHeader("unknown name '\(name)' at byte \(start)")
    }
  }

  // MARK: - Bytes

  func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

  /// Whether a string (optionally `u`-prefixed) starts here.
  func isStringStart() -> Bool {
    guard let byte = peek() else { return false }
    if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") { return true }
    guard byte == UInt8(ascii: "u") || byte == UInt8(ascii: "U"), position + 1 < bytes.count else {
      return false
    }
    let next = bytes[position + 1]
    return next == UInt8(ascii: "'") || next == UInt8(ascii: "\"")
  }

  /// Python's whitespace between tokens: space, tab, form feed, newline, carriage return.
  mutating func skipWhitespace() {
    while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0C || byte == 0x0A || byte == 0x0D {
      position += 1
    }
  }

  mutating func expect(_ byte: UInt8, _ context: String) throws(NPYError) {
    guard peek() == byte else { throw unexpected("expected '\(Character(Unicode.Scalar(byte)))' \(context)") }
    position += 1
  }

  /// "expected X at byte 12, found '}'" (or "found the end of the header").
  func unexpected(_ expectation: String) -> NPYError {
    let found: String
    if let byte = peek() {
      if byte == UInt8(ascii: "'") {
        found = "\"'\""
      } else if (0x20..<0x7F).contains(byte) {
        found = "'\(Character(Unicode.Scalar(byte)))'"
      } else {
        found = "byte 0x" + String(byte, radix: 16, uppercase: true)
      }
    } else {
      found = "the end of the header"
    }
    return .malformedHeader("\(expectation) at byte \(position), found \(found)")
  }

  static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

  static func isNameStart(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
      || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
      || byte == UInt8(ascii: "_")
  }
}
