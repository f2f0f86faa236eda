/// The algorithms a run can simulate; raw values are the CLI's `--algorithm` names.
public enum AttentionAlgorithmKind: String, CaseIterable, Sendable, Hashable {
  /// Algorithm 0 (forward) and Algorithm 3 (backward): S and P written to HBM, matmuls tiled.
  case standard
  /// What a framework runs for softmax(mask(QKᵀ·τ))·V with dropout: one HBM round trip per
  /// elementwise pass, forward and backward (the baseline of the paper's Figure 2).
  case standardUnfused = "standard-unfused"
  /// FlashAttention, Algorithms 1/2 (forward) and 4 (backward).
  case flash
  /// FlashAttention-2: Q-block outer loop, O written once with L, causal blocks skipped.
  case flash2
  /// Block-sparse FlashAttention, Algorithm 5 and its backward, on a block mask (`--mask`).
  case blockSparse = "block-sparse"

  public var displayName: String {
    switch self {
    case .standard: return "standard attention (Algorithms 0 and 3)"
    case .standardUnfused: return "framework-style standard attention (unfused passes)"
    case .flash: return "FlashAttention (Algorithms 1 and 4)"
    case .flash2: return "FlashAttention-2"
    case .blockSparse: return "block-sparse FlashAttention (Algorithm 5)"
    }
  }

  /// Whether both passes must use the same blocks (a block mask is defined on one block grid, and
  /// the backward must differentiate the attention the forward computed).
  public var sharesBlocksAcrossPasses: Bool { self == .blockSparse }
}

/// Which pass to run; raw values are the CLI's `--pass` names. `backward` runs the forward pass
/// it needs first and reports it separately.
public enum AttentionPass: String, CaseIterable, Sendable, Hashable {
  case forward
  case backward
  case both

  public var includesBackward: Bool { self != .forward }
}
