import Dispatch
import Foundation

/// Every policy at a range of budgets on one decode run: the trade-off between what a policy
/// saves (bytes read per step, KV memory held) and what it loses (error, recall).
///
/// A budget is a fraction f of the pages of the final context, n = ⌈(P+T)/B⌉: K = max(1, round(f·n))
/// pages, or K·B tokens. At that budget Quest reads K pages (`quest:K`); StreamingLLM keeps
/// `sinks` sink tokens and a window that fills the rest (`streaming:S,K·B−B`, the sinks taking one
/// page); H2O splits the tokens evenly between heavy hitters and the recent window
/// (`h2o:⌊K·B/2⌋,⌈K·B/2⌉`, as in the H2O paper's default).
public struct PruningSweep: Sendable {
  /// The families swept, in order: quest, streaming, h2o.
  public static let families = ["quest", "streaming", "h2o"]
  public static let defaultFractions = [1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0 / 2]

  public var request: PrunedDecodeRequest
  public var fractions: [Double]
  public var families: [String]
  /// S of the streaming policy.
  public var sinks: Int

  public init(request: PrunedDecodeRequest, fractions: [Double] = PruningSweep.defaultFractions, families: [String] = PruningSweep.families, sinks: Int = 4) {
    self.request = request
    self.fractions = fractions
    self.families = families
    self.sinks = sinks
  }

  /// One run of the sweep.
  public struct Row: Sendable {
    public let spec: PruningPolicySpec
    /// The budget fraction (1 for full) and K, pages.
    public let fraction: Double
    public let budgetPages: Int
    public let result: PrunedDecodeResult
  }

  /// The policies of the sweep, `full` first.
  /// - Throws: `PagedKVError.invalidArgument` for a fraction outside (0, 1] or an unknown family.
  public func specs() throws -> [(spec: PruningPolicySpec, fraction: Double, pages: Int)] {
    let b = request.configuration.blockSize
    let n = request.configuration.blockCount(contextLength: request.maximumContext)
    var out: [(spec: PruningPolicySpec, fraction: Double, pages: Int)] = [(.full, 1, n)]
    for family in families {
      guard Self.families.contains(family) else {
        throw PagedKVError.invalidArgument("unknown policy family '\(family)' (families: \(Self.families.joined(separator: ", ")))")
      }
      for f in fractions {
        guard f > 0, f <= 1, f.isFinite else { throw PagedKVError.invalidArgument("budget fractions must lie in (0, 1], got \(f)") }
        let k = max(1, Int((f * Double(n)).rounded()))
        let tokens = k * b
        let spec: PruningPolicySpec
        switch family {
        case "quest": spec = .quest(pages: k)
        case "streaming": spec = .streaming(sinks: sinks, window: max(1, tokens - b))
        default: spec = .heavyHitters(budget: tokens / 2, window: max(1, tokens - tokens / 2))
        }
        out.append((spec, f, k))
      }
    }
    return out
  }

  /// Runs every policy on `inputs` (full attention computed once), two at a time.
  /// `progress` is called after each run with (runs done, runs, the run's result), one call at a
  /// time (under a lock), from a worker thread.
  public func run(inputs: DecodeInputs, progress: ((Int, Int, PrunedDecodeResult) -> Void)? = nil) throws -> [Row] {
    let specs = try specs()
    let reference = try FullDecodeReference(inputs: inputs, request: request)
    let results = ResultBox(count: specs.count, progress: progress)
    let request = self.request
    DispatchQueue.concurrentPerform(iterations: 2) { worker in
      var index = worker
      while index < specs.count {
        let outcome = Result { try PrunedDecodeRun.run(specs[index].spec, request: request, inputs: inputs, reference: reference) }
        results.set(index, outcome)
        index += 2
      }
    }
    return try specs.indices.map { i in
      Row(spec: specs[i].spec, fraction: specs[i].fraction, budgetPages: specs[i].pages, result: try results.get(i))
    }
  }

  /// Results filled in by the workers; the lock also serialises the progress calls.
  final class ResultBox: @unchecked Sendable {
    private var results: [Result<PrunedDecodeResult, Error>?]
    private var done = 0
    private let lock = NSLock()
    private let progress: ((Int, Int, PrunedDecodeResult) -> Void)?
    init(count: Int, progress: ((Int, Int, PrunedDecodeResult) -> Void)?) {
      results = Array(repeating: nil, count: count)
      self.progress = progress
    }
    func set(_ index: Int, _ result: Result<PrunedDecodeResult, Error>) {
      lock.lock()
      defer { lock.unlock() }
      results[index] = result
      done += 1
      if case let .success(run) = result { progress?(done, results.count, run) }
    }
    func get(_ index: Int) throws -> PrunedDecodeResult {
      lock.lock()
      defer { lock.unlock() }
      guard let result = results[index] else { throw PagedKVError.invariantViolated("run \(index) of the sweep did not finish") }
      return try result.get()
    }
  }
}
