import AttentionAlgorithms
import Foundation
import PagedKV

/// vLLM Fig. 15's memory experiment: how many KV blocks sharing saves when one request decodes
/// several sequences, with the sharing done by a real `KVCacheManager` (fork, copy-on-write, free).
///
/// Saving = 1 − (blocks with sharing)/(blocks without sharing), both summed over every iteration
/// of every request (a time average, iterations weighted equally). Without sharing, every
/// sequence holds ⌈(its tokens)/B⌉ blocks of its own.
///
/// - Parallel sampling, n outputs: the prompt is stored once and forked n − 1 times; each sample
///   draws its own output length from the workload and is freed when done; the shared last prompt
///   block is copied on its first write.
/// - Beam search, width k: a random language model (`BeamSearchModel`) scores candidates; each
///   step keeps the k best (beam, token) pairs, forks the surviving parents, frees the beams that
///   dropped out, and appends the new tokens (copy-on-write where a block is shared). All beams
///   run for the request's output length.
public struct SharingExperiment: Sendable {
  public enum Mode: String, Sendable, Hashable, CaseIterable {
    case parallelSampling = "parallel-sampling"
    case beamSearch = "beam-search"
  }

  public var workload: Workload
  public var requestCount: Int
  public var blockSize: Int
  public var seed: UInt64
  public var beamModel: BeamSearchModel

  /// The widths of vLLM Fig. 15: 2, 4 and 6.
  public static let widths = [2, 4, 6]

  public init(workload: Workload = .alpaca, requestCount: Int = 1000, blockSize: Int = KVCacheConfiguration.defaultBlockSize, seed: UInt64 = 0, beamModel: BeamSearchModel = BeamSearchModel()) throws {
    guard requestCount > 0, requestCount <= MemoryWasteExperiment.maximumRequests else {
      throw PagedKVError.invalidConfiguration("requests must be in 1…\(MemoryWasteExperiment.maximumRequests), got \(requestCount)")
    }
    guard blockSize > 0 else { throw PagedKVError.invalidConfiguration("block size must be positive, got \(blockSize)") }
    self.workload = workload
    self.requestCount = requestCount
    self.blockSize = blockSize
    self.seed = seed
    self.beamModel = beamModel
  }

  /// One (mode, width) measurement.
  public struct Result: Hashable, Sendable {
    public let workload: Workload
    public let mode: Mode
    /// n outputs, or beam width k.
    public let width: Int
    /// Σ over iterations of blocks held without sharing, and with it.
    public let blocksWithoutSharing: Int
    public let blocksWithSharing: Int
    /// Copy-on-write block copies done.
    public let copies: Int

    /// 1 − with/without: the share of blocks sharing saves.
    public var savedShare: Double { 1 - Double(blocksWithSharing) / Double(blocksWithoutSharing) }

    /// vLLM Fig. 15 (OPT-13B, Alpaca bar labels) for this point; nil for ShareGPT, where the paper
    /// gives only the ranges 16.2–30.5 % (parallel sampling) and 44.3–66.3 % (beam search).
    public var paperSavedShare: Double? {
      guard workload == .alpaca else { return nil }
      switch (mode, width) {
      case (.parallelSampling, 2): return 0.0609
      case (.parallelSampling, 4): return 0.0853
      case (.parallelSampling, 6): return 0.0979
      case (.beamSearch, 2): return 0.3756
      case (.beamSearch, 4): return 0.5313
      case (.beamSearch, 6): return 0.5516
      default: return nil
      }
    }
  }

  /// Parallel sampling and beam search at widths 2, 4, 6. `progress` is called after each
  /// request with the requests done and the total over every mode and width.
  public func run(widths: [Int] = SharingExperiment.widths, progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> [Result] {
    var results: [Result] = []
    let total = Mode.allCases.count * widths.count * requestCount
    var finished = 0
    for mode in Mode.allCases {
      for width in widths {
        let before = finished
        results.append(try run(mode, width: width) { progress?(before + $0, total) })
        finished += requestCount
      }
    }
    return results
  }

  /// One mode at one width over the whole request stream; `progress` gets the requests done.
  public func run(_ mode: Mode, width: Int, progress: ((Int) -> Void)? = nil) throws -> Result {
    guard width > 0 else { throw PagedKVError.invalidConfiguration("width must be positive, got \(width)") }
    let requests = workload.requests(count: requestCount, rate: 1, seed: seed)
    var rng = SeededRandom(seed: seed ^ 0x5AA2_1E5E ^ UInt64(width) << 32 ^ (mode == .beamSearch ? 1 : 0))
    var without = 0
    var with = 0
    var copies = 0
    for (index, request) in requests.enumerated() {
      progress?(index)
      let tally: (Int, Int, Int)
      switch mode {
      case .parallelSampling:
        let lengths = (0..<width).map { _ in workload.outputLengths.sample(using: &rng) }
        tally = try parallelSampling(prompt: request.promptLength, outputs: lengths)
      case .beamSearch:
        tally = try beamSearch(prompt: request.promptLength, output: request.outputLength, width: width, rng: &rng)
      }
      without += tally.0
      with += tally.1
      copies += tally.2
    }
    return Result(workload: workload, mode: mode, width: width, blocksWithoutSharing: without, blocksWithSharing: with, copies: copies)
  }

  func blocks(_ tokens: Int) -> Int { BlockTable.blocksNeeded(tokens: tokens, blockSize: blockSize) }

  /// Returns (Σ blocks without sharing, Σ blocks with sharing, copies) over the request's iterations.
  func parallelSampling(prompt: Int, outputs: [Int]) throws -> (Int, Int, Int) {
    let n = outputs.count
    var cache = try KVCacheManager(blockSize: blockSize, blockCount: n * (blocks(prompt + (outputs.max() ?? 0)) + 1))
    let first = try cache.allocateSequence(tokenCount: prompt)
    var samples = [first]
    for _ in 1..<n { samples.append(try cache.fork(first)) }
    var live = Array(0..<n)
    // The prefill iteration: the prompt, once with sharing, n times without.
    var without = n * blocks(prompt)
    var with = cache.usedBlockCount
    var step = 0
    while !live.isEmpty {
      step += 1
      for i in live { try cache.appendToken(to: samples[i]) }
      without += live.count * blocks(prompt + step)
      with += cache.usedBlockCount
      for i in live where outputs[i] == step { try cache.free(samples[i]) }
      live.removeAll { outputs[$0] == step }
    }
    try cache.checkInvariants()
    return (without, with, cache.copyCount)
  }

  /// Returns (Σ blocks without sharing, Σ blocks with sharing, copies) over the request's iterations.
  func beamSearch(prompt: Int, output: Int, width k: Int, rng: inout SeededRandom) throws -> (Int, Int, Int) {
    var cache = try KVCacheManager(blockSize: blockSize, blockCount: 2 * k * (blocks(prompt + output) + 1))
    var beams = [try cache.allocateSequence(tokenCount: prompt)]
    var scores = [0.0]
    var without = blocks(prompt)
    var with = cache.usedBlockCount
    for step in 1...max(output, 1) {
      let chosen = beamModel.selectNext(scores: scores, width: k, rng: &rng)
      var next: [SequenceID] = []
      for candidate in chosen { next.append(try cache.fork(beams[candidate.parent])) }
      for beam in beams { try cache.free(beam) }
      for beam in next { try cache.appendToken(to: beam) }
      beams = next
      scores = chosen.map(\.score)
      without += beams.count * blocks(prompt + step)
      with += cache.usedBlockCount
    }
    for beam in beams { try cache.free(beam) }
    try cache.checkInvariants()
    return (without, with, cache.copyCount)
  }
}
