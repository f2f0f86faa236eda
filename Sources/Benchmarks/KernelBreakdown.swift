import AttentionIO
import Foundation

/// Where one inner step of FlashAttention's forward (Algorithm 1, lines 9–15) spends its time:
/// each kernel of the step timed alone (the softmax, which works in place, as product + softmax
/// minus the product), in a loop over the step's real shapes and the N×d arrays' real blocks,
/// on 64-byte-aligned buffers, one thread.
///
/// | part | kernel | FLOPs counted |
/// |---|---|---|
/// | S = τ·Q_i·K_jᵀ | `TileGEMM.multiply` on the transposed K_j panel | 2·Br·Bc·d |
/// | m̃, P̃, ℓ̃ | `SoftmaxKernels.exponentiateAboveRowMax` | none (the 4N²d convention counts only matmuls) |
/// | m_new, ℓ_new, α, β | `OnlineSoftmax.update` | none |
/// | O_i ← α·O_i + β·P̃·V_j | `TileGEMM.multiply(…rowScales:outputScales:)` | 2·Br·Bc·d |
/// | the machine's copies | Q_i and O_i in, O_i out (3·Br·d floats), as `Machine.load`/`store` do | none |
///
/// `attention-io bench --kernels` prints it; the sum of the parts against the bare schedule's
/// time per step shows what the kernels do not explain (loop overhead, cache misses between
/// kernels).
public struct KernelBreakdown: Sendable {
  /// One kernel's median time per inner step.
  public struct Part: Sendable, Hashable {
    public var name: String
    public var microseconds: Double
    /// Matmul FLOPs per step (0 for the non-GEMM parts).
    public var flops: Double
    public var gflops: Double { microseconds > 0 ? flops / microseconds / 1e3 : 0 }
  }

  public var sequenceLength: Int
  public var headDimension: Int
  public var blocks: BlockSizes
  public var parts: [Part]
  /// The bare schedule's (no machine) forward time per inner step, median.
  public var bareStepMicroseconds: Double
  /// The FMA-chain peak sampled around the measurement (median), GFLOP/s.
  public var peakGflops: Double

  /// Measures the parts at N, d with `blocks`, `repetitions` times each (median).
  public static func measure(
    sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, repetitions: Int = 7
  ) -> KernelBreakdown {
    let (br, bc) = (blocks.queryBlockSize, blocks.keyBlockSize)
    let tr = blocks.queryBlockCount(n)
    let c = min(n, bc)
    var random = SeededRandom(seed: 7)
    let q = AlignedBuffer((0..<(n * d)).map { _ in random.nextNormal() })
    let o = AlignedBuffer(count: n * d)
    let kT = AlignedBuffer((0..<(bc * d)).map { _ in random.nextNormal() })
    let v = AlignedBuffer((0..<(bc * d)).map { _ in random.nextNormal() })
    let s = AlignedBuffer(count: br * bc)
    let sram = AlignedBuffer(count: 2 * br * d)
    let stats = AlignedBuffer(count: 8 * br)
    let (m, l, mt, lt, alpha, beta) = (
      stats.base, stats.base + br, stats.base + 2 * br, stats.base + 3 * br, stats.base + 4 * br, stats.base + 5 * br
    )
    m.update(repeating: -.infinity, count: br)
    let scale = 1 / Float(d).squareRoot()
    // Rows of query block i (the last one may be ragged).
    func rows(_ i: Int) -> Int { min(br, n - i * br) }
    // Matmul FLOPs per step, averaged over the ragged last block.
    let matmulFLOPs = 2.0 * Double(n * c * d) / Double(tr)

    // Each timed loop walks the Q_i / O_i blocks of the whole N×d arrays, as the inner loop does.
    func time(_ body: (Int) -> Void) -> Double {
      body(0)
      var samples: [Double] = []
      for _ in 0..<repetitions {
        let seconds = Stopwatch.seconds { for i in 0..<tr { body(i) } }
        samples.append(seconds / Double(tr) * 1e6)
      }
      return Stopwatch.median(samples)
    }
    // The fastest variant on this build and CPU, and its rate as the first sample, as the main
    // benchmark does: SIMD16 chains are one zmm register each with AVX-512 but two ymm
    // registers on AVX2, where 24 chains spill and run slower.
    let fastest = PeakFLOPs.measure(threads: 1, trials: 1).first
    let variant = fastest?.variant ?? "SIMD16 fused"
    var peaks = [fastest?.gflops ?? 0]
    let scores = time { i in
      TileGEMM.multiply(
        a: q.base + i * br * d, lda: d, b: kT.base, ldb: bc, c: s.base, ldc: bc, rows: rows(i), columns: c, depth: d,
        alpha: scale, accumulate: false)
    }
    let softmax = time { i in
      // The kernel works in place, so every step needs fresh scores, and making them costs a
      // product: time product + softmax and subtract the product's time.
      TileGEMM.multiply(
        a: q.base + i * br * d, lda: d, b: kT.base, ldb: bc, c: s.base, ldc: bc, rows: rows(i), columns: c, depth: d,
        alpha: scale, accumulate: false)
      SoftmaxKernels.exponentiateAboveRowMax(s.base, ld: bc, rows: rows(i), columns: c, rowMax: mt, rowSum: lt)
    } - scores
    let update = time { i in
      OnlineSoftmax.update(rowMax: m, rowSum: l, blockMax: mt, blockSum: lt, outputFactor: alpha, blockFactor: beta, rows: rows(i))
    }
    peaks.append(PeakFLOPs.sample(variant, threads: 1))
    let output = time { i in
      TileGEMM.multiply(
        a: s.base, lda: bc, b: v.base, ldb: d, c: o.base + i * br * d, ldc: d, rows: rows(i), columns: d, depth: c,
        rowScales: beta, outputScales: alpha)
    }
    let copies = time { i in
      let count = rows(i) * d
      sram.base.update(from: q.base + i * br * d, count: count)
      (sram.base + br * d).update(from: o.base + i * br * d, count: count)
      (o.base + i * br * d).update(from: sram.base + br * d, count: count)
    }
    peaks.append(PeakFLOPs.sample(variant, threads: 1))
    let bare = BareFlashAttention(
      queries: q.array, keys: random.normals(n * d), values: random.normals(n * d),
      outputGradient: Array(repeating: 0, count: n * d), sequenceLength: n, headDimension: d, blocks: blocks, scale: scale)
    bare.forward()
    var bareSamples: [Double] = []
    for _ in 0..<max(3, repetitions / 2) { bareSamples.append(Stopwatch.seconds { bare.forward() }) }
    let steps = Double(tr * blocks.keyBlockCount(n))
    return KernelBreakdown(
      sequenceLength: n, headDimension: d, blocks: blocks,
      parts: [
        Part(name: "S = τ·Q_i·K_jᵀ", microseconds: scores, flops: matmulFLOPs),
        Part(name: "m̃, P̃ = exp(S − m̃), ℓ̃", microseconds: softmax, flops: 0),
        Part(name: "m_new, ℓ_new, α, β", microseconds: update, flops: 0),
        Part(name: "O_i ← α·O_i + β·P̃·V_j", microseconds: output, flops: matmulFLOPs),
        Part(name: "machine copies (Q_i, O_i in, O_i out)", microseconds: copies, flops: 0),
      ],
      bareStepMicroseconds: Stopwatch.median(bareSamples) / steps * 1e6,
      peakGflops: Stopwatch.median(peaks))
  }

  /// The breakdown as JSON: `seqLen`, `headDim`, `blockRows`, `blockCols`, `peakGflops`,
  /// `bareStepMicroseconds` and `parts` (objects with `name`, `microseconds`, `flops`, `gflops`).
  public func json() -> JSONValue {
    .object([
      ("seqLen", .int(sequenceLength)), ("headDim", .int(headDimension)),
      ("blockRows", .int(blocks.queryBlockSize)), ("blockCols", .int(blocks.keyBlockSize)),
      ("peakGflops", .double(peakGflops)), ("bareStepMicroseconds", .double(bareStepMicroseconds)),
      ("parts", .array(parts.map {
        .object([
          ("name", .string($0.name)), ("microseconds", .double($0.microseconds)), ("flops", .double($0.flops)),
          ("gflops", .double($0.gflops)),
        ])
      })),
    ])
  }

  /// A plain-text table: µs per step, share of the step, GFLOP/s and fraction of peak.
  public func table() -> String {
    typealias F = NumberFormatting
    let total = parts.reduce(0) { $0 + $1.microseconds }
    let matmul = parts.reduce(0) { $0 + $1.flops }
    // Name, time, share of the summed step, then the matmul rate and its fraction of peak.
    func row(_ part: Part, share: Double?) -> [String] {
      let rates = part.flops > 0 ? [F.fixed(part.gflops, 1) + " GFLOP/s", F.fixed(100 * part.gflops / peakGflops, 1) + "% of peak"] : []
      return [part.name, F.fixed(part.microseconds, 2) + " µs", share.map { F.fixed(100 * $0, 1) + "%" } ?? ""] + rates
    }
    let rows = parts.map { row($0, share: $0.microseconds / total) } + [
      row(Part(name: "sum of the parts", microseconds: total, flops: matmul), share: nil),
      row(Part(name: "bare schedule, per step", microseconds: bareStepMicroseconds, flops: matmul), share: nil),
    ]
    return "kernel breakdown of one forward inner step, N=\(sequenceLength), d=\(headDimension), "
      + "Br×Bc = \(blocks.queryBlockSize)×\(blocks.keyBlockSize) (one thread; peak \(F.fixed(peakGflops, 1)) GFLOP/s):\n"
      + F.table(rows)
  }
}
