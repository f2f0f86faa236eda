import AttentionAlgorithms
import Foundation

/// A distribution of token counts: a log-normal with shape σ, truncated to [1, `maximum`] and
/// rounded to whole tokens, whose location μ is solved so that the truncated mean equals `mean`.
///
/// The vLLM paper gives only the datasets' means (Fig. 11 legends) and plots long-tailed,
/// right-skewed densities; the log-normal form and the σ values are this project's assumptions
/// (see Docs/Paged.md, *Workloads*).
public struct LengthDistribution: Hashable, Sendable {
  /// The target mean in tokens (before rounding to whole tokens).
  public let mean: Double
  /// σ, the standard deviation of ln(length).
  public let sigma: Double
  /// The longest length drawn; longer draws are redrawn (truncation).
  public let maximum: Int
  /// μ, the mean of ln(length) before truncation, solved from `mean`.
  public let mu: Double

  /// - Precondition: 1 < mean < maximum, σ > 0.
  public init(mean: Double, sigma: Double, maximum: Int) {
    precondition(mean > 1 && mean < Double(maximum) && sigma > 0, "LengthDistribution: bad parameters")
    self.mean = mean
    self.sigma = sigma
    self.maximum = maximum
    // The truncated mean grows with μ; bisect on it.
    var low = -10.0
    var high = log(Double(maximum)) + 10
    for _ in 0..<200 {
      let middle = (low + high) / 2
      if LengthDistribution.truncatedMean(mu: middle, sigma: sigma, maximum: Double(maximum) + 0.5) < mean {
        low = middle
      } else {
        high = middle
      }
    }
    mu = (low + high) / 2
  }

  /// E[X | X ≤ c] for X log-normal(μ, σ): e^{μ+σ²/2}·Φ((ln c − μ − σ²)/σ) / Φ((ln c − μ)/σ).
  public static func truncatedMean(mu: Double, sigma: Double, maximum c: Double) -> Double {
    func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
    let z = (log(c) - mu) / sigma
    return exp(mu + sigma * sigma / 2) * phi(z - sigma) / max(phi(z), .leastNormalMagnitude)
  }

  /// One length: a log-normal draw (Box–Muller), redrawn until it rounds to ≤ `maximum`, at least 1.
  public func sample(using rng: inout SeededRandom) -> Int {
    while true {
      let x = exp(mu + sigma * Double(rng.nextNormal()))
      let n = max(1, Int(x.rounded()))
      if n <= maximum { return n }
    }
  }
}
