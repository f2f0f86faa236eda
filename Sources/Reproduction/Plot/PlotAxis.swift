import Foundation

/// One axis of a plot: its label, its scale (linear or logarithmic), the data range it must show,
/// and the ticks and domain derived from them.
public struct PlotAxis: Hashable, Sendable {
  /// How values map to positions.
  public enum Scale: Hashable, Sendable {
    case linear
    /// Logarithmic, with ticks at powers of `base` (2 or 10 read best).
    case log(base: Double)
  }

  public var label: String
  public var scale: Scale
  /// The smallest and largest value the axis must show (from the data; see `including`).
  public private(set) var lower: Double
  public private(set) var upper: Double
  /// The most ticks to draw; denser candidate ticks are thinned to at most this many.
  public var maximumTicks = 9

  /// An axis showing `values` (non-positive values are ignored on a log axis).
  public init(_ label: String, scale: Scale, values: [Double]) {
    self.label = label
    self.scale = scale
    var usable = values.filter(\.isFinite)
    if case .log = scale { usable = usable.filter { $0 > 0 } }
    lower = usable.min() ?? (scale == .linear ? 0 : 1)
    upper = usable.max() ?? (scale == .linear ? 1 : 10)
    if lower == upper {
      if case .log = scale { lower /= 2; upper *= 2 } else { lower -= 1; upper += 1 }
    }
  }

  /// This axis widened to show `value` too (for example zero on a linear axis).
  public func including(_ value: Double) -> PlotAxis {
    var copy = self
    if case .log = scale, value <= 0 { return copy }
    copy.lower = min(lower, value)
    copy.upper = max(upper, value)
    return copy
  }

  public var isLogarithmic: Bool { if case .log = scale { return true } else { return false } }

  /// The value range drawn: for a log axis the enclosing powers of the base, for a linear axis the
  /// enclosing multiples of the tick step.
  public var domain: (lower: Double, upper: Double) {
    switch scale {
    case let .log(base):
      return (pow(base, (Foundation.log(lower) / Foundation.log(base) + 1e-9).rounded(.down)),
              pow(base, (Foundation.log(upper) / Foundation.log(base) - 1e-9).rounded(.up)))
    case .linear:
      let step = linearStep
      return ((lower / step + 1e-9).rounded(.down) * step, (upper / step - 1e-9).rounded(.up) * step)
    }
  }

  /// The position of `value` in the domain, 0 at `domain.lower` and 1 at `domain.upper`.
  public func fraction(_ value: Double) -> Double {
    let (a, b) = domain
    switch scale {
    case .log:
      guard value > 0 else { return 0 }
      return (Foundation.log(value) - Foundation.log(a)) / (Foundation.log(b) - Foundation.log(a))
    case .linear:
      return (value - a) / (b - a)
    }
  }

  /// Tick values inside the domain, ascending.
  public var ticks: [Double] {
    let (a, b) = domain
    var candidates: [Double] = []
    switch scale {
    case let .log(base):
      let first = Int((Foundation.log(a) / Foundation.log(base)).rounded())
      let last = Int((Foundation.log(b) / Foundation.log(base)).rounded())
      candidates = (first...max(first, last)).map { pow(base, Double($0)) }
    case .linear:
      let step = linearStep
      var k = (a / step).rounded()
      while k * step <= b + step * 1e-9 {
        candidates.append(k * step)
        k += 1
      }
    }
    guard candidates.count > maximumTicks else { return candidates }
    let stride = (candidates.count + maximumTicks - 1) / maximumTicks
    return candidates.enumerated().filter { $0.offset % stride == 0 }.map(\.element)
  }

  /// A 1-2-5 step giving about six intervals over the data range.
  var linearStep: Double {
    let span = max(upper - lower, Double.leastNormalMagnitude)
    let raw = span / 6
    let magnitude = pow(10, (Foundation.log10(raw)).rounded(.down))
    for multiple in [1.0, 2, 5, 10] where multiple * magnitude >= raw { return multiple * magnitude }
    return 10 * magnitude
  }

  /// A short label for a tick: integers below a million as digits, larger or tiny values as
  /// `2.5e7`, other values with up to three significant digits.
  public static func label(_ value: Double) -> String {
    if value == 0 { return "0" }
    let magnitude = abs(value)
    if magnitude >= 1e6 || magnitude < 1e-3 {
      let exponent = Int(Foundation.log10(magnitude).rounded(.down))
      let mantissa = String(format: "%.2g", value / pow(10, Double(exponent)))
      if mantissa == "10" || mantissa == "-10" { return (value < 0 ? "-1" : "1") + "e\(exponent + 1)" }
      return mantissa + "e\(exponent)"
    }
    if value == value.rounded() { return String(Int(value)) }
    var text = String(format: "%.3g", value)
    if text.contains(".") { while text.hasSuffix("0") { text.removeLast() } }
    return text
  }
}
