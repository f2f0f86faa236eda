import MemoryHierarchy

/// The model being served and a roofline time for one iteration of iteration-level batching, so
/// Poisson arrivals in seconds meet a batch that takes time to run.
///
/// One iteration reads every weight once, reads the KV cache of every running request, and runs
/// the prompts of the requests admitted in it:
/// t = weights/BW + (tokens in the cache)·(KV bytes per token)/BW + (prompt tokens)·2·params/FLOP rate.
/// Only memory *shares* are compared with the paper; this time model weights the averages and sets
/// the load, nothing else.
public struct ServingCostModel: Hashable, Sendable {
  public var modelName: String
  /// Parameters of the model.
  public var parameters: Double
  /// Bytes of the weights in HBM.
  public var weightBytes: Double
  /// KV bytes per token over all layers: 2·ℓ·h_kv·d·b.
  public var keyValueBytesPerToken: Int
  /// HBM set aside for the KV cache.
  public var keyValueCapacityBytes: Int
  public var machine: MachineSpec

  public init(modelName: String, parameters: Double, weightBytes: Double, keyValueBytesPerToken: Int, keyValueCapacityBytes: Int, machine: MachineSpec) {
    self.modelName = modelName
    self.parameters = parameters
    self.weightBytes = weightBytes
    self.keyValueBytesPerToken = keyValueBytesPerToken
    self.keyValueCapacityBytes = keyValueCapacityBytes
    self.machine = machine
  }

  /// OPT-13B on one A100-40GB (vLLM Table 1): 26 GB of fp16 weights, 12 GiB for the KV cache, and
  /// 2 (K, V) × 5120 (hidden) × 40 (layers) × 2 bytes = 819,200 B ("800 KB") per token.
  public static let opt13BOnA100 = ServingCostModel(
    modelName: "OPT-13B", parameters: 13e9, weightBytes: 26e9, keyValueBytesPerToken: 2 * 5120 * 40 * 2,
    keyValueCapacityBytes: 12 << 30, machine: .a100_40GB)

  /// Token slots of the KV cache: ⌊12 GiB / 800 KiB⌋ = 15,728 ("15.7K", vLLM Table 1).
  public var tokenCapacity: Int { keyValueCapacityBytes / keyValueBytesPerToken }

  /// Seconds of one iteration with `cachedTokens` tokens in the KV cache and `promptTokens`
  /// prompt tokens processed.
  public func iterationSeconds(cachedTokens: Int, promptTokens: Int) -> Double {
    let bandwidth = machine.hbmBytesPerSecond
    return weightBytes / bandwidth + Double(cachedTokens) * Double(keyValueBytesPerToken) / bandwidth
      + Double(promptTokens) * 2 * parameters / machine.matmulFLOPsPerSecond
  }
}
