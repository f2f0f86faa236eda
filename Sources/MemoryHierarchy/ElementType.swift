/// The storage precision of a tensor or tile: how many bytes an element costs in memory, and how
/// a value is rounded when it is stored in that precision.
///
/// Execute mode computes in fp32, as GPU kernels accumulate; fp16 and bf16 data are rounded to
/// their precision (round to nearest, ties to even) wherever they are *stored* to HBM, so the
/// numerical effect of half-precision storage is real while arithmetic stays in fp32.
public enum ElementType: String, CaseIterable, Sendable, Hashable, Codable, CustomStringConvertible {
  case fp32
  case fp16
  case bf16
  /// One byte per element: masks (a dropout mask's keep flags), stored as 0 or 1.
  case u8

  /// The floating-point storage types a problem's data can use.
  public static let floatingPoint: [ElementType] = [.fp32, .fp16, .bf16]

  /// Bytes per element in memory.
  public var byteWidth: Int {
    switch self {
    case .fp32: return 4
    case .fp16, .bf16: return 2
    case .u8: return 1
    }
  }

  public var description: String { rawValue }

  /// `value` rounded to this precision and widened back to `Float`.
  @inlinable
  public func rounded(_ value: Float) -> Float {
    switch self {
    case .fp32: return value
    case .fp16: return Float(Float16(value))
    case .bf16: return ElementType.roundToBFloat16(value)
    case .u8: return ElementType.roundToByte(value)
    }
  }

  /// Rounds `count` values in place to this precision (no-op for fp32).
  @inlinable
  public func round(_ values: UnsafeMutablePointer<Float>, count: Int) {
    switch self {
    case .fp32: return
    case .fp16:
      for i in 0..<count { values[i] = Float(Float16(values[i])) }
    case .bf16:
      for i in 0..<count { values[i] = ElementType.roundToBFloat16(values[i]) }
    case .u8:
      for i in 0..<count { values[i] = ElementType.roundToByte(values[i]) }
    }
  }

  /// Nearest integer in 0…255 (NaN becomes 0).
  @inlinable
  static func roundToByte(_ value: Float) -> Float {
    guard value > 0 else { return 0 }
    return min(255, value.rounded())
  }

  /// bfloat16 keeps the top 16 bits of an IEEE binary32; round to nearest, ties to even; NaN
  /// stays NaN.
  @inlinable
  static func roundToBFloat16(_ value: Float) -> Float {
    if value.isNaN { return value }
    let bits = value.bitPattern
    let lsb = (bits >> 16) & 1
    let rounded = bits &+ 0x7FFF &+ lsb
    return Float(bitPattern: rounded & 0xFFFF_0000)
  }
}
