/// What one `attention-io bench` run measures.
///
/// ```swift
/// let report = try BenchmarkSuite.run(.quick)
/// print(report.table())
/// ```
public struct BenchmarkConfiguration: Sendable {
  /// A problem shape: N and d.
  public struct Shape: Sendable, Hashable, CustomStringConvertible {
    public var sequenceLength: Int
    public var headDimension: Int

    public init(sequenceLength: Int, headDimension: Int) {
      self.sequenceLength = sequenceLength
      self.headDimension = headDimension
    }

    public var description: String { "N=\(sequenceLength), d=\(headDimension)" }
  }

  /// N of the table (every combination with `headDimensions`).
  public var sequenceLengths: [Int]
  /// d of the table.
  public var headDimensions: [Int]
  /// Thread counts of the table, each measured alternately with the others in every repetition.
  public var threadCounts: [Int]
  public var algorithms: [BenchmarkAlgorithm]
  public var passes: [BenchmarkPass]
  /// Timed repetitions per case (the median is reported), after one untimed warm-up.
  public var repetitions: Int
  /// Independent heads per timed run, each on its own machine, spread over the threads: the
  /// same work at every thread count. Algorithm 1 parallelises over heads (its outer loop over
  /// K/V blocks would load K_j, V_j once per worker if query blocks were split).
  public var heads: Int
  /// Where the accounting overhead (machine against bare schedule) is measured.
  public var overheadShape: Shape
  /// Full rounds of the FMA-chain peak (every variant), spread over the run; a short sample of
  /// the best variant is also taken before every timed run.
  public var peakTrials: Int
  /// Standard against flash forward where the N×N matrix outgrows the last-level cache, and
  /// where it fits; nil to skip.
  public var cacheEffect: CacheEffectSizes?
  /// N of the resident-memory check (flash forward, d = 64, one head); nil to skip.
  public var memoryCheckSequenceLength: Int?
  /// Count mode, GPT-2 medium forward + backward (B = 64, H = 16, N = 1024, d = 64).
  public var countMode: Bool
  /// Paged KV cache appends with block size 1 at two sizes (the growth of `appendToken`); nil
  /// to skip.
  public var kvCacheAppends: KVCacheAppendSizes?

  public init(
    sequenceLengths: [Int], headDimensions: [Int], threadCounts: [Int] = [1, 2],
    algorithms: [BenchmarkAlgorithm] = BenchmarkAlgorithm.allCases, passes: [BenchmarkPass] = BenchmarkPass.allCases,
    repetitions: Int = 5, heads: Int = 2, overheadShape: Shape? = nil, peakTrials: Int = 3,
    cacheEffect: CacheEffectSizes? = nil, memoryCheckSequenceLength: Int? = nil,
    countMode: Bool = true, kvCacheAppends: KVCacheAppendSizes? = KVCacheAppendSizes()
  ) {
    self.sequenceLengths = sequenceLengths
    self.headDimensions = headDimensions
    self.threadCounts = threadCounts
    self.algorithms = algorithms
    self.passes = passes
    self.repetitions = repetitions
    self.heads = heads
    self.overheadShape = overheadShape
      ?? Shape(
        sequenceLength: sequenceLengths.contains(2048) ? 2048 : sequenceLengths.first ?? 2048,
        headDimension: headDimensions.contains(64) ? 64 : headDimensions.first ?? 64)
    self.peakTrials = peakTrials
    self.cacheEffect = cacheEffect
    self.memoryCheckSequenceLength = memoryCheckSequenceLength
    self.countMode = countMode
    self.kvCacheAppends = kvCacheAppends
  }

  /// The full table: N ∈ {512, 1024, 2048, 4096}, d ∈ {64, 128}, 1 and 2 threads, the
  /// cache effect at N = 8192 against 2048, and the N = 65536 memory check (about a minute).
  public static let full = BenchmarkConfiguration(
    sequenceLengths: [512, 1024, 2048, 4096], headDimensions: [64, 128], repetitions: 5,
    cacheEffect: CacheEffectSizes(), memoryCheckSequenceLength: 65536)

  /// N = 2048, d = 64 only, three repetitions, and the cache effect (well under a minute).
  public static let quick = BenchmarkConfiguration(
    sequenceLengths: [2048], headDimensions: [64], repetitions: 3, peakTrials: 2, cacheEffect: CacheEffectSizes())

  /// Every (algorithm, pass, N, d) of the table, flash first.
  public var cases: [(algorithm: BenchmarkAlgorithm, pass: BenchmarkPass, shape: Shape)] {
    var out: [(BenchmarkAlgorithm, BenchmarkPass, Shape)] = []
    for algorithm in algorithms {
      for n in sequenceLengths {
        for d in headDimensions {
          for pass in passes { out.append((algorithm, pass, Shape(sequenceLength: n, headDimension: d))) }
        }
      }
    }
    return out
  }
}

/// The two sequence lengths of the cache-effect comparison.
public struct CacheEffectSizes: Sendable, Hashable {
  /// N whose N×N fp32 matrix is larger than the last-level cache (8192: 256 MiB).
  public var large: Int
  /// N whose matrix fits it (2048: 16 MiB).
  public var small: Int
  public var headDimension: Int

  public init(large: Int = 8192, small: Int = 2048, headDimension: Int = 64) {
    self.large = large
    self.small = small
    self.headDimension = headDimension
  }
}

/// The two append counts of the KV cache growth check: amortised O(1) appends make the larger
/// count take about `large / small` times as long, a quadratic append its square.
public struct KVCacheAppendSizes: Sendable, Hashable {
  public var small: Int
  public var large: Int

  public init(small: Int = 20_000, large: Int = 80_000) {
    self.small = small
    self.large = large
  }
}
