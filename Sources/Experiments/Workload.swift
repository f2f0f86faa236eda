import AttentionAlgorithms
import Foundation
/// A synthetic request workload modelled on the vLLM paper's datasets (§6.1, Fig. 11): prompt and
/// output lengths whose means match the paper's, and Poisson arrivals (the datasets have no
/// timestamps, so the paper uses Poisson arrivals too). Raw values are the CLI's `--workload` names.
public enum Workload: String, CaseIterable, Sendable, Hashable {
  /// ShareGPT (user-shared ChatGPT conversations): mean prompt 161.31, mean output 337.99 tokens.
  case sharegpt
  /// Alpaca (GPT-3.5 self-instruct): mean prompt 19.31, mean output 58.45 tokens.
  case alpaca

  /// The longest sequence the model serves: OPT's 2048 tokens, the reservation of Orca (Max).
  public static let maximumSequenceLength = 2048

  /// Prompt lengths. Prompts and outputs are each capped at 1024 tokens (as in the paper's chatbot
  /// experiment, §6.5) so every request fits the 2048-token context.
  public var promptLengths: LengthDistribution {
    switch self {
    case .sharegpt: return LengthDistribution(mean: 161.31, sigma: 1.0, maximum: 1024)
    case .alpaca: return LengthDistribution(mean: 19.31, sigma: 0.6, maximum: 1024)
    }
  }

  /// Output lengths (see `promptLengths`).
  public var outputLengths: LengthDistribution {
    switch self {
    case .sharegpt: return LengthDistribution(mean: 337.99, sigma: 0.9, maximum: 1024)
    case .alpaca: return LengthDistribution(mean: 58.45, sigma: 0.8, maximum: 1024)
    }
  }

  /// Default arrival rate in requests per second: high enough that requests queue for memory under
  /// every allocator (the memory-bound regime in which the paper's Fig. 2 compares waste).
  public var defaultRate: Double {
    switch self {
    case .sharegpt: return 4
    case .alpaca: return 150
    }
  }

  /// `count` requests with Poisson arrivals at `rate` per second (exponential gaps), seeded.
  public func requests(count: Int, rate: Double, seed: UInt64) -> [ServingRequest] {
    var rng = SeededRandom(seed: seed ^ (self == .sharegpt ? 0x5A4E_6E47_5054 : 0xA1FA_CA00))
    let prompts = promptLengths
    let outputs = outputLengths
    var clock = 0.0
    var requests: [ServingRequest] = []
    requests.reserveCapacity(count)
    for id in 0..<count {
      let u = Double(rng.next() >> 11) * 0x1.0p-53
      clock += -Foundation.log(1 - u) / rate
      requests.append(ServingRequest(
        id: id, arrivalSeconds: clock, promptLength: prompts.sample(using: &rng), outputLength: outputs.sample(using: &rng)))
    }
    return requests
  }
}

/// One request of a serving workload.
public struct ServingRequest: Hashable, Sendable {
  public let id: Int
  public let arrivalSeconds: Double
  /// p, prompt tokens.
  public let promptLength: Int
  /// o, output tokens (the request's true length, known to Orca (Oracle) only).
  public let outputLength: Int

  public init(id: Int, arrivalSeconds: Double, promptLength: Int, outputLength: Int) {
    self.id = id
    self.arrivalSeconds = arrivalSeconds
    self.promptLength = promptLength
    self.outputLength = outputLength
  }

  /// p + o, the tokens the request holds when it finishes.
  public var finalLength: Int { promptLength + outputLength }
}
