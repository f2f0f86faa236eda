/// A JSON value with ordered object keys, so reports print their fields in a stable, documented
/// order. Written here (no dependency): a serializer and a small strict parser (RFC 8259).
public enum JSONValue: Hashable, Sendable {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (a: JSONValue, b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case let (.bool(x), .bool(y)): return x == y
    case let (.int(x), .int(y)): return x == y
    case let (.double(x), .double(y)): return x == y
    case let (.string(x), .string(y)): return x == y
    case let (.array(x), .array(y)): return x == y
    case let (.object(x), .object(y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: return false
    }
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(serialized())
  }

  /// The value of `key` in an object (the first one), or nil.
  public subscript(key: String) -> JSONValue? {
    guard case let .object(pairs) = self else { return nil }
    return pairs.first { $0.0 == key }?.1
  }

  /// Follows a dotted path: `value[path: "hbm.readElements"]`.
  public subscript(path path: String) -> JSONValue? {
    var current: JSONValue? = self
    for part in path.split(separator: ".") { current = current?[String(part)] }
    return current
  }

  public var intValue: Int? {
    switch self {
    case let .int(i): return i
    case let .double(d) where d.rounded() == d && abs(d) < 9.0e18: return Int(d)
    default: return nil
    }
  }

  public var doubleValue: Double? {
    switch self {
    case let .int(i): return Double(i)
    case let .double(d): return d
    default: return nil
    }
  }

  public var stringValue: String? {
    if case let .string(s) = self { return s }
    return nil
  }

  public var arrayValue: [JSONValue]? {
    if case let .array(a) = self { return a }
    return nil
  }

  public var objectValue: [(String, JSONValue)]? {
    if case let .object(o) = self { return o }
    return nil
  }

  /// Compact (`pretty == false`) or two-space indented JSON text.
  public func serialized(pretty: Bool = false) -> String {
    var out = ""
    write(to: &out, pretty: pretty, indent: 0)
    return out
  }

  func write(to out: inout String, pretty: Bool, indent: Int) {
    switch self {
    case .null: out += "null"
    case let .bool(b): out += b ? "true" : "false"
    case let .int(i): out += String(i)
    case let .double(d): out += JSONValue.format(d)
    case let .string(s): JSONValue.writeString(s, to: &out)
    case let .array(items):
      if items.isEmpty { out += "[]"; return }
      out += "["
      for (n, item) in items.enumerated() {
        if n > 0 { out += "," }
        if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
        item.write(to: &out, pretty: pretty, indent: indent + 1)
      }
      if pretty { out += "\n" + String(repeating: "  ", count: indent) }
      out += "]"
    case let .object(pairs):
      if pairs.isEmpty { out += "{}"; return }
      out += "{"
      for (n, (key, value)) in pairs.enumerated() {
        if n > 0 { out += "," }
        if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
        JSONValue.writeString(key, to: &out)
        out += pretty ? ": " : ":"
        value.write(to: &out, pretty: pretty, indent: indent + 1)
      }
      if pretty { out += "\n" + String(repeating: "  ", count: indent) }
      out += "}"
    }
  }

  /// Shortest round-tripping decimal; non-finite numbers (not JSON) become null.
  static func format(_ d: Double) -> String {
    guard d.isFinite else { return "null" }
    if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
    return "\(d)"
  }

  static func writeString(_ s: String, to out: inout String) {
    out += "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case let c where c.value < 0x20:
        let hex = String(c.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    out += "\""
  }
}
