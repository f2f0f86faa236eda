import Foundation

/// The package's one SVG builder (no dependency): elements with escaped attributes and text,
/// numbers printed deterministically, nesting checked. The HTML trace and the plots of
/// `reproduce` and `paged prune --sweep` are written with it.
///
/// `init(width:height:)` writes inline SVG for HTML5 documents, which needs no namespace
/// declaration, so the output holds no URL at all.
///
/// ```swift
/// var svg = SVGWriter(width: 120, height: 40)
/// svg.rect(x: 0, y: 0, width: 120, height: 40, ["class": "sram"])
/// svg.text("SRAM", x: 4, y: 24)
/// let markup = svg.finish()
/// ```
///
/// A standalone file (the plots of `reproduce`) names its root's attributes itself, the SVG
/// namespace first, and builds with the generic `element` and `group`:
///
/// ```swift
/// var svg = SVGWriter(attributes: [("xmlns", "http://www.w3.org/2000/svg"), ("width", "680"), ("height", "420")])
/// svg.group("g", [("stroke", "#333333")]) { g in g.element("line", [("x1", "0"), ("y1", "0"), ("x2", "9"), ("y2", "9")]) }
/// let file = svg.finish() + "\n"
/// ```
public struct SVGWriter {
  private var out: String
  private var open: [String] = []

  /// Starts an `<svg>` element of the given size (also its `viewBox`).
  public init(width: Double, height: Double, _ attributes: KeyValuePairs<String, String> = [:]) {
    out = ""
    start("svg", [("width", Self.number(width)), ("height", Self.number(height)),
                  ("viewBox", "0 0 \(Self.number(width)) \(Self.number(height))")] + attributes.map { ($0.key, $0.value) })
  }

  /// Starts an `<svg>` element with exactly these attributes, in this order.
  public init(attributes: [(String, String)]) {
    out = ""
    start("svg", attributes)
  }

  /// Opens a container element (`g`, `text`, …); close it with `end()`.
  public mutating func begin(_ name: String, _ attributes: KeyValuePairs<String, String> = [:]) {
    start(name, attributes.map { ($0.key, $0.value) })
  }

  /// Closes the innermost open element.
  public mutating func end() {
    guard let name = open.popLast() else { preconditionFailure("SVGWriter.end() without an open element") }
    out += "</\(name)>"
  }

  /// A rectangle.
  public mutating func rect(x: Double, y: Double, width: Double, height: Double, _ attributes: KeyValuePairs<String, String> = [:]) {
    empty("rect", [("x", Self.number(x)), ("y", Self.number(y)), ("width", Self.number(width)), ("height", Self.number(height))]
      + attributes.map { ($0.key, $0.value) })
  }

  /// A line segment.
  public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, _ attributes: KeyValuePairs<String, String> = [:]) {
    empty("line", [("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)), ("y2", Self.number(y2))]
      + attributes.map { ($0.key, $0.value) })
  }

  /// A text element holding escaped `content`.
  public mutating func text(_ content: String, x: Double, y: Double, _ attributes: KeyValuePairs<String, String> = [:]) {
    start("text", [("x", Self.number(x)), ("y", Self.number(y))] + attributes.map { ($0.key, $0.value) })
    out += Self.escape(content)
    end()
  }

  /// An empty element with its attributes in order: `<name a="…"/>`.
  public mutating func element(_ name: String, _ attributes: [(String, String)]) {
    empty(name, attributes)
  }

  /// An element holding escaped `text`, its attributes in order.
  public mutating func element(_ name: String, _ attributes: [(String, String)], text content: String) {
    start(name, attributes)
    out += Self.escape(content)
    end()
  }

  /// An element wrapping the children that `body` writes.
  public mutating func group(_ name: String, _ attributes: [(String, String)], _ body: (inout SVGWriter) -> Void) {
    start(name, attributes)
    body(&self)
    end()
  }

  /// A `<title>` child (a tooltip for its parent).
  public mutating func title(_ content: String) {
    out += "<title>" + Self.escape(content) + "</title>"
  }

  /// Closes the `<svg>` element and returns the markup.
  /// - Precondition: every element opened with `begin` has been closed.
  public mutating func finish() -> String {
    precondition(open == ["svg"], "SVGWriter: unclosed elements \(open.dropFirst())")
    end()
    return out
  }

  // MARK: Formatting

  /// Integers without a decimal point, others with at most two decimals, trailing zeros dropped.
  public static func number(_ x: Double) -> String {
    guard x.isFinite else { return "0" }
    let rounded = (x * 100).rounded() / 100
    if rounded == rounded.rounded() { return String(Int(rounded)) }
    var text = String(format: "%.2f", rounded)
    while text.hasSuffix("0") { text.removeLast() }
    return text
  }

  /// Escapes `&`, `<`, `>` and `"` for text and attribute values.
  public static func escape(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.count)
    for character in text {
      switch character {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      default: result.append(character)
      }
    }
    return result
  }

  private mutating func start(_ name: String, _ attributes: [(String, String)]) {
    out += "<\(name)" + Self.attributeText(attributes) + ">"
    open.append(name)
  }

  private mutating func empty(_ name: String, _ attributes: [(String, String)]) {
    out += "<\(name)" + Self.attributeText(attributes) + "/>"
  }

  static func attributeText(_ attributes: [(String, String)]) -> String {
    attributes.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
  }
}
