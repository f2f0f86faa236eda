/// A vectorised e^x for `Lane`s, with a bit-identical one-`Float` version for scalar tails.
///
/// Algorithm (Cephes `expf`, reorganised to be branch-free):
/// 1. n = round(x·log₂e), taken from the low bits of x·log₂e + 1.5·2²³ (no float→int convert);
/// 2. r = x − n·ln2 in two steps (Cody–Waite: ln2 = 0.693359375 − 2.12194440e−4), |r| ≤ ln2/2;
/// 3. e^r ≈ 1 + r + r²·P(r) with P of degree 5 (Cephes' minimax coefficients), by Horner;
/// 4. e^x = e^r·2^⌊n/2⌋·2^(n−⌊n/2⌋): two exponent-bit scalings, so n = 128 (x up to 88.72)
///    neither overflows the exponent field nor needs a branch;
/// 5. x ≤ −87.33 (and −∞) gives exactly +0 (results below that would be near or under the
///    smallest normal float, so they are flushed); x > 88.72 gives +∞; NaN is returned as is.
///
/// Accuracy, measured in release against `Foundation.exp` in `Double` on **every** `Float` in
/// (−87.33, 88.72] (2 237 667 744 inputs): max relative error 8.16e−8 (0.99 ulp) with plain
/// multiply–add, 8.46e−8 (1.01 ulp) when built with `-DTILEKERNELS_FMA`; `exp(Float)` matched
/// the lanes bit for bit on all of them. The documented and tested bound is **1.2e−7** relative
/// (`VectorExpTests` checks it on 2¹⁸ evenly spaced points and on the neighbourhoods of 0, ±ln2/2
/// and both limits, in debug).
///
/// Cost per lane: 9 multiply–adds, 3 multiplies, 2 additions/subtractions (23 FLOPs counting a
/// multiply–add as 2), 5 integer ops and 3 selects; the kernels' FLOP totals count it as 1.
///
/// The 16-wide overloads (`exp(_: SIMD16<Float>)`, and `expNoOverflow` for arguments ≤ 88) run
/// the same operations on one zmm register under AVX-512, or two ymm registers otherwise, and
/// give the same bits lane by lane; the softmax kernels use them.
public enum VectorExp {
  /// Inputs at or below this give exactly 0.
  @inlinable public static var underflowLimit: Float { -87.33 }
  /// Inputs above this give +infinity.
  @inlinable public static var overflowLimit: Float { 88.72 }

  @inlinable @inline(__always) internal static var log2e: Float { 1.44269504088896341 }
  @inlinable @inline(__always) internal static var roundingBias: Float { 12_582_912 }  // 1.5·2²³
  @inlinable @inline(__always) internal static var ln2High: Float { 0.693359375 }
  @inlinable @inline(__always) internal static var ln2Low: Float { -2.12194440e-4 }
  @inlinable @inline(__always) internal static var p0: Float { 1.9875691500e-4 }
  @inlinable @inline(__always) internal static var p1: Float { 1.3981999507e-3 }
  @inlinable @inline(__always) internal static var p2: Float { 8.3334519073e-3 }
  @inlinable @inline(__always) internal static var p3: Float { 4.1665795894e-2 }
  @inlinable @inline(__always) internal static var p4: Float { 1.6666665459e-1 }
  @inlinable @inline(__always) internal static var p5: Float { 5.0000001201e-1 }
  /// Bit pattern of `roundingBias`, minus 256 so that n + 256 ≥ 0 for every valid n ≥ −126.
  @inlinable @inline(__always) internal static var biasBits: UInt32 { 0x4B40_0000 &- 256 }

  /// e^x in every lane.
  ///
  /// - Complexity: 23 FLOPs per lane (counted as 1 per lane in the kernels' totals).
  @inlinable @inline(__always)
  public static func exp(_ x: Lane) -> Lane {
    let t = LaneOps.multiplyAdd(x, Lane(repeating: log2e), Lane(repeating: roundingBias))
    let n: Lane = t - roundingBias
    let rHigh = LaneOps.multiplyAdd(n, Lane(repeating: -ln2High), x)
    let r = LaneOps.multiplyAdd(n, Lane(repeating: -ln2Low), rHigh)
    let r2: Lane = r * r
    var y = Lane(repeating: p0)
    y = LaneOps.multiplyAdd(y, r, Lane(repeating: p1))
    y = LaneOps.multiplyAdd(y, r, Lane(repeating: p2))
    y = LaneOps.multiplyAdd(y, r, Lane(repeating: p3))
    y = LaneOps.multiplyAdd(y, r, Lane(repeating: p4))
    y = LaneOps.multiplyAdd(y, r, Lane(repeating: p5))
    let er = LaneOps.multiplyAdd(y, r2, r) + 1
    // m = n + 256; the scale exponents are ⌊n/2⌋ + 127 = ⌊m/2⌋ − 1 and n − ⌊n/2⌋ + 127 = m − ⌊m/2⌋ − 1.
    let tBits = unsafeBitCast(t, to: SIMD8<UInt32>.self)  // Lane has no bitPattern
    let m: SIMD8<UInt32> = tBits &- biasBits
    let halfM: SIMD8<UInt32> = m &>> 1
    let e1: SIMD8<UInt32> = (halfM &- 1) &<< 23
    let e2: SIMD8<UInt32> = (m &- halfM &- 1) &<< 23
    let scaled: Lane = er * unsafeBitCast(e1, to: Lane.self)
    var result: Lane = scaled * unsafeBitCast(e2, to: Lane.self)
    result.replace(with: 0, where: x .<= underflowLimit)
    result.replace(with: .infinity, where: x .> overflowLimit)
    result.replace(with: x, where: x .!= x)
    return result
  }

  /// e^x in every lane of a 16-wide vector (one zmm register with AVX-512), bit-identical lane
  /// by lane to `exp(_ x: Lane)`.
  ///
  /// - Complexity: 23 FLOPs per lane (counted as 1 per lane in the kernels' totals).
  @inlinable @inline(__always)
  public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let (t, er) = reducedExp(x)
    let tBits = unsafeBitCast(t, to: SIMD16<UInt32>.self)
    let m: SIMD16<UInt32> = tBits &- biasBits
    let halfM: SIMD16<UInt32> = m &>> 1
    let e1: SIMD16<UInt32> = (halfM &- 1) &<< 23
    let e2: SIMD16<UInt32> = (m &- halfM &- 1) &<< 23
    let scaled: SIMD16<Float> = er * unsafeBitCast(e1, to: SIMD16<Float>.self)
    var result: SIMD16<Float> = scaled * unsafeBitCast(e2, to: SIMD16<Float>.self)
    result.replace(with: 0, where: x .<= underflowLimit)
    result.replace(with: .infinity, where: x .> overflowLimit)
    result.replace(with: x, where: x .!= x)
    return result
  }

  /// Upper end of the domain of `expNoOverflow`.
  @inlinable public static var noOverflowLimit: Float { 88 }

  /// e^x for x ≤ 88 (`noOverflowLimit`), bit-identical there to `exp(_:)`, in about two thirds
  /// of its instructions: the softmax kernels' e^(s − max s), whose arguments are ≤ 0.
  ///
  /// For x ≤ 88, n = round(x·log₂e) ≤ 127, so 2ⁿ is one exponent-field scaling instead of two,
  /// and no overflow select is needed; x ≤ −87.33 (and −∞) gives +0 and NaN propagates through
  /// the arithmetic. Splitting the scaling into two steps (as `exp` does) changes no result in
  /// this range: both products are exact except the last rounding, which is the same. Above 88
  /// the result is unspecified (+∞ or a wrong finite value), so callers must guarantee the bound.
  ///
  /// - Complexity: about 17 vector instructions for 16 lanes.
  @inlinable @inline(__always)
  public static func expNoOverflow(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let (t, er) = reducedExp(x)
    // n + 127 from the rounding trick's low bits: bits(t) − bits(1.5·2²³) + 127, shifted into
    // the exponent field.
    let tBits = unsafeBitCast(t, to: SIMD16<UInt32>.self)
    let e: SIMD16<UInt32> = (tBits &- (biasBits &+ 256 &- 127)) &<< 23
    var result: SIMD16<Float> = er * unsafeBitCast(e, to: SIMD16<Float>.self)
    result.replace(with: 0, where: x .<= underflowLimit)
    return result
  }

  /// The shared part of the 16-wide versions: t = x·log₂e + 1.5·2²³ (whose low bits hold n) and
  /// e^r for the reduced argument r = x − n·ln2.
  @inlinable @inline(__always)
  internal static func reducedExp(_ x: SIMD16<Float>) -> (t: SIMD16<Float>, er: SIMD16<Float>) {
    typealias V = SIMD16<Float>
    let t = LaneOps.multiplyAdd(x, V(repeating: log2e), V(repeating: roundingBias))
    let n: V = t - roundingBias
    let rHigh = LaneOps.multiplyAdd(n, V(repeating: -ln2High), x)
    let r = LaneOps.multiplyAdd(n, V(repeating: -ln2Low), rHigh)
    let r2: V = r * r
    var y = V(repeating: p0)
    y = LaneOps.multiplyAdd(y, r, V(repeating: p1))
    y = LaneOps.multiplyAdd(y, r, V(repeating: p2))
    y = LaneOps.multiplyAdd(y, r, V(repeating: p3))
    y = LaneOps.multiplyAdd(y, r, V(repeating: p4))
    y = LaneOps.multiplyAdd(y, r, V(repeating: p5))
    let er: V = LaneOps.multiplyAdd(y, r2, r) + 1
    return (t, er)
  }

  /// e^x for one float, bit-identical to one lane of `exp(_ x: Lane)`.
  ///
  /// - Complexity: 23 FLOPs (counted as 1).
  @inlinable
  public static func exp(_ x: Float) -> Float {
    if x.isNaN { return x }
    if x <= underflowLimit { return 0 }
    if x > overflowLimit { return .infinity }
    let t = LaneOps.multiplyAdd(x, log2e, roundingBias)
    let n = t - roundingBias
    let rHigh = LaneOps.multiplyAdd(n, -ln2High, x)
    let r = LaneOps.multiplyAdd(n, -ln2Low, rHigh)
    let r2 = r * r
    var y = p0
    y = LaneOps.multiplyAdd(y, r, p1)
    y = LaneOps.multiplyAdd(y, r, p2)
    y = LaneOps.multiplyAdd(y, r, p3)
    y = LaneOps.multiplyAdd(y, r, p4)
    y = LaneOps.multiplyAdd(y, r, p5)
    let er = LaneOps.multiplyAdd(y, r2, r) + 1
    let m = t.bitPattern &- biasBits
    let halfM = m &>> 1
    let scaled = er * Float(bitPattern: (halfM &- 1) &<< 23)
    return scaled * Float(bitPattern: (m &- halfM &- 1) &<< 23)
  }
}
