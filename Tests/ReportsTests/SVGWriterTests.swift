import Reports
import XCTest

/// The generic half of `SVGWriter` that the standalone plots use: a root with its attributes in
/// the given order, empty and text elements, and groups.
final class SVGWriterTests: XCTestCase {
  func testRootAttributesKeepTheirOrderAndElementsNestInGroups() {
    var svg = SVGWriter(attributes: [("xmlns", "http://www.w3.org/2000/svg"), ("width", "20"), ("height", "10")])
    svg.element("rect", [("x", "0"), ("y", "0"), ("fill", "#ffffff")])
    svg.group("g", [("stroke", "#333333")]) { g in
      g.element("line", [("x1", "1"), ("y1", "2"), ("x2", "3"), ("y2", "4")])
      g.group("circle", [("r", "3.5")]) { c in c.element("title", [], text: "a < b & \"c\"") }
    }
    svg.element("text", [("x", "5"), ("y", "6")], text: "N > M")
    XCTAssertEqual(
      svg.finish(),
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"20\" height=\"10\"><rect x=\"0\" y=\"0\" fill=\"#ffffff\"/>"
        + "<g stroke=\"#333333\"><line x1=\"1\" y1=\"2\" x2=\"3\" y2=\"4\"/><circle r=\"3.5\"><title>a &lt; b &amp; &quot;c&quot;</title></circle></g>"
        + "<text x=\"5\" y=\"6\">N &gt; M</text></svg>")
  }

  func testAttributeValuesAreEscaped() {
    var svg = SVGWriter(attributes: [])
    svg.element("text", [("data-label", "x<\"y\">&z")], text: "")
    XCTAssertEqual(svg.finish(), "<svg><text data-label=\"x&lt;&quot;y&quot;&gt;&amp;z\"></text></svg>")
  }
}
