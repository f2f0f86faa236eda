import AttentionIO
import Dispatch
import Foundation

/// Runs a `BenchmarkConfiguration` and returns its report.
///
/// Order of work, chosen for honest numbers on a shared host:
/// 1. the resident-memory check, first, while the process is still small;
/// 2. the FMA-chain peak, in full rounds between cases and at the end, and as a short sample
///    right before every timed run of the table, to which that run's fraction of peak is paired;
/// 3. the table: per case, one untimed warm-up, then `repetitions` rounds that alternate the
///    thread counts, so a slow minute hits every thread count alike;
/// 4. the accounting overhead, alternating machine and bare runs;
/// 5. count mode, the cache effect (standard and flash alternated), and the KV cache append growth.
public enum BenchmarkSuite {
  /// Runs every part of `configuration`; `progress` gets one line per step (for stderr).
  public static func run(_ configuration: BenchmarkConfiguration, name: String = "custom", progress: (String) -> Void = { _ in }) throws -> BenchmarkReport {
    let start = DispatchTime.now().uptimeNanoseconds
    let host = HostInfo.current()
    let memory = try configuration.memoryCheckSequenceLength.map { n -> BenchmarkReport.MemoryCheck in
      progress("memory check: flash forward N=\(n), d=64, one head")
      return try memoryCheck(sequenceLength: n)
    }

    // The peak: every variant in full rounds (start, between cases, end), and the best variant
    // once more right before every timed run of the table (paired with that run).
    progress("peak: 12 FMA chains")
    let measuresTwoThreads = configuration.threadCounts.contains(2)
    var variants: [PeakFLOPs.Measurement] = []
    let peaks = PeakSamples()
    func measurePeak() {
      let round = PeakFLOPs.measure(threads: 1, trials: 1)
      variants = merge(variants, round)
      if let best = round.first(where: { $0.variant == peaks.variant }) ?? round.first { peaks.add(best.gflops, threads: 1) }
      if measuresTwoThreads, let two = PeakFLOPs.measure(threads: 2, trials: 1).first(where: { $0.variant == peaks.variant }) {
        peaks.add(two.gflops, threads: 2)
      }
    }
    let first = PeakFLOPs.measure(threads: 1, trials: 1)
    peaks.variant = first.first?.variant ?? "SIMD16 fused"
    variants = first
    peaks.add(first.first?.gflops ?? 0, threads: 1)
    if measuresTwoThreads, let two = PeakFLOPs.measure(threads: 2, trials: 1).first(where: { $0.variant == peaks.variant }) {
      peaks.add(two.gflops, threads: 2)
    }

    var results: [BenchmarkReport.Result] = []
    var scaling: BenchmarkReport.Scaling?
    let cases = configuration.cases
    let extraPeakRounds = max(configuration.peakTrials - 2, 0)
    var peakRoundsDone = 0
    for (index, item) in cases.enumerated() {
      progress("\(item.algorithm.rawValue) \(item.pass.rawValue) \(item.shape)")
      let measured = try measureCase(item.algorithm, item.pass, item.shape, configuration: configuration, peaks: peaks)
      results += measured.results
      if item.algorithm == .flash, item.pass == .forward, item.shape == configuration.overheadShape,
        let one = measured.results.first(where: { $0.threads == 1 }), let two = measured.results.first(where: { $0.threads == 2 })
      {
        scaling = BenchmarkReport.Scaling(
          shape: item.shape, heads: configuration.heads, oneThreadSeconds: one.medianSeconds, twoThreadSeconds: two.medianSeconds,
          countsIdentical: measured.countsIdentical)
      }
      if extraPeakRounds > 0, (index + 1) % max(1, cases.count / extraPeakRounds) == 0, peakRoundsDone < extraPeakRounds {
        measurePeak()
        peakRoundsDone += 1
      }
    }

    progress("accounting overhead at \(configuration.overheadShape)")
    let accounting = try measureAccounting(configuration.overheadShape, repetitions: max(configuration.repetitions, 5))

    var countMode: BenchmarkReport.CountMode?
    if configuration.countMode {
      progress("count mode: GPT-2 medium forward + backward")
      countMode = try measureCountMode()
    }
    var cacheEffect: BenchmarkReport.CacheEffect?
    if let sizes = configuration.cacheEffect {
      progress("cache effect: standard vs flash forward at N=\(sizes.large) and N=\(sizes.small)")
      cacheEffect = try measureCacheEffect(sizes, lastLevelCacheBytes: host.lastLevelCacheBytes)
    }
    var appends: BenchmarkReport.KVCacheAppends?
    if let sizes = configuration.kvCacheAppends {
      progress("KV cache appends: \(sizes.small) and \(sizes.large) with block size 1")
      appends = try measureKVCacheAppends(sizes)
    }
    if configuration.peakTrials > 1 { measurePeak() }

    return BenchmarkReport(
      configurationName: name, host: host, date: ISO8601DateFormatter().string(from: Date()),
      peak: PeakFLOPs.Measurement(variant: peaks.variant, gflops: Stopwatch.median(peaks.one)),
      peakTwoThreads: peaks.two.isEmpty ? nil : Stopwatch.median(peaks.two), peakVariants: variants,
      peakSamples: peaks.one.count, results: results, accounting: accounting, scaling: scaling,
      countMode: countMode, cacheEffect: cacheEffect, memoryCheck: memory, kvCacheAppends: appends, peakResidentBytes: ResidentMemory.peakBytes(),
      totalSeconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
  }

  /// Each variant's best of two measurement sets, best first.
  static func merge(_ a: [PeakFLOPs.Measurement], _ b: [PeakFLOPs.Measurement]) -> [PeakFLOPs.Measurement] {
    var best: [String: Double] = [:]
    for m in a + b { best[m.variant] = max(best[m.variant] ?? 0, m.gflops) }
    return best.map { PeakFLOPs.Measurement(variant: $0.key, gflops: $0.value) }.sorted { $0.gflops > $1.gflops }
  }

  // MARK: The table

  /// One head's workload, boxed so that worker threads each mutate their own object.
  final class HeadSlot: @unchecked Sendable {
    var workload: HeadWorkload
    var ledger = IOLedger()
    var error: Error?
    init(_ workload: HeadWorkload) { self.workload = workload }
  }

  /// Runs `pass` on every slot with `threads` workers (heads w, w + threads, … on worker w).
  static func run(_ slots: [HeadSlot], _ pass: BenchmarkPass, threads: Int) throws -> Stopwatch.Sample {
    let sample = Stopwatch.sample {
      let workers = max(1, min(threads, slots.count))
      let body: @Sendable (Int) -> Void = { worker in
        var index = worker
        while index < slots.count {
          let slot = slots[index]
          do { slot.ledger = try slot.workload.run(pass) } catch { slot.error = error }
          index += workers
        }
      }
      if workers == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: body) }
    }
    if let error = slots.lazy.compactMap(\.error).first { throw error }
    return sample
  }

  /// The peak samples of a run: the variant measured, and its rates at 1 and 2 threads.
  final class PeakSamples: @unchecked Sendable {
    var variant = "SIMD16 fused"
    var one: [Double] = []
    var two: [Double] = []

    func add(_ gflops: Double, threads: Int) {
      if threads == 1 { one.append(gflops) } else { two.append(gflops) }
    }

    /// A fresh ~10 ms sample at `threads`, recorded and returned.
    func sample(threads: Int) -> Double {
      let gflops = PeakFLOPs.sample(variant, threads: threads)
      add(gflops, threads: threads)
      return gflops
    }
  }

  static func measureCase(
    _ algorithm: BenchmarkAlgorithm, _ pass: BenchmarkPass, _ shape: BenchmarkConfiguration.Shape,
    configuration: BenchmarkConfiguration, peaks: PeakSamples = PeakSamples()
  ) throws -> (results: [BenchmarkReport.Result], countsIdentical: Bool) {
    let slots = try (0..<configuration.heads).map { head in
      HeadSlot(try HeadWorkload(
        algorithm, sequenceLength: shape.sequenceLength, headDimension: shape.headDimension, head: head,
        withOutputGradient: pass == .backward))
    }
    if pass == .backward { for slot in slots { try slot.workload.runForward() } }
    let threadCounts = configuration.threadCounts
    var samples = [[Stopwatch.Sample]](repeating: [], count: threadCounts.count)
    var peakRates = [[Double]](repeating: [], count: threadCounts.count)
    var ceilings = [[Double]](repeating: [], count: threadCounts.count)
    var ledgers = [[IOLedger]](repeating: [], count: threadCounts.count)
    _ = try run(slots, pass, threads: threadCounts.max() ?? 1)  // warm-up
    for _ in 0..<max(configuration.repetitions, 1) {
      for (t, threads) in threadCounts.enumerated() {
        ceilings[t].append(GEMMCeiling.sample(threads: threads))
        peakRates[t].append(peaks.sample(threads: threads))
        samples[t].append(try run(slots, pass, threads: threads))
        ledgers[t] = slots.map(\.ledger)
      }
    }
    let workload = slots[0].workload
    let flops = workload.conventionalFLOPs(pass) * Double(slots.count)
    let results = threadCounts.enumerated().map { t, threads in
      func fractions(of rates: [Double]) -> [Double] {
        zip(samples[t], rates).map { sample, rate in sample.wallSeconds > 0 && rate > 0 ? flops / sample.wallSeconds / 1e9 / rate : 0 }
      }
      return BenchmarkReport.Result(
        algorithm: algorithm, pass: pass, sequenceLength: shape.sequenceLength, headDimension: shape.headDimension,
        threads: threads, heads: slots.count,
        blocks: .init(rows: workload.blocks.queryBlockSize, columns: workload.blocks.keyBlockSize),
        medianSeconds: Stopwatch.median(samples[t].map(\.wallSeconds)),
        medianCPUSeconds: Stopwatch.median(samples[t].map(\.cpuSeconds)), flops: flops,
        peakGFLOPs: Stopwatch.median(peakRates[t]), fractionOfPeak: Stopwatch.median(fractions(of: peakRates[t])),
        gemmCeilingGFLOPs: Stopwatch.median(ceilings[t]), fractionOfGEMMCeiling: Stopwatch.median(fractions(of: ceilings[t])))
    }
    let identical = ledgers.allSatisfy { $0 == ledgers[0] }
    return (results, identical)
  }

  // MARK: Accounting overhead

  /// Machine against bare schedule, one head, one thread, alternating, both passes.
  public static func measureAccounting(_ shape: BenchmarkConfiguration.Shape, repetitions: Int) throws -> BenchmarkReport.Accounting {
    var workload = try HeadWorkload(.flash, sequenceLength: shape.sequenceLength, headDimension: shape.headDimension)
    let inputs = workload.inputs
    let bare = BareFlashAttention(
      queries: inputs.q, keys: inputs.k, values: inputs.v, outputGradient: inputs.dO, sequenceLength: shape.sequenceLength,
      headDimension: shape.headDimension, blocks: workload.blocks, scale: workload.problem.softmaxScale)
    try workload.runForward()
    bare.forward()
    var times = [[Double]](repeating: [], count: 4)
    for _ in 0..<repetitions {
      times[0].append(try Stopwatch.seconds { try workload.runForward() })
      times[1].append(Stopwatch.seconds { bare.forward() })
      times[2].append(try Stopwatch.seconds { try workload.runBackward() })
      times[3].append(Stopwatch.seconds { bare.backward() })
    }
    let forwardDifference = maxDifference(workload.output, bare.output)
    let gradients = try workload.gradients()
    let bareGradients = bare.gradients
    let backwardDifference = max(
      maxDifference(gradients.dQ, bareGradients.dQ), maxDifference(gradients.dK, bareGradients.dK),
      maxDifference(gradients.dV, bareGradients.dV))
    return BenchmarkReport.Accounting(shape: shape, passes: [
      .init(pass: .forward, machineSeconds: Stopwatch.median(times[0]), bareSeconds: Stopwatch.median(times[1]), maxDifference: forwardDifference),
      .init(pass: .backward, machineSeconds: Stopwatch.median(times[2]), bareSeconds: Stopwatch.median(times[3]), maxDifference: backwardDifference),
    ])
  }

  static func maxDifference(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var worst = 0.0
    for i in a.indices { worst = max(worst, Double(abs(a[i] - b[i]))) }
    return worst
  }

  // MARK: Count mode

  /// GPT-2 medium (B = 64, H = 16, N = 1024, d = 64, the presets' fp16) forward + backward in
  /// count mode through `Simulator.run`, median of 5; steps counted once with an observer.
  public static func measureCountMode(
    batch: Int = 64, heads: Int = 16, sequenceLength: Int = 1024, headDimension: Int = 64
  ) throws -> BenchmarkReport.CountMode {
    let problem = try AttentionProblem(batch: batch, heads: heads, sequenceLength: sequenceLength, headDimension: headDimension)
    let request = SimulationRequest(algorithm: .flash, pass: .both, problem: problem, machine: .a100_40GB, mode: .count)
    var seconds: [Double] = []
    var bytes = 0
    for _ in 0..<5 {
      var result: SimulationResult?
      seconds.append(try Stopwatch.seconds { result = try Simulator.run(request) })
      bytes = result?.ledger.hbmBytes ?? 0
    }
    return BenchmarkReport.CountMode(
      description: "GPT-2 medium forward + backward (B=\(batch), H=\(heads), N=\(sequenceLength), d=\(headDimension))",
      medianSeconds: Stopwatch.median(seconds), steps: try countSteps(problem), headsCovered: problem.headCount, hbmBytes: bytes)
  }

  /// Counts the machine operations of one head's forward + backward in count mode (what
  /// `Simulator.run` simulates once per distinct head).
  static func countSteps(_ problem: AttentionProblem) throws -> Int {
    final class Counter: @unchecked Sendable { var count = 0 }
    let counter = Counter()
    let blocks = try BlockSelection.choose(.flash, pass: .backward, problem: problem, spec: .a100_40GB)
    var machine = Machine(spec: .a100_40GB, mode: .count)
    let (n, d, t) = (problem.sequenceLength, problem.headDimension, problem.dataType)
    let q = try machine.allocateTensor("Q", operand: .query, rows: n, columns: d, elementType: t)
    let k = try machine.allocateTensor("K", operand: .key, rows: n, columns: d, elementType: t)
    let v = try machine.allocateTensor("V", operand: .value, rows: n, columns: d, elementType: t)
    machine.observer = { _, _ in counter.count += 1 }
    let context = problem.headContext(0)
    let forward = try FlashAttentionForward.run(
      on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem, context: context)
    let dO = try machine.allocateTensor("dO", operand: .outputGradient, rows: n, columns: d, elementType: t)
    _ = try FlashAttentionBackward.run(
      on: &machine, queries: q, keys: k, values: v, forward: forward, outputGradient: dO, blocks: blocks, problem: problem,
      context: context)
    machine.observer = nil
    return counter.count
  }

  // MARK: Cache effect

  /// Standard and flash forward (one head, one thread, alternated) at the two sizes.
  public static func measureCacheEffect(_ sizes: CacheEffectSizes, lastLevelCacheBytes: Int) throws -> BenchmarkReport.CacheEffect {
    func point(_ n: Int, repetitions: Int) throws -> BenchmarkReport.CacheEffect.Point {
      var standard = try HeadWorkload(.standard, sequenceLength: n, headDimension: sizes.headDimension, withOutputGradient: false)
      var flash = try HeadWorkload(.flash, sequenceLength: n, headDimension: sizes.headDimension, withOutputGradient: false)
      var times: ([Double], [Double]) = ([], [])
      for _ in 0..<repetitions {
        times.0.append(try Stopwatch.seconds { try standard.runForward() })
        times.1.append(try Stopwatch.seconds { try flash.runForward() })
      }
      return .init(
        sequenceLength: n, matrixBytes: n * n * MemoryLayout<Float>.size, standardSeconds: Stopwatch.median(times.0),
        flashSeconds: Stopwatch.median(times.1))
    }
    let small = try point(sizes.small, repetitions: 5)
    let large = try point(sizes.large, repetitions: 2)
    return .init(headDimension: sizes.headDimension, lastLevelCacheBytes: lastLevelCacheBytes, large: large, small: small)
  }

  // MARK: KV cache appends

  /// Appends `count` tokens one by one to one sequence of a block-size-1 cache with exactly
  /// `count` blocks, at both sizes (alternated, median of 5).
  public static func measureKVCacheAppends(_ sizes: KVCacheAppendSizes) throws -> BenchmarkReport.KVCacheAppends {
    func once(_ count: Int) throws -> Double {
      var cache = try KVCacheManager(blockSize: 1, blockCount: max(count, 1))
      let sequence = try cache.allocateSequence(tokenCount: 0)
      let seconds = try Stopwatch.seconds {
        for _ in 0..<count { try cache.appendToken(to: sequence) }
      }
      Stopwatch.blackHole(cache.usedBlockCount)
      return seconds
    }
    var times: ([Double], [Double]) = ([], [])
    for _ in 0..<5 {
      times.0.append(try once(sizes.small))
      times.1.append(try once(sizes.large))
    }
    return .init(
      smallCount: sizes.small, largeCount: sizes.large, smallSeconds: Stopwatch.median(times.0),
      largeSeconds: Stopwatch.median(times.1))
  }

  // MARK: Memory

  /// Flash forward of one head of N×64 in execute mode, with the peak resident size reset first.
  public static func memoryCheck(sequenceLength n: Int, headDimension d: Int = 64, limitBytes: Int = 256 << 20) throws -> BenchmarkReport.MemoryCheck {
    let reset = ResidentMemory.resetPeak()
    let baseline = ResidentMemory.currentBytes()
    var seconds = 0.0
    do {
      var workload = try HeadWorkload(.flash, sequenceLength: n, headDimension: d, withOutputGradient: false)
      seconds = try Stopwatch.seconds { try workload.runForward() }
    }
    return .init(
      shape: .init(sequenceLength: n, headDimension: d), seconds: seconds, baselineBytes: baseline,
      peakBytes: ResidentMemory.peakBytes(), tensorBytes: 4 * n * d * MemoryLayout<Float>.size, limitBytes: limitBytes,
      peakWasReset: reset)
  }
}
