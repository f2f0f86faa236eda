import Reports

/// A minimal SVG builder for the plots: elements with ordered attributes, escaped through the
/// Reports module's `SVGWriter` rules, numbers printed deterministically.
struct SVGMarkup {
  private(set) var text = ""

  /// An empty element: `<name a="…"/>`.
  mutating func element(_ name: String, _ attributes: [(String, String)]) {
    text += "<\(name)" + Self.attributes(attributes) + "/>"
  }

  /// An element with escaped text content.
  mutating func element(_ name: String, _ attributes: [(String, String)], text content: String) {
    text += "<\(name)" + Self.attributes(attributes) + ">" + SVGWriter.escape(content) + "</\(name)>"
  }

  /// An element wrapping the children `body` emits.
  mutating func group(_ name: String, _ attributes: [(String, String)], _ body: (inout SVGMarkup) -> Void) {
    text += "<\(name)" + Self.attributes(attributes) + ">"
    body(&self)
    text += "</\(name)>"
  }

  static func attributes(_ list: [(String, String)]) -> String {
    list.map { " \($0.0)=\"\(SVGWriter.escape($0.1))\"" }.joined()
  }

  static func number(_ x: Double) -> String { SVGWriter.number(x) }
}
