/// How execute mode draws random inputs when none are given.
public enum InputDistribution: Hashable, Sendable, CustomStringConvertible {
  /// Q, K, V, dO with independent standard normal entries: attention with no structure, where
  /// every key is about as relevant as any other.
  case normal
  /// Keys follow a first-order autoregressive walk along the sequence,
  /// k_t = ρ·k_{t−1} + √(1 − ρ²)·ε_t, and each query is its own key plus noise (q_t = k_t + ½η_t),
  /// so a query attends mostly to nearby keys, as in trained language models. V and dO are normal.
  /// Sparse patterns are meaningful approximations only on inputs like these.
  case local(correlation: Float)

  /// `normal` or `local` (ρ = 0.95), or `local:RHO`.
  public init?(parsing text: String) {
    if text == "normal" { self = .normal; return }
    if text == "local" { self = .local(correlation: 0.95); return }
    if text.hasPrefix("local:"), let rho = Float(text.dropFirst(6)), rho >= 0, rho < 1 {
      self = .local(correlation: rho)
      return
    }
    return nil
  }

  public var description: String {
    switch self {
    case .normal: return "normal"
    case let .local(rho): return "local:\(rho)"
    }
  }
}
