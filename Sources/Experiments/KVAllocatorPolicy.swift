/// How a serving system holds a request's KV cache. Names are the JSON `name` values.
///
/// | policy | memory held by a request of p prompt and o output tokens |
/// |---|---|
/// | `orca-max` | 2048 contiguous slots (the maximum sequence length), buddy-allocated |
/// | `orca-pow2` | p + 2^⌈log₂ o⌉ slots (over-reserves the output by < 2×), buddy-allocated |
/// | `orca-oracle` | p + o slots (knows the true output length), buddy-allocated |
/// | `paged` | ⌈(tokens so far)/B⌉ blocks of B slots, allocated on demand |
public enum KVAllocatorPolicy: Hashable, Sendable, CustomStringConvertible {
  case orcaMax
  case orcaPow2
  case orcaOracle
  case paged(blockSize: Int)

  /// Every policy of vLLM's Figure 2 and §7.2's block-size sweep: the three Orca variants, then
  /// paged with B ∈ {1, 2, 4, …, 256}.
  public static let all: [KVAllocatorPolicy] = [.orcaMax, .orcaPow2, .orcaOracle] + sweepBlockSizes.map { .paged(blockSize: $0) }
  /// The block sizes of vLLM §7.2.
  public static let sweepBlockSizes = [1, 2, 4, 8, 16, 32, 64, 128, 256]

  /// `orca-max`, `orca-pow2`, `orca-oracle` or `paged`.
  public var name: String {
    switch self {
    case .orcaMax: return "orca-max"
    case .orcaPow2: return "orca-pow2"
    case .orcaOracle: return "orca-oracle"
    case .paged: return "paged"
    }
  }

  /// B for `paged`, nil for the contiguous policies.
  public var blockSize: Int? {
    if case let .paged(b) = self { return b }
    return nil
  }

  public var description: String { blockSize.map { "\(name) (B=\($0))" } ?? name }

  /// Slots a contiguous policy reserves at admission for a request (nil for paged).
  public func reservation(for request: ServingRequest) -> Int? {
    switch self {
    case .orcaMax: return Workload.maximumSequenceLength
    case .orcaPow2:
      return request.promptLength + (1 << BuddyAllocator.order(for: request.outputLength))
    case .orcaOracle: return request.finalLength
    case .paged: return nil
    }
  }

  /// vLLM Figure 2 (OPT-13B, ShareGPT): the shares of KV memory for the Orca variants (bar labels
  /// of the PDF text); nil for paged, where the paper gives only the token-state share.
  public var paperShares: MemoryShares? {
    switch self {
    case .orcaMax: return MemoryShares(tokenStates: 0.204, reserved: 0.133, internalFragmentation: 0.573, externalFragmentation: 0.089)
    case .orcaPow2: return MemoryShares(tokenStates: 0.268, reserved: 0.179, internalFragmentation: 0.136, externalFragmentation: 0.416)
    case .orcaOracle: return MemoryShares(tokenStates: 0.382, reserved: 0.252, internalFragmentation: 0, externalFragmentation: 0.366)
    case .paged: return nil
    }
  }

  /// vLLM Figure 2's share of KV memory holding token states: 20.4 / 26.8 / 38.2 % for the Orca
  /// variants, 96.3 % for vLLM (B = 16).
  public var paperTokenStateShare: Double? {
    if case .paged(16) = self { return 0.963 }
    return paperShares?.tokenStates
  }
}

/// How KV memory divides, as shares of the whole KV capacity (they sum to 1).
public struct MemoryShares: Hashable, Sendable {
  /// Slots holding the K and V of tokens already processed.
  public var tokenStates: Double
  /// Slots held for tokens the request will still produce.
  public var reserved: Double
  /// Slots held that the request will never fill (over-provisioning, the unfilled end of a block).
  public var internalFragmentation: Double
  /// Everything else: free slots, buddy-block slack, slots too fragmented to serve a request.
  public var externalFragmentation: Double

  public init(tokenStates: Double, reserved: Double, internalFragmentation: Double, externalFragmentation: Double) {
    self.tokenStates = tokenStates
    self.reserved = reserved
    self.internalFragmentation = internalFragmentation
    self.externalFragmentation = externalFragmentation
  }
}
