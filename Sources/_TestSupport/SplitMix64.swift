import Foundation

/// A seeded, repeatable random number generator for tests (SplitMix64, as in swift-algorithms'
/// `TestUtilities.swift`). Every property test names its seed so a failure can be replayed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  public private(set) var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A standard normal sample (Box–Muller), for random test tensors.
  public mutating func nextNormal() -> Float {
    let u1 = max(Double(next() >> 11) * 0x1.0p-53, 0x1.0p-60)
    let u2 = Double(next() >> 11) * 0x1.0p-53
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }

  /// `count` standard normal samples.
  public mutating func normals(_ count: Int) -> [Float] {
    (0..<count).map { _ in nextNormal() }
  }
}
