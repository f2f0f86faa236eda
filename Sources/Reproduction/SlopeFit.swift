import Foundation

/// A least-squares line through points: y = intercept + slope·x.
public struct LineFit: Hashable, Sendable {
  public var slope: Double
  public var intercept: Double
  /// The number of points fitted.
  public var count: Int
  /// The largest |y − (intercept + slope·x)| over the fitted points.
  public var maxResidual: Double

  /// Fits a line to `points` by ordinary least squares.
  /// - Precondition: at least two points with distinct x.
  public init(_ points: [(x: Double, y: Double)]) {
    precondition(points.count >= 2, "a line fit needs at least two points")
    let n = Double(points.count)
    let mx = points.reduce(0) { $0 + $1.x } / n
    let my = points.reduce(0) { $0 + $1.y } / n
    var sxx = 0.0
    var sxy = 0.0
    for p in points {
      sxx += (p.x - mx) * (p.x - mx)
      sxy += (p.x - mx) * (p.y - my)
    }
    precondition(sxx > 0, "a line fit needs two distinct x values")
    slope = sxy / sxx
    intercept = my - slope * mx
    count = points.count
    let (s, b) = (slope, intercept)
    maxResidual = points.reduce(0) { max($0, abs($1.y - (b + s * $1.x))) }
  }

  /// The slope of log y against log x: the exponent k of a power law y ∝ x^k.
  /// - Precondition: every coordinate is positive.
  public static func logLog(_ points: [(x: Double, y: Double)]) -> LineFit {
    precondition(points.allSatisfy { $0.x > 0 && $0.y > 0 }, "a log-log fit needs positive coordinates")
    return LineFit(points.map { (x: log($0.x), y: log($0.y)) })
  }
}
