/// A size a run cannot have: a quantity, its value and the limit it exceeds. Every size the
/// simulator derives from user input (element counts, bytes, block grids, memory estimates) is
/// computed with overflow-checked arithmetic and refused with this error instead of trapping.
public struct SizeLimitError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Why the limit exists.
  public enum Kind: String, Sendable, Hashable {
    /// No machine could hold the value (it overflows 64 bits or exceeds `SizeLimits.maximumBytes`).
    case unrepresentable
    /// The value is possible, but this run would exceed a resource (time, memory).
    case resource
  }

  public var kind: Kind
  /// What is measured, with its formula (`Q of one head: N × d × 2 bytes`).
  public var quantity: String
  /// The value, exact or (past 64 bits) approximate.
  public var value: String
  /// The limit, with its unit.
  public var limit: String
  /// What to change (may be empty).
  public var hint: String

  public init(kind: Kind, quantity: String, value: String, limit: String, hint: String = "") {
    self.kind = kind
    self.quantity = quantity
    self.value = value
    self.limit = limit
    self.hint = hint
  }

  public var description: String {
    "\(quantity) is \(value), more than the limit of \(limit)" + (hint.isEmpty ? "" : "; \(hint)")
  }
}

/// Limits on sizes and overflow-checked size arithmetic.
public enum SizeLimits {
  /// The most bytes one tensor, SRAM or memory level may have: 2^50 bytes (1 PiB), more than any
  /// machine's memory, and small enough that sums and products of a few such sizes fit in 64 bits.
  public static let maximumBytes = 1 << 50

  /// `maximumBytes` as text for messages.
  public static let maximumBytesText = "1125899906842624 bytes (2^50, 1 PiB)"

  /// The product of `factors`, or `SizeLimitError.unrepresentable` naming `quantity` when it
  /// overflows 64 bits or exceeds `limit`.
  /// - Parameters:
  ///   - quantity: what the product measures, e.g. `"Q of one head (N × d × 2 bytes)"`.
  ///   - limit: the largest allowed value (default `maximumBytes`).
  ///   - limitText: the limit as text (default: `limit` in bytes).
  public static func product(
    _ quantity: String, _ factors: [Int], limit: Int = maximumBytes, limitText: String? = nil, unit: String = "bytes"
  ) throws -> Int {
    var result = 1
    var overflow = false
    if let negative = factors.first(where: { $0 < 0 }) {
      throw SizeLimitError(kind: .unrepresentable, quantity: quantity, value: "negative (\(negative))", limit: "0 at least")
    }
    for factor in factors {
      let (next, didOverflow) = result.multipliedReportingOverflow(by: factor)
      if didOverflow { overflow = true; break }
      result = next
    }
    if overflow || result > limit {
      let text = factors.map(String.init).joined(separator: " × ")
      let value: String
      if overflow {
        let approximate = factors.reduce(1.0) { $0 * Double($1) }
        value = "\(text) ≈ \(scientific(approximate)) \(unit) (past 64 bits)"
      } else {
        value = factors.count > 1 ? "\(text) = \(result) \(unit)" : "\(result) \(unit)"
      }
      throw SizeLimitError(
        kind: .unrepresentable, quantity: quantity, value: value,
        limit: limitText ?? (limit == maximumBytes ? maximumBytesText : "\(limit) \(unit)"))
    }
    return result
  }

  /// `x` in scientific notation with two significant digits (`1.2e21`).
  public static func scientific(_ x: Double) -> String {
    guard x.isFinite, x > 0 else { return "\(x)" }
    var exponent = 0
    var mantissa = x
    while mantissa >= 10 { mantissa /= 10; exponent += 1 }
    while mantissa < 1 { mantissa *= 10; exponent -= 1 }
    let tenths = Int((mantissa * 10).rounded())
    let (whole, fraction) = tenths == 100 ? (1, 0) : (tenths / 10, tenths % 10)
    if tenths == 100 { exponent += 1 }
    return "\(whole).\(fraction)e\(exponent)"
  }

  /// `a × b` saturated at `Int.max` (for estimates that are compared with a limit).
  public static func saturatingProduct(_ a: Int, _ b: Int) -> Int {
    let (r, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max : r
  }

  /// `a + b` saturated at `Int.max`.
  public static func saturatingSum(_ a: Int, _ b: Int) -> Int {
    let (r, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max : r
  }
}
