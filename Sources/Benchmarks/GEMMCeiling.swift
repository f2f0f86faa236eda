import AttentionIO
import Dispatch

/// The rate of the tile GEMM itself on the best case it can see: `TileGEMM.multiply` on
/// 64×64×64 tiles that sit in L1, 64-byte aligned. Measured next to every timed run, it tells
/// how much of a run's distance from the FMA peak is the attention around the GEMM and how much
/// is the moment (on a shared VM the GEMM's loads slow down when a neighbour shares the core,
/// while the register-only FMA chains do not).
public enum GEMMCeiling {
  /// GFLOP/s (CPU clock, summed over threads) of repeated 64×64×64 products on each of
  /// `threads` threads at once, for about `seconds`.
  public static func sample(threads: Int, seconds: Double = 0.005) -> Double {
    let size = 64
    let flopsPerProduct = 2.0 * Double(size * size * size)
    // A short probe sizes the loop (debug builds are a thousand times slower than release).
    let probe = Stopwatch.seconds { run(products: 2, size: size, threads: 1) }
    let products = max(2, min(2000, Int(seconds / max(probe / 2, 1e-9))))
    let sample = Stopwatch.sample { run(products: products, size: size, threads: threads) }
    let cpuSeconds = max(sample.cpuSeconds / Double(max(threads, 1)), 1e-9)
    return flopsPerProduct * Double(products) * Double(threads) / cpuSeconds / 1e9
  }

  /// `products` 64×64×64 products on aligned, L1-resident tiles, on each of `threads` threads.
  static func run(products: Int, size: Int, threads: Int) {
    let body: @Sendable (Int) -> Void = { _ in
      let a = AlignedBuffer(count: size * size)
      let b = AlignedBuffer(count: size * size)
      let c = AlignedBuffer(count: size * size)
      for i in 0..<(size * size) {
        a.base[i] = Float(i % 7) * 0.01
        b.base[i] = Float(i % 5) * 0.01
      }
      for _ in 0..<products {
        TileGEMM.multiply(
          a: a.base, lda: size, b: b.base, ldb: size, c: c.base, ldc: size, rows: size, columns: size, depth: size,
          alpha: 1, accumulate: false)
      }
      Stopwatch.blackHole(c.base[size + 1])
    }
    if threads == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: body) }
  }
}
