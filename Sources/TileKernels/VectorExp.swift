/// A vectorised e^x for `Lane`s, with a bit-identical one-`Float` version for scalar tails.
///
/// Algorithm (Cephes' `expf` range reduction, made branch-free, with a shorter polynomial):
/// 1. n = round(x·log₂e), taken from the low bits of x·log₂e + 1.5·2²³ (no float→int convert);
/// 2. r = x − n·ln2 in two steps (Cody–Waite: ln2 = 0.693359375 − 2.12194440e−4), |r| ≤ ln2/2;
/// 3. e^r ≈ 1 + r + c₂r² + … + c₆r⁶, a minimax fit for relative error with the first two
///    coefficients held at 1 (3.8e−9 in exact arithmetic), by Horner: 6 multiply–adds where
///    Cephes' 1 + r + r²·P₅(r) takes a multiply, 6 multiply–adds and an add;
/// 4. e^x = e^r·2^⌊n/2⌋·2^(n−⌊n/2⌋): two exponent-bit scalings, so n = 128 (x up to 88.72)
///    neither overflows the exponent field nor needs a branch;
/// 5. x ≤ −87.33 (and −∞) gives exactly +0 (results below that would be near or under the
///    smallest normal float, so they are flushed); x > 88.72 gives +∞; NaN is returned as is.
///
/// Accuracy, measured in release against `Foundation.exp` in `Double` on **every** `Float` in
/// (−87.33, 88.72] (2 237 667 744 inputs): max relative error 7.71e−8 (0.93 ulp) with
/// `-DTILEKERNELS_AVX512` (fused multiply–adds), 9.90e−8 (1.2 ulp) with plain multiply and add;
/// `exp(Float)` matched the lanes bit for bit on all of them. (Cephes' polynomial measured
/// 8.46e−8 and 8.16e−8.) The documented and tested bound is **1.2e−7** relative
/// (`VectorExpTests` checks it on 2¹⁸ evenly spaced points and on the neighbourhoods of 0, ±ln2/2
/// and both limits, in debug).
///
/// Cost per lane: 9 multiply–adds, 2 multiplies, 1 subtraction (21 FLOPs counting a
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
  // e^r ≈ 1 + r + c2·r² + … + c6·r⁶ on |r| ≤ ln2/2: minimax for relative error with the first
  // two coefficients fixed at 1 (3.8e−9 in exact arithmetic with these float coefficients, far
  // below a float's rounding), evaluated by Horner in 6 multiply–adds.
  @inlinable @inline(__always) internal static var c2: Float { 0.49999994 }
  @inlinable @inline(__always) internal static var c3: Float { 0.16666521 }
  @inlinable @inline(__always) internal static var c4: Float { 0.041668389 }
  @inlinable @inline(__always) internal static var c5: Float { 0.0083687156 }
  @inlinable @inline(__always) internal static var c6: Float { 0.0013814602 }
  /// Bit pattern of `roundingBias`, minus 256 so that n + 256 ≥ 0 for every valid n ≥ −126.
  @inlinable @inline(__always) internal static var biasBits: UInt32 { 0x4B40_0000 &- 256 }

  /// e^x in every lane.
  ///
  /// - Complexity: 21 FLOPs per lane (counted as 1 per lane in the kernels' totals).
  @inlinable @inline(__always)
  public static func exp(_ x: Lane) -> Lane {
    let t = LaneOps.multiplyAdd(x, Lane(repeating: log2e), Lane(repeating: roundingBias))
    let n: Lane = t - roundingBias
    let rHigh = LaneOps.multiplyAdd(n, Lane(repeating: -ln2High), x)
    let r = LaneOps.multiplyAdd(n, Lane(repeating: -ln2Low), rHigh)
    var y = LaneOps.multiplyAdd(Lane(repeating: c6), r, Lane(repeating: c5))
    y = LaneOps.multiplyAdd(y, r, Lane(repeating: c4))
    y = LaneOps.multiplyAdd(y, r, Lane(repeating: c3))
    y = LaneOps.multiplyAdd(y, r, Lane(repeating: c2))
    y = LaneOps.multiplyAdd(y, r, Lane(repeating: 1))
    let er = LaneOps.multiplyAdd(y, r, Lane(repeating: 1))
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
  /// - Complexity: 21 FLOPs per lane (counted as 1 per lane in the kernels' totals).
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
  /// Inputs at or below this give exactly 0 in `expNoOverflow` (results below 1.9e−38, within
  /// a factor 1.6 of the smallest normal float).
  @inlinable public static var noOverflowFlushLimit: Float { -86.9 }

  /// e^x for x ≤ 88 (`noOverflowLimit`), bit-identical to `exp(_:)` on (−86.9, 88], in 14
  /// vector instructions (16 with Cephes' polynomial and a multiply for 2ⁿ): the softmax
  /// kernels' e^(s − max s), whose arguments are ≤ 0.
  ///
  /// For −86.9 < x ≤ 88, n = round(x·log₂e) lies in −125…127, so e^r·2ⁿ is a normal float
  /// and 2ⁿ can be applied by adding n to e^r's exponent field: t's bits are
  /// bits(1.5·2²³) + n, and bits(1.5·2²³)·2²³ wraps to 0 in 32 bits, so (bits(t) << 23) is
  /// exactly n in the exponent field. No multiply, no overflow select. x ≤ −86.9 (and −∞) gives
  /// +0 (where `exp` still returns normals down to 1.2e−38); NaN propagates through e^r. Above
  /// 88 the result is unspecified (a wrong finite value or NaN), so callers must guarantee
  /// the bound.
  ///
  /// - Complexity: 14 vector instructions for 16 lanes (9 multiply–adds, a subtraction, a shift,
  ///   an integer add, a compare and a masked zeroing).
  @inlinable @inline(__always)
  public static func expNoOverflow(_ x: SIMD16<Float>) -> SIMD16<Float> {
    expNoOverflow(reduced: rangeReduction(x), x: x)
  }

  /// `expNoOverflow(x)` from `rangeReduction(x)`: the two halves of the computation, so that a
  /// loop can issue the reduction of later vectors before the polynomial of earlier ones (the
  /// softmax numerator does).
  @inlinable @inline(__always)
  internal static func expNoOverflow(
    reduced: (t: SIMD16<Float>, r: SIMD16<Float>), x: SIMD16<Float>
  ) -> SIMD16<Float> {
    let (t, r) = reduced
    let er = polynomial(r)
    let tBits = unsafeBitCast(t, to: SIMD16<UInt32>.self)
    let bits: SIMD16<UInt32> = unsafeBitCast(er, to: SIMD16<UInt32>.self) &+ (tBits &<< 23)
    var result = unsafeBitCast(bits, to: SIMD16<Float>.self)
    result.replace(with: 0, where: x .<= noOverflowFlushLimit)
    return result
  }

  /// The shared part of the 16-wide versions: t = x·log₂e + 1.5·2²³ (whose low bits hold n) and
  /// e^r for the reduced argument r = x − n·ln2.
  @inlinable @inline(__always)
  internal static func reducedExp(_ x: SIMD16<Float>) -> (t: SIMD16<Float>, er: SIMD16<Float>) {
    let (t, r) = rangeReduction(x)
    return (t, polynomial(r))
  }

  /// t = x·log₂e + 1.5·2²³ (whose low bits hold n = round(x·log₂e)) and r = x − n·ln2, 16 lanes.
  @inlinable @inline(__always)
  internal static func rangeReduction(_ x: SIMD16<Float>) -> (t: SIMD16<Float>, r: SIMD16<Float>) {
    typealias V = SIMD16<Float>
    let t = LaneOps.multiplyAdd(x, V(repeating: log2e), V(repeating: roundingBias))
    let n: V = t - roundingBias
    let rHigh = LaneOps.multiplyAdd(n, V(repeating: -ln2High), x)
    let r = LaneOps.multiplyAdd(n, V(repeating: -ln2Low), rHigh)
    return (t, r)
  }

  /// e^r ≈ 1 + r + c₂r² + … + c₆r⁶ by Horner, 16 lanes.
  @inlinable @inline(__always)
  internal static func polynomial(_ r: SIMD16<Float>) -> SIMD16<Float> {
    typealias V = SIMD16<Float>
    var y = LaneOps.multiplyAdd(V(repeating: c6), r, V(repeating: c5))
    y = LaneOps.multiplyAdd(y, r, V(repeating: c4))
    y = LaneOps.multiplyAdd(y, r, V(repeating: c3))
    y = LaneOps.multiplyAdd(y, r, V(repeating: c2))
    y = LaneOps.multiplyAdd(y, r, V(repeating: 1))
    return LaneOps.multiplyAdd(y, r, V(repeating: 1))
  }

  /// e^x for one float, bit-identical to one lane of `exp(_ x: Lane)`.
  ///
  /// - Complexity: 21 FLOPs (counted as 1).
  @inlinable
  public static func exp(_ x: Float) -> Float {
    if x.isNaN { return x }
    if x <= underflowLimit { return 0 }
    if x > overflowLimit { return .infinity }
    let t = LaneOps.multiplyAdd(x, log2e, roundingBias)
    let n = t - roundingBias
    let rHigh = LaneOps.multiplyAdd(n, -ln2High, x)
    let r = LaneOps.multiplyAdd(n, -ln2Low, rHigh)
    var y = LaneOps.multiplyAdd(c6, r, c5)
    y = LaneOps.multiplyAdd(y, r, c4)
    y = LaneOps.multiplyAdd(y, r, c3)
    y = LaneOps.multiplyAdd(y, r, c2)
    y = LaneOps.multiplyAdd(y, r, 1)
    let er = LaneOps.multiplyAdd(y, r, 1)
    let m = t.bitPattern &- biasBits
    let halfM = m &>> 1
    let scaled = er * Float(bitPattern: (halfM &- 1) &<< 23)
    return scaled * Float(bitPattern: (m &- halfM &- 1) &<< 23)
  }
}
