/// The algorithms a run can simulate; raw values are the CLI's `--algorithm` names.
public enum AttentionAlgorithmKind: String, CaseIterable, Sendable, Hashable {
  /// Algorithm 0: S and P written to HBM.
  case standard
  /// FlashAttention, Algorithm 1.
  case flash

  public var displayName: String {
    switch self {
    case .standard: return "standard attention (Algorithm 0)"
    case .flash: return "FlashAttention (Algorithm 1)"
    }
  }
}

/// Which pass to run; raw values are the CLI's `--pass` names.
public enum AttentionPass: String, CaseIterable, Sendable, Hashable {
  case forward
}
