import Reports

/// A self-contained SVG line plot: axes with ticks and grid lines (linear or logarithmic), one
/// polyline with point markers per series, and a legend. The output is a standalone SVG document
/// (it declares the SVG namespace so a browser renders the file directly) with no external
/// references: no fonts, scripts or stylesheets.
public struct LinePlot: Sendable {
  /// One curve.
  public struct Series: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    /// Draw the points joined by a line (otherwise markers only).
    public var joined: Bool
    public var dashed: Bool
    public var markers: Bool

    public init(_ name: String, points: [(x: Double, y: Double)], joined: Bool = true, dashed: Bool = false, markers: Bool = true) {
      self.name = name
      self.points = points
      self.joined = joined
      self.dashed = dashed
      self.markers = markers
    }
  }

  /// Where the legend sits inside the plot area.
  public enum LegendPosition: Sendable { case topLeft, topRight, bottomLeft, bottomRight }

  public var title: String
  public var x: PlotAxis
  public var y: PlotAxis
  public var series: [Series]
  public var legend: LegendPosition
  public var width = 680.0
  public var height = 420.0

  /// Colours that stay distinct in print and for common colour-vision deficiencies (Okabe–Ito).
  static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
  static let margin = (left: 84.0, right: 24.0, top: 44.0, bottom: 58.0)

  public init(title: String, x: PlotAxis, y: PlotAxis, series: [Series], legend: LegendPosition = .topLeft) {
    self.title = title
    self.x = x
    self.y = y
    self.series = series
    self.legend = legend
  }

  /// 15 px, smaller for long titles so they stay inside the image (about 0.6 em per character).
  var titleFontSize: Double { min(15, ((width - 16) / (0.62 * Double(max(title.count, 1)))).rounded(.down)) }

  var plotWidth: Double { width - Self.margin.left - Self.margin.right }
  var plotHeight: Double { height - Self.margin.top - Self.margin.bottom }

  /// The pixel position of a data point.
  public func position(x value: Double, y other: Double) -> (x: Double, y: Double) {
    (Self.margin.left + x.fraction(value) * plotWidth, Self.margin.top + (1 - y.fraction(other)) * plotHeight)
  }

  /// The SVG document.
  public func svg() -> String {
    let n = SVGWriter.number
    var body = SVGWriter(attributes: [
      ("xmlns", "http://www.w3.org/2000/svg"), ("width", n(width)), ("height", n(height)),
      ("viewBox", "0 0 \(n(width)) \(n(height))"), ("font-family", "Helvetica, Arial, sans-serif"), ("font-size", "12"),
    ])
    let (left, top) = (Self.margin.left, Self.margin.top)
    let (bottom, right) = (top + plotHeight, left + plotWidth)
    body.element("rect", [("x", "0"), ("y", "0"), ("width", n(width)), ("height", n(height)), ("fill", "#ffffff")])
    body.element("text", [("x", n(width / 2)), ("y", "24"), ("text-anchor", "middle"), ("font-size", n(titleFontSize)), ("font-weight", "bold")], text: title)

    // Grid, frame, ticks and labels.
    let xTicks = x.ticks.map { (value: $0, at: position(x: $0, y: y.domain.lower).x) }
    let yTicks = y.ticks.map { (value: $0, at: position(x: x.domain.lower, y: $0).y) }
    body.group("g", [("stroke", "#e3e3e3"), ("stroke-width", "1")]) { g in
      for t in xTicks { g.element("line", [("x1", n(t.at)), ("y1", n(top)), ("x2", n(t.at)), ("y2", n(bottom))]) }
      for t in yTicks { g.element("line", [("x1", n(left)), ("y1", n(t.at)), ("x2", n(right)), ("y2", n(t.at))]) }
    }
    body.element("rect", [("x", n(left)), ("y", n(top)), ("width", n(plotWidth)), ("height", n(plotHeight)), ("fill", "none"), ("stroke", "#333333")])
    body.group("g", [("stroke", "#333333")]) { g in
      for t in xTicks { g.element("line", [("x1", n(t.at)), ("y1", n(bottom)), ("x2", n(t.at)), ("y2", n(bottom + 5))]) }
      for t in yTicks { g.element("line", [("x1", n(left - 5)), ("y1", n(t.at)), ("x2", n(left)), ("y2", n(t.at))]) }
    }
    for t in xTicks {
      body.element("text", [("x", n(t.at)), ("y", n(bottom + 19)), ("text-anchor", "middle")], text: PlotAxis.label(t.value))
    }
    for t in yTicks {
      body.element("text", [("x", n(left - 8)), ("y", n(t.at + 4)), ("text-anchor", "end")], text: PlotAxis.label(t.value))
    }
    body.element("text", [("x", n(left + plotWidth / 2)), ("y", n(height - 14)), ("text-anchor", "middle")], text: x.label + (x.isLogarithmic ? " (log scale)" : ""))
    let middle = top + plotHeight / 2
    body.element("text", [("x", "18"), ("y", n(middle)), ("text-anchor", "middle"), ("transform", "rotate(-90 18 \(n(middle)))")],
      text: y.label + (y.isLogarithmic ? " (log scale)" : ""))

    // Series: a polyline and markers each, clipped to the frame.
    body.group("g", []) { g in
      for (index, line) in series.enumerated() {
        let color = Self.palette[index % Self.palette.count]
        let visible = line.points
          .filter { $0.x.isFinite && $0.y.isFinite && (!x.isLogarithmic || $0.x > 0) && (!y.isLogarithmic || $0.y > 0) }
          .map { (point: $0, at: position(x: $0.x, y: $0.y)) }
        if line.joined, visible.count > 1 {
          var attributes = [
            ("points", visible.map { n($0.at.x) + "," + n($0.at.y) }.joined(separator: " ")),
            ("fill", "none"), ("stroke", color), ("stroke-width", "2"),
          ]
          if line.dashed { attributes.append(("stroke-dasharray", "6 4")) }
          g.element("polyline", attributes)
        }
        if line.markers {
          g.group("g", [("fill", color)]) { m in
            for v in visible {
              m.group("circle", [("cx", n(v.at.x)), ("cy", n(v.at.y)), ("r", "3.5")]) { c in
                c.element("title", [], text: "\(line.name): (\(PlotAxis.label(v.point.x)), \(PlotAxis.label(v.point.y)))")
              }
            }
          }
        }
      }
    }
    drawLegend(&body)
    return body.finish() + "\n"
  }

  /// The legend box: one row per series with its line style, marker and name.
  func drawLegend(_ body: inout SVGWriter) {
    guard !series.isEmpty else { return }
    let n = SVGWriter.number
    let rowHeight = 18.0
    let boxWidth = min(plotWidth - 16, 40 + 6.4 * Double(series.map(\.name.count).max() ?? 0))
    let boxHeight = rowHeight * Double(series.count) + 10
    let (inset, right, bottom) = (8.0, Self.margin.left + plotWidth, Self.margin.top + plotHeight)
    let left = legend == .topLeft || legend == .bottomLeft ? Self.margin.left + inset : right - boxWidth - inset
    let top = legend == .topLeft || legend == .topRight ? Self.margin.top + inset : bottom - boxHeight - inset
    body.element("rect", [
      ("x", n(left)), ("y", n(top)), ("width", n(boxWidth)), ("height", n(boxHeight)),
      ("fill", "#ffffff"), ("fill-opacity", "0.92"), ("stroke", "#999999"),
    ])
    for (index, line) in series.enumerated() {
      let color = Self.palette[index % Self.palette.count]
      let y = top + 5 + rowHeight * (Double(index) + 0.5)
      if line.joined {
        var attributes = [("x1", n(left + 6)), ("y1", n(y)), ("x2", n(left + 28)), ("y2", n(y)), ("stroke", color), ("stroke-width", "2")]
        if line.dashed { attributes.append(("stroke-dasharray", "6 4")) }
        body.element("line", attributes)
      }
      if line.markers { body.element("circle", [("cx", n(left + 17)), ("cy", n(y)), ("r", "3.5"), ("fill", color)]) }
      body.element("text", [("x", n(left + 34)), ("y", n(y + 4))], text: line.name)
    }
  }
}
