/// Everything one benchmark run measured. Renderers (`table()`, `json()`) format these numbers
/// and never recompute them.
public struct BenchmarkReport: Sendable {
  /// One row of the table: one (algorithm, pass, N, d, threads) case.
  public struct Result: Sendable, Hashable {
    public var algorithm: BenchmarkAlgorithm
    public var pass: BenchmarkPass
    public var sequenceLength: Int
    public var headDimension: Int
    public var threads: Int
    /// Heads per timed run (each on its own machine, spread over the threads).
    public var heads: Int
    public var blocks: BlockSizesValue
    /// Median wall-clock seconds of one timed run (all heads).
    public var medianSeconds: Double
    /// Median process CPU seconds of one timed run (all threads).
    public var medianCPUSeconds: Double
    /// Conventional FLOPs of one timed run (all heads): 4·N²·d per head forward, 2.5× backward.
    public var flops: Double
    /// Median of the FMA-chain peaks measured right before each timed run (GFLOP/s, at this
    /// thread count).
    public var peakGFLOPs: Double
    /// Median over the timed runs of (run's GFLOP/s) / (the peak measured right before it):
    /// pairs each run with the clock and neighbours of its own moment.
    public var fractionOfPeak: Double
    /// Median of the L1-resident tile-GEMM rates measured right before each timed run
    /// (`GEMMCeiling`), and the run's median fraction of it.
    public var gemmCeilingGFLOPs: Double
    public var fractionOfGEMMCeiling: Double

    /// GFLOP/s by the conventional count and the wall clock.
    public var gflops: Double { medianSeconds > 0 ? flops / medianSeconds / 1e9 : 0 }
    /// CPU seconds over wall seconds × threads: below 1 when other processes held the cores.
    public var cpuShare: Double { medianSeconds > 0 ? medianCPUSeconds / (medianSeconds * Double(threads)) : 0 }
  }

  /// Block sizes as plain numbers (for rendering).
  public struct BlockSizesValue: Sendable, Hashable {
    public var rows: Int
    public var columns: Int
  }

  /// Execute-mode machine against the bare schedule, for one pass.
  public struct Overhead: Sendable, Hashable {
    public var pass: BenchmarkPass
    public var machineSeconds: Double
    public var bareSeconds: Double
    /// max |machine − bare| over the pass's outputs (0 when the kernels ran identically).
    public var maxDifference: Double
    public var overhead: Double { bareSeconds > 0 ? machineSeconds / bareSeconds - 1 : 0 }
  }

  /// The accounting overhead at one shape: each pass, and both together (one training step).
  public struct Accounting: Sendable, Hashable {
    public var shape: BenchmarkConfiguration.Shape
    public var passes: [Overhead]
    /// (machine forward + backward) / (bare forward + backward) − 1.
    public var combined: Double {
      let machine = passes.reduce(0) { $0 + $1.machineSeconds }
      let bare = passes.reduce(0) { $0 + $1.bareSeconds }
      return bare > 0 ? machine / bare - 1 : 0
    }
  }

  /// Flash forward at one shape with 1 and 2 threads, alternated.
  public struct Scaling: Sendable, Hashable {
    public var shape: BenchmarkConfiguration.Shape
    public var heads: Int
    public var oneThreadSeconds: Double
    public var twoThreadSeconds: Double
    /// Whether every head's ledger was identical at 1 and 2 threads.
    public var countsIdentical: Bool
    public var speedup: Double { twoThreadSeconds > 0 ? oneThreadSeconds / twoThreadSeconds : 0 }
  }

  /// Count mode on GPT-2 medium forward + backward.
  public struct CountMode: Sendable, Hashable {
    public var description: String
    public var medianSeconds: Double
    /// Machine operations (allocations, loads, stores, computes, frees) simulated per run.
    public var steps: Int
    /// Heads the run's counts cover (count mode simulates one and multiplies).
    public var headsCovered: Int
    public var hbmBytes: Int
    public var stepsPerSecond: Double { medianSeconds > 0 ? Double(steps) / medianSeconds : 0 }
  }

  /// Standard against flash forward (one head, one thread) where S outgrows the cache and where
  /// it fits.
  public struct CacheEffect: Sendable, Hashable {
    public struct Point: Sendable, Hashable {
      public var sequenceLength: Int
      /// Bytes of one N×N fp32 matrix.
      public var matrixBytes: Int
      public var standardSeconds: Double
      public var flashSeconds: Double
      public var ratio: Double { flashSeconds > 0 ? standardSeconds / flashSeconds : 0 }
    }

    public var headDimension: Int
    public var lastLevelCacheBytes: Int
    public var large: Point
    public var small: Point
  }

  /// Appending tokens one at a time to one sequence of a paged KV cache with block size 1 (every
  /// append maps a new block), at two counts.
  public struct KVCacheAppends: Sendable, Hashable {
    public var smallCount: Int
    public var largeCount: Int
    /// Median seconds of all appends at each count.
    public var smallSeconds: Double
    public var largeSeconds: Double
    /// How many times as long the larger count takes (its count ratio when appends are O(1)).
    public var ratio: Double { smallSeconds > 0 ? largeSeconds / smallSeconds : 0 }
    /// The ratio the target allows: a little over the count ratio (quadratic growth gives its square).
    public var ratioLimit: Double { Double(largeCount) / Double(max(smallCount, 1)) * 1.25 }
  }

  /// The resident-memory check: flash forward of one long head.
  public struct MemoryCheck: Sendable, Hashable {
    public var shape: BenchmarkConfiguration.Shape
    public var seconds: Double
    /// Resident bytes just before the run (after resetting the peak).
    public var baselineBytes: Int
    /// The process's peak resident bytes during the run (VmHWM).
    public var peakBytes: Int
    /// Bytes of the head's Q, K, V, O in HBM.
    public var tensorBytes: Int
    public var limitBytes: Int
    /// Whether the peak could be reset before the run (else it includes earlier work).
    public var peakWasReset: Bool
    public var withinLimit: Bool { peakBytes > 0 && peakBytes <= limitBytes }
  }

  /// One target of the issue and whether this run met it.
  public struct Target: Sendable, Hashable {
    public var name: String
    public var value: Double
    public var threshold: Double
    /// Whether `value` must be at least (true) or at most (false) `threshold`.
    public var atLeast: Bool
    public var unit: String
    /// What usually causes a miss and what to do about it, printed when the target is not met.
    public var advice: String = ""
    public var met: Bool { atLeast ? value >= threshold : value <= threshold }
  }

  /// The advice shared by the speed targets: a miss is most often the build or the host.
  static let speedAdvice =
    "check the build first: a release build (-c release) with -Xswiftc -target-cpu -Xswiftc native and the "
    + "TILEKERNELS flag that suits the CPU (see the note above the table, if any); then the host: other processes "
    + "on a shared machine take cycles (see the load average), so rerun when it is idle, or compare medians over "
    + "a few runs; --quick sizes are small and may sit below the full run's numbers"

  public var configurationName: String
  public var host: HostInfo
  public var date: String
  /// Median single-thread FMA-chain rate over every peak sample of the run (GFLOP/s), and the
  /// variant measured (the best of the first round).
  public var peak: PeakFLOPs.Measurement
  /// Median FMA-chain rate with two threads at once (GFLOP/s, summed).
  public var peakTwoThreads: Double?
  /// Every variant's best single-thread rate in the full rounds.
  public var peakVariants: [PeakFLOPs.Measurement]
  /// How many single-thread peak samples the median is over.
  public var peakSamples: Int
  public var results: [Result]
  public var accounting: Accounting?
  public var scaling: Scaling?
  public var countMode: CountMode?
  public var cacheEffect: CacheEffect?
  public var memoryCheck: MemoryCheck?
  public var kvCacheAppends: KVCacheAppends? = nil
  /// The process's peak resident bytes at the end (VmHWM).
  public var peakResidentBytes: Int
  public var totalSeconds: Double

  /// The fraction of peak of a result (paired with the peak measured next to each of its runs).
  public func fractionOfPeak(_ result: Result) -> Double { result.fractionOfPeak }

  /// The first result matching these, if measured.
  public func result(_ algorithm: BenchmarkAlgorithm, _ pass: BenchmarkPass, sequenceLength: Int, headDimension: Int, threads: Int) -> Result? {
    results.first {
      $0.algorithm == algorithm && $0.pass == pass && $0.sequenceLength == sequenceLength && $0.headDimension == headDimension
        && $0.threads == threads
    }
  }

  /// The targets, evaluated on this run's numbers (those it measured).
  public var targets: [Target] {
    var out: [Target] = []
    let shape = accounting?.shape ?? scaling?.shape
    if let shape, let forward = result(.flash, .forward, sequenceLength: shape.sequenceLength, headDimension: shape.headDimension, threads: 1) {
      out.append(Target(
        name: "flash forward, \(shape), 1 thread: fraction of single-core peak", value: fractionOfPeak(forward), threshold: 0.70,
        atLeast: true, unit: "fraction", advice: Self.speedAdvice))
    }
    if let scaling {
      out.append(Target(
        name: "flash forward, \(scaling.shape): 2 threads over 1 thread (\(scaling.heads) heads)", value: scaling.speedup,
        threshold: 1.7, atLeast: true, unit: "×",
        advice: "the second thread needs a second idle core: another process on a shared host (see the load average), "
          + "or two hardware threads of one core, give less than 1.7×; rerun on an idle machine with two physical cores"))
    }
    if let shape, let backward = result(.flash, .backward, sequenceLength: shape.sequenceLength, headDimension: shape.headDimension, threads: 1) {
      out.append(Target(
        name: "flash backward, \(shape), 1 thread: fraction of single-core peak", value: fractionOfPeak(backward), threshold: 0.50,
        atLeast: true, unit: "fraction", advice: Self.speedAdvice))
    }
    if let accounting {
      out.append(Target(
        name: "accounting overhead, \(accounting.shape), forward + backward", value: accounting.combined, threshold: 0.10,
        atLeast: false, unit: "fraction",
        advice: "the overhead is the difference of two timings, so a busy host makes it noisy: rerun when the machine is idle; "
          + "a debug build inflates it (use -c release)"))
    }
    if let countMode {
      out.append(Target(name: "count mode, \(countMode.description)", value: countMode.medianSeconds, threshold: 1, atLeast: false, unit: "s",
        advice: "count mode is integer bookkeeping: over a second means a debug build (use -c release) or a heavily loaded host"))
    }
    if let kvCacheAppends {
      out.append(Target(
        name: "KV cache appends, block size 1: \(kvCacheAppends.largeCount) over \(kvCacheAppends.smallCount) appends",
        value: kvCacheAppends.ratio, threshold: kvCacheAppends.ratioLimit, atLeast: false, unit: "×",
        advice: "appends should be amortised O(1); a ratio near the square of the count ratio means each append copies the block table"))
    }
    if let memoryCheck {
      out.append(Target(
        name: "resident memory, flash forward \(memoryCheck.shape)", value: Double(memoryCheck.peakBytes),
        threshold: Double(memoryCheck.limitBytes), atLeast: false, unit: "bytes",
        advice: "the peak includes everything the process did before (see the note on the memory line); run "
          + "'attention-io bench' alone rather than after other work in one process"))
    }
    return out
  }
}
