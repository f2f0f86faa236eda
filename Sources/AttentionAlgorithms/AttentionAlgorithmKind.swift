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

  /// The algorithm's name in headings and errors (its forward kernel's summary).
  public var displayName: String { KernelRegistry.algorithm(self).displayName }

  /// Whether both passes must use the same blocks (a block mask is defined on one block grid, and
  /// the backward must differentiate the attention the forward computed).
  public var sharesBlocksAcrossPasses: Bool { KernelRegistry.algorithm(self).sharesBlocksAcrossPasses }
}

/// Which pass to run; raw values are the CLI's `--pass` names. `backward` runs the forward pass
/// it needs first and reports it separately.
public enum AttentionPass: String, CaseIterable, Sendable, Hashable {
  case forward
  case backward
  case both

  public var includesBackward: Bool { self != .forward }
}
