import PagedKV

/// The `paged waste` experiment: one seeded request stream through every allocator policy, under
/// the KV capacity of OPT-13B on an A100-40GB (vLLM Table 1, Fig. 2, §7.2).
public struct MemoryWasteExperiment: Sendable {
  public var workload: Workload
  public var requestCount: Int
  /// Poisson arrival rate in requests per second.
  public var rate: Double
  public var seed: UInt64
  public var policies: [KVAllocatorPolicy]
  public var costModel: ServingCostModel

  /// - Throws: `PagedKVError.invalidConfiguration` for a non-positive count, rate or block size.
  public init(
    workload: Workload, requestCount: Int = 1000, rate: Double? = nil, seed: UInt64 = 0,
    policies: [KVAllocatorPolicy] = KVAllocatorPolicy.all, costModel: ServingCostModel = .opt13BOnA100
  ) throws {
    let resolvedRate = rate ?? workload.defaultRate
    if let problem = MemoryWasteExperiment.problem(requestCount: requestCount, rate: resolvedRate, policies: policies, capacity: costModel.tokenCapacity) {
      throw PagedKVError.invalidConfiguration(problem)
    }
    self.workload = workload
    self.requestCount = requestCount
    self.rate = resolvedRate
    self.seed = seed
    self.policies = policies
    self.costModel = costModel
  }

  /// The longest stream accepted (the stream is generated in memory).
  public static let maximumRequests = 1_000_000

  /// What is wrong with these parameters, if anything.
  static func problem(requestCount: Int, rate: Double, policies: [KVAllocatorPolicy], capacity: Int) -> String? {
    if requestCount <= 0 || requestCount > maximumRequests {
      return "requests must be in 1…\(maximumRequests), got \(requestCount)"
    }
    if !(rate > 0 && rate.isFinite) { return "rate must be a positive number, got \(rate)" }
    for policy in policies {
      if let b = policy.blockSize, b <= 0 || b > capacity { return "block size must be in 1…\(capacity), got \(b)" }
    }
    return nil
  }

  /// The result of every policy, in order, and the stream's statistics.
  public struct Report: Sendable {
    public let experiment: MemoryWasteExperiment
    public let results: [MemoryWasteResult]
    /// Sample means of the generated stream's prompt and output lengths.
    public let meanPromptLength: Double
    public let meanOutputLength: Double
  }

  /// Runs every policy on the same stream.
  public func run() throws -> Report {
    let requests = workload.requests(count: requestCount, rate: rate, seed: seed)
    let results = try policies.map { try MemoryWasteSimulation.run(requests: requests, policy: $0, costModel: costModel) }
    let n = Double(requests.count)
    return Report(
      experiment: self, results: results,
      meanPromptLength: Double(requests.reduce(0) { $0 + $1.promptLength }) / n,
      meanOutputLength: Double(requests.reduce(0) { $0 + $1.outputLength }) / n)
  }
}
