/// The SIMD vector every kernel in this module computes in: eight `Float` lanes (one AVX register).
///
/// Kernels step through memory in multiples of `Lane.scalarCount` and finish ragged edges in
/// scalar remainder loops (or, in the GEMMs, in shifted or padded vector blocks). Two pieces are
/// written for exactly eight lanes and need rewriting if the width changes: the horizontal
/// reductions in `LaneOps` and `TileGEMM.transpose8x8`.
public typealias Lane = SIMD8<Float>

/// Two `Lane`s as one vector: the width of one row of the GEMM micro-kernel's accumulators.
///
/// On an AVX-512 target (`-target-cpu native` on an AVX-512 CPU) it is one zmm register, which
/// runs the 4×32 outer-product kernel faster than two `Lane`s (one instruction where two were;
/// the numbers are in Docs/Performance.md, "Measurements behind the kernels"); on AVX2 or
/// baseline targets the compiler splits it into Lanes.
@usableFromInline
internal typealias LanePair = SIMD16<Float>

/// Loads, stores, fused-or-not multiply–add and horizontal reductions on `Lane`.
///
/// Why not the standard library's `addingProduct`, `pointwiseMax`, `max()` and `sum()`: on the
/// baseline x86-64 target `addingProduct` becomes eight `fmaf` calls, and the reductions keep
/// IEEE NaN semantics lane by lane, which compiles to branchy scalar code.
///
/// On arm64 FMA is baseline and `multiplyAdd` is always fused. On x86-64, build with
/// `-Xswiftc -DTILEKERNELS_FMA` **together with** `-Xswiftc -target-cpu -Xswiftc
/// native` (or any FMA-capable CPU) to make `multiplyAdd` a fused `vfmadd`; without an FMA target
/// that flag makes every kernel many times slower (each fused multiply–add becomes `fmaf` calls). `-DTILEKERNELS_AVX512` implies
/// `TILEKERNELS_FMA` (every AVX-512 CPU has FMA) and also widens the GEMM register block.
@usableFromInline
internal enum LaneOps {
  /// Loads eight floats from `pointer` (any alignment).
  @inlinable @inline(__always)
  internal static func load(_ pointer: UnsafePointer<Float>) -> Lane {
    UnsafeRawPointer(pointer).loadUnaligned(as: Lane.self)
  }

  /// Stores eight floats at `pointer` (any alignment).
  @inlinable @inline(__always)
  internal static func store(_ value: Lane, to pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Lane.self)
  }

  /// Loads sixteen floats from `pointer` (any alignment).
  @inlinable @inline(__always)
  internal static func loadPair(_ pointer: UnsafePointer<Float>) -> LanePair {
    UnsafeRawPointer(pointer).loadUnaligned(as: LanePair.self)
  }

  /// Stores sixteen floats at `pointer` (any alignment).
  @inlinable @inline(__always)
  internal static func store(_ value: LanePair, to pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: LanePair.self)
  }

  /// `a * b + c`, fused on arm64 or when built with `-DTILEKERNELS_FMA` or `-DTILEKERNELS_AVX512`.
  /// One overload per vector type rather than one generic function: release builds compile both
  /// to the same instructions, but debug builds do not specialise generic SIMD code, and a
  /// generic version made the debug test suite twice as slow.
  @inlinable @inline(__always)
  internal static func multiplyAdd(_ a: LanePair, _ b: LanePair, _ c: LanePair) -> LanePair {
    #if arch(arm64) || TILEKERNELS_FMA || TILEKERNELS_AVX512
      return c.addingProduct(a, b)
    #else
      let product: LanePair = a * b
      return product + c
    #endif
  }

  /// `a * b + c`, fused on arm64 or when built with `-DTILEKERNELS_FMA` or `-DTILEKERNELS_AVX512`.
  @inlinable @inline(__always)
  internal static func multiplyAdd(_ a: Lane, _ b: Lane, _ c: Lane) -> Lane {
    #if arch(arm64) || TILEKERNELS_FMA || TILEKERNELS_AVX512
      return c.addingProduct(a, b)
    #else
      let product: Lane = a * b
      return product + c
    #endif
  }

  /// `a * b + c` on one float, rounded exactly like one lane of the `Lane` overload.
  @inlinable @inline(__always)
  internal static func multiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float {
    #if arch(arm64) || TILEKERNELS_FMA || TILEKERNELS_AVX512
      return c.addingProduct(a, b)
    #else
      return a * b + c
    #endif
  }

  /// Lane-wise maximum that ignores NaN in `b`: `b > a ? b : a` (one `maxps`).
  @inlinable @inline(__always)
  internal static func maximum(_ a: Lane, _ b: Lane) -> Lane {
    a.replacing(with: b, where: b .> a)
  }

  /// Lane-wise maximum that ignores NaN in `b`, on a `LanePair`.
  @inlinable @inline(__always)
  internal static func maximum(_ a: LanePair, _ b: LanePair) -> LanePair {
    a.replacing(with: b, where: b .> a)
  }

  /// The sum of the eight lanes, as a lowHalf/highHalf tree: ((0+4)+(2+6)) + ((1+5)+(3+7)).
  @inlinable @inline(__always)
  internal static func sum(_ v: Lane) -> Float {
    let four: SIMD4<Float> = v.lowHalf + v.highHalf
    let two: SIMD2<Float> = four.lowHalf + four.highHalf
    return two[0] + two[1]
  }

  /// The maximum of the eight lanes, as a lowHalf/highHalf tree of `b > a ? b : a` steps.
  ///
  /// A NaN lane is dropped unless it is in the position that every comparison keeps; callers
  /// never pass NaN here because `maximum(_:_:)` has already dropped it.
  @inlinable @inline(__always)
  internal static func max(_ v: Lane) -> Float {
    let low4 = v.lowHalf
    let high4 = v.highHalf
    let four = low4.replacing(with: high4, where: high4 .> low4)
    let low2 = four.lowHalf
    let high2 = four.highHalf
    let two = low2.replacing(with: high2, where: high2 .> low2)
    return two[1] > two[0] ? two[1] : two[0]
  }
}
