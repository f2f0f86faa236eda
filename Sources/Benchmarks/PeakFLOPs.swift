import Dispatch

/// The FLOP rate this build can reach on this CPU: twelve independent multiply–add chains, the
/// denominator of every `fractionOfPeak`.
///
/// Twelve chains of a 4-cycle FMA keep two FMA ports busy (8 would do; 12 leaves slack for a
/// 5-cycle latency). Four variants run and the best counts:
///
/// | variant | what it measures |
/// |---|---|
/// | `SIMD16` fused | `addingProduct` on 16 lanes: one zmm `vfmadd` with AVX-512 and an FMA target |
/// | `SIMD8` fused | the same on 8 lanes (one ymm `vfmadd`) |
/// | `SIMD16` / `SIMD8` unfused | `a * b + c` (a multiply and an add, 2 FLOPs per pair) |
///
/// Without an FMA target (`-target-cpu`), `addingProduct` compiles to `fmaf` calls and the
/// unfused variants win, so the peak is always what *this build* can issue. With
/// `-target-cpu native` the fused variants are real FMAs even when the kernels are built
/// without `-DTILEKERNELS_FMA`; the fraction of peak then shows what fusing leaves on the
/// table.
public enum PeakFLOPs {
  /// One variant's rate.
  public struct Measurement: Sendable, Hashable {
    public var variant: String
    public var gflops: Double
  }

  /// Multiply–adds per chain per call of a kernel below (each is 2 FLOPs per lane).
  static let iterations = 4_000_000

  /// The variants: name, FLOPs per loop iteration (12 chains × lanes × 2), kernel.
  static let variants: [(name: String, flopsPerIteration: Int, kernel: @Sendable (Int) -> Float)] = [
    ("SIMD16 fused", 16 * 12 * 2, { chains16(iterations: $0, fused: true) }),
    ("SIMD8 fused", 8 * 12 * 2, { chains8(iterations: $0, fused: true) }),
    ("SIMD16 unfused", 16 * 12 * 2, { chains16(iterations: $0, fused: false) }),
    ("SIMD8 unfused", 8 * 12 * 2, { chains8(iterations: $0, fused: false) }),
  ]

  /// Measures every variant `trials` times on `threads` threads at once and returns each
  /// variant's best rate (GFLOP/s summed over the threads), best first.
  ///
  /// Rates use the process CPU clock divided by the thread count, so time the cores spent on
  /// other processes does not lower the peak (it would raise every fraction of peak).
  public static func measure(threads: Int = 1, trials: Int = 3) -> [Measurement] {
    var best = [Double](repeating: 0, count: variants.count)
    for _ in 0..<max(1, trials) {
      for (index, variant) in variants.enumerated() {
        // Unfused variants without an FMA target run fast; fused ones may be `fmaf` calls and
        // slow, so a short probe sizes the real run to about 20 ms.
        let probe = 20_000
        let probeSeconds = Stopwatch.seconds { run(variant.kernel, iterations: probe, threads: threads) }
        let scale = max(1, min(iterations / probe, Int(0.02 / max(probeSeconds, 1e-9))))
        best[index] = max(best[index], rate(index, iterations: probe * scale, threads: threads))
      }
    }
    return zip(variants, best).map { Measurement(variant: $0.0.name, gflops: $0.1) }.sorted { $0.gflops > $1.gflops }
  }

  /// One short sample of `variant` (about `seconds` long, sized by a short probe), in GFLOP/s
  /// on the CPU clock: the peak measured right next to each timed run, so that both see the
  /// same clock frequency and neighbours.
  public static func sample(_ variant: String, threads: Int, seconds: Double = 0.01) -> Double {
    guard let index = variants.firstIndex(where: { $0.name == variant }) else { return 0 }
    let probe = 2_000
    let probeSeconds = Stopwatch.seconds { run(variants[index].kernel, iterations: probe, threads: 1) }
    let count = max(probe, min(iterations, Int(Double(probe) * seconds / max(probeSeconds, 1e-9))))
    return rate(index, iterations: count, threads: threads)
  }

  /// GFLOP/s of variant `index` run for `count` iterations on `threads` threads.
  static func rate(_ index: Int, iterations count: Int, threads: Int) -> Double {
    let sample = Stopwatch.sample { run(variants[index].kernel, iterations: count, threads: threads) }
    let seconds = max(sample.cpuSeconds / Double(threads), 1e-9)
    return Double(variants[index].flopsPerIteration) * Double(count) * Double(threads) / seconds / 1e9
  }

  static func run(_ kernel: @Sendable (Int) -> Float, iterations: Int, threads: Int) {
    if threads == 1 {
      Stopwatch.blackHole(kernel(iterations))
      return
    }
    DispatchQueue.concurrentPerform(iterations: threads) { _ in Stopwatch.blackHole(kernel(iterations)) }
  }

  /// Twelve chains c ← c·a + b on `SIMD16<Float>`; returns a lane of their sum so nothing is
  /// dead code.
  @inline(never)
  static func chains16(iterations: Int, fused: Bool) -> Float {
    typealias V = SIMD16<Float>
    // c ← c·a + b converges to b / (1 − a): no overflow, no subnormals.
    let a = V(repeating: Stopwatch.opaque(0.999))
    let b = V(repeating: 1e-3)
    var c0 = V(repeating: 0), c1 = V(repeating: 1), c2 = V(repeating: 2), c3 = V(repeating: 3)
    var c4 = V(repeating: 4), c5 = V(repeating: 5), c6 = V(repeating: 6), c7 = V(repeating: 7)
    var c8 = V(repeating: 8), c9 = V(repeating: 9), c10 = V(repeating: 10), c11 = V(repeating: 11)
    if fused {
      for _ in 0..<iterations {
        c0 = b.addingProduct(c0, a); c1 = b.addingProduct(c1, a); c2 = b.addingProduct(c2, a)
        c3 = b.addingProduct(c3, a); c4 = b.addingProduct(c4, a); c5 = b.addingProduct(c5, a)
        c6 = b.addingProduct(c6, a); c7 = b.addingProduct(c7, a); c8 = b.addingProduct(c8, a)
        c9 = b.addingProduct(c9, a); c10 = b.addingProduct(c10, a); c11 = b.addingProduct(c11, a)
      }
    } else {
      for _ in 0..<iterations {
        c0 = c0 * a + b; c1 = c1 * a + b; c2 = c2 * a + b; c3 = c3 * a + b
        c4 = c4 * a + b; c5 = c5 * a + b; c6 = c6 * a + b; c7 = c7 * a + b
        c8 = c8 * a + b; c9 = c9 * a + b; c10 = c10 * a + b; c11 = c11 * a + b
      }
    }
    let s: V = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
    return s[0]
  }

  /// `chains16` on `SIMD8<Float>` (a copy, not a generic function: debug builds do not specialise
  /// generic SIMD code, and a generic version made the debug tests' peak probes several times slower).
  @inline(never)
  static func chains8(iterations: Int, fused: Bool) -> Float {
    typealias V = SIMD8<Float>
    // c ← c·a + b converges to b / (1 − a): no overflow, no subnormals.
    let a = V(repeating: Stopwatch.opaque(0.999))
    let b = V(repeating: 1e-3)
    var c0 = V(repeating: 0), c1 = V(repeating: 1), c2 = V(repeating: 2), c3 = V(repeating: 3)
    var c4 = V(repeating: 4), c5 = V(repeating: 5), c6 = V(repeating: 6), c7 = V(repeating: 7)
    var c8 = V(repeating: 8), c9 = V(repeating: 9), c10 = V(repeating: 10), c11 = V(repeating: 11)
    if fused {
      for _ in 0..<iterations {
        c0 = b.addingProduct(c0, a); c1 = b.addingProduct(c1, a); c2 = b.addingProduct(c2, a)
        c3 = b.addingProduct(c3, a); c4 = b.addingProduct(c4, a); c5 = b.addingProduct(c5, a)
        c6 = b.addingProduct(c6, a); c7 = b.addingProduct(c7, a); c8 = b.addingProduct(c8, a)
        c9 = b.addingProduct(c9, a); c10 = b.addingProduct(c10, a); c11 = b.addingProduct(c11, a)
      }
    } else {
      for _ in 0..<iterations {
        c0 = c0 * a + b; c1 = c1 * a + b; c2 = c2 * a + b; c3 = c3 * a + b
        c4 = c4 * a + b; c5 = c5 * a + b; c6 = c6 * a + b; c7 = c7 * a + b
        c8 = c8 * a + b; c9 = c9 * a + b; c10 = c10 * a + b; c11 = c11 * a + b
      }
    }
    let s: V = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
    return s[0]
  }
}
