import Foundation
import XCTest
@testable import Reproduction

#if canImport(FoundationXML)
import FoundationXML
#endif

final class PlotAxisTests: XCTestCase {
  func testLogTicksAreThePowersOfTheBaseInsideTheEnclosingDomain() {
    let axis = PlotAxis("N", scale: .log(base: 2), values: [256, 1000, 16384])
    XCTAssertEqual(axis.domain.lower, 256)
    XCTAssertEqual(axis.domain.upper, 16384)
    XCTAssertEqual(axis.ticks, [256, 512, 1024, 2048, 4096, 8192, 16384])
    XCTAssertEqual(axis.fraction(256), 0, accuracy: 1e-12)
    XCTAssertEqual(axis.fraction(16384), 1, accuracy: 1e-12)
    XCTAssertEqual(axis.fraction(2048), 0.5, accuracy: 1e-12)
  }

  func testLogDomainRoundsOutwardToPowersOfTen() {
    let axis = PlotAxis("elements", scale: .log(base: 10), values: [3.2e5, 1.2e9, 0, -5])
    XCTAssertEqual(axis.domain.lower, 1e5)
    XCTAssertEqual(axis.domain.upper, 1e10)
    XCTAssertEqual(axis.ticks, [1e5, 1e6, 1e7, 1e8, 1e9, 1e10])
  }

  func testDenseTicksAreThinnedToTheMaximum() {
    var axis = PlotAxis("N", scale: .log(base: 2), values: [1, 65536])
    axis.maximumTicks = 9
    XCTAssertLessThanOrEqual(axis.ticks.count, 9)
    XCTAssertEqual(axis.ticks.first, 1)
    XCTAssertEqual(axis.ticks.last, 65536)
  }

  func testLinearTicksUseOneTwoFiveStepsAndIncludeZeroWhenAsked() {
    let axis = PlotAxis("ms", scale: .linear, values: [0.6, 7.49]).including(0)
    XCTAssertEqual(axis.domain.lower, 0)
    XCTAssertEqual(axis.domain.upper, 8)
    XCTAssertEqual(axis.ticks, [0, 2, 4, 6, 8])
    XCTAssertEqual(axis.fraction(4), 0.5, accuracy: 1e-12)
  }

  func testLinearAxisOfOneValueStillHasARange() {
    let axis = PlotAxis("x", scale: .linear, values: [5])
    XCTAssertLessThan(axis.domain.lower, 5)
    XCTAssertGreaterThan(axis.domain.upper, 5)
  }

  func testTickLabels() {
    XCTAssertEqual(PlotAxis.label(0), "0")
    XCTAssertEqual(PlotAxis.label(16384), "16384")
    XCTAssertEqual(PlotAxis.label(1e9), "1e9")
    XCTAssertEqual(PlotAxis.label(2.5e7), "2.5e7")
    XCTAssertEqual(PlotAxis.label(0.25), "0.25")
    XCTAssertEqual(PlotAxis.label(0.015625), "0.0156")
  }
}

final class LinePlotTests: XCTestCase {
  func plot() -> LinePlot {
    LinePlot(
      title: "traffic <vs> N & M",
      x: PlotAxis("N", scale: .log(base: 2), values: [256, 1024, 4096]),
      y: PlotAxis("elements", scale: .log(base: 10), values: [1e5, 1e8]),
      series: [
        LinePlot.Series("standard — slope 2.00", points: [(256, 1e5), (1024, 1.6e6), (4096, 2.56e7)]),
        LinePlot.Series("flash", points: [(256, 2e5), (1024, 0), (4096, 1e8)], dashed: true),
        LinePlot.Series("markers only", points: [(1024, 1e6)], joined: false),
      ])
  }

  func testSVGIsAStandaloneWellFormedDocument() throws {
    let svg = plot().svg()
    XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""), String(svg.prefix(80)))
    XCTAssertTrue(svg.hasSuffix("</svg>\n"))
    XCTAssertFalse(svg.contains("href"), "no external references")
    XCTAssertTrue(svg.contains("traffic &lt;vs&gt; N &amp; M"))
    let parser = XMLParser(data: Data(svg.utf8))
    XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))")
  }

  func testOnePolylinePerJoinedSeriesAndALegendEntryForEach() {
    let svg = plot().svg()
    XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
    XCTAssertEqual(svg.components(separatedBy: "stroke-dasharray").count - 1, 2, "the dashed series and its legend swatch")
    for name in ["standard — slope 2.00", "flash", "markers only"] { XCTAssertTrue(svg.contains(">\(name)</text>"), name) }
  }

  func testPointsOffALogAxisAreDropped() {
    // The flash series has a zero, which a log axis cannot show: 2 of its 3 markers remain.
    let svg = plot().svg()
    XCTAssertEqual(svg.components(separatedBy: "<title>flash:").count - 1, 2)
  }

  func testPositionsMapTheDomainToTheFrame() {
    let p = plot()
    let lowerLeft = p.position(x: 256, y: p.y.domain.lower)
    let upperRight = p.position(x: 4096, y: p.y.domain.upper)
    XCTAssertEqual(lowerLeft.x, LinePlot.margin.left, accuracy: 1e-9)
    XCTAssertEqual(lowerLeft.y, p.height - LinePlot.margin.bottom, accuracy: 1e-9)
    XCTAssertEqual(upperRight.x, p.width - LinePlot.margin.right, accuracy: 1e-9)
    XCTAssertEqual(upperRight.y, LinePlot.margin.top, accuracy: 1e-9)
  }

  func testLongTitlesShrinkToFit() {
    var p = plot()
    p.title = String(repeating: "x", count: 200)
    XCTAssertLessThan(p.titleFontSize * 0.62 * 200, p.width)
  }
}

final class LineFitTests: XCTestCase {
  func testLogLogSlopeOfAPowerLawIsItsExponent() {
    let points = [256.0, 512, 1024, 4096].map { (x: $0, y: 3 * $0 * $0) }
    let fit = LineFit.logLog(points)
    XCTAssertEqual(fit.slope, 2, accuracy: 1e-12)
    XCTAssertEqual(fit.maxResidual, 0, accuracy: 1e-9)
  }

  func testLineFitRecoversAnAffineFunction() {
    let fit = LineFit([(0, 524_288), (0.5, 8_552_448), (1, 16_580_608)])
    XCTAssertEqual(fit.intercept, 524_288, accuracy: 1e-6)
    XCTAssertEqual(fit.slope, 16_056_320, accuracy: 1e-6)
    XCTAssertEqual(fit.count, 3)
  }
}

final class CSVTableTests: XCTestCase {
  func testFieldsWithCommasOrQuotesAreQuoted() {
    var table = CSVTable(header: ["implementation", "hbm_gb"])
    table.append(["flash", "5.461"])
    table.append(["flash (Br=16, Bc=256)", "5.2"])
    table.append(["say \"hi\"", "1"])
    XCTAssertEqual(table.text, "implementation,hbm_gb\nflash,5.461\n\"flash (Br=16, Bc=256)\",5.2\n\"say \"\"hi\"\"\",1\n")
  }
}
