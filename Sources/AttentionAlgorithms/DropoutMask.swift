/// A counter-based dropout mask: whether entry (row, column) of head (batch, head) is kept is a
/// pure function of (seed, batch, head, row, column), so the backward pass regenerates exactly
/// the mask the forward pass used without storing it, whatever order the tiles are visited in,
/// and every algorithm (standard, flash, flash2) drops the same entries for the same seed.
///
/// The generator hashes the five integers with the SplitMix64 finaliser (a bijective 64-bit
/// mixer) and keeps the entry when the top 24 bits fall below (1 − p)·2²⁴. This plays the role of
/// the Philox counter-based generator of the CUDA kernels (FlashAttention Algorithm 2 keeps the
/// generator state R and regenerates the mask in Algorithm 4); it is not cryptographic.
public struct DropoutMask: Hashable, Sendable {
  public let seed: UInt64
  /// p, the probability of dropping an entry.
  public let probability: Float
  public let batch: Int
  public let head: Int

  public init(seed: UInt64, probability: Float, batch: Int, head: Int) {
    self.seed = seed
    self.probability = probability
    self.batch = batch
    self.head = head
  }

  /// Whether dropout is on (p > 0).
  @inlinable public var isActive: Bool { probability > 0 }

  /// 1/(1 − p): the factor applied to kept entries.
  @inlinable public var keepScale: Float { 1 / (1 - probability) }

  @inlinable
  static func mix(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Whether entry (row, column) is kept.
  @inlinable
  public func keeps(row: Int, column: Int) -> Bool {
    let stream = DropoutMask.mix(seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: batch &* 65_537 &+ head &+ 1))
    let position = UInt64(truncatingIfNeeded: row) << 32 | UInt64(truncatingIfNeeded: column)
    let bits = DropoutMask.mix(stream ^ DropoutMask.mix(position &+ 0xD1B5_4A32_D192_ED03))
    let threshold = UInt64((1 - Double(probability)) * Double(1 << 24))
    return bits >> 40 < threshold
  }

  /// The multiplier of entry (row, column): 1/(1 − p) when kept, 0 when dropped (1 when off).
  @inlinable
  public func multiplier(row: Int, column: Int) -> Float {
    guard isActive else { return 1 }
    return keeps(row: row, column: column) ? keepScale : 0
  }

  /// Multiplies a tile in place by the mask of rows `rowStart…` and columns `columnStart…`;
  /// `rows·columns` FLOPs.
  public func apply(
    to tile: UnsafeMutablePointer<Float>, ld: Int, rows: Int, columns: Int, rowStart: Int, columnStart: Int
  ) {
    guard isActive else { return }
    let scale = keepScale
    for r in 0..<rows {
      let row = tile + r * ld
      for c in 0..<columns {
        row[c] = keeps(row: rowStart + r, column: columnStart + c) ? row[c] * scale : 0
      }
    }
  }

  /// Writes the multipliers of a block into `out` (row stride `ld`).
  public func fill(
    _ out: UnsafeMutablePointer<Float>, ld: Int, rows: Int, columns: Int, rowStart: Int, columnStart: Int
  ) {
    for r in 0..<rows {
      for c in 0..<columns { out[r * ld + c] = multiplier(row: rowStart + r, column: columnStart + c) }
    }
  }
}
