import AttentionAlgorithms
import Foundation

/// A random language model for beam-search experiments: at every step each beam's next-token
/// log-probabilities are log-softmax(z), z ~ Normal(0, σ²) over `vocabulary` candidate tokens
/// (a stand-in for the head of a real next-token distribution), and the k best (beam, token)
/// pairs by cumulative log-probability survive.
///
/// Which parents survive decides how much the beams share; with σ = 2 over 32 candidates the top
/// token takes about a third of the mass, a peaked but not degenerate distribution. These are
/// modelling assumptions (Docs/Paged.md, *Sharing*), not fitted to the paper.
public struct BeamSearchModel: Hashable, Sendable {
  public var vocabulary: Int
  public var logitScale: Double

  public init(vocabulary: Int = 32, logitScale: Double = 2) {
    self.vocabulary = max(vocabulary, 1)
    self.logitScale = logitScale
  }

  /// A surviving candidate: the beam it extends and its cumulative log-probability.
  public struct Candidate: Hashable, Sendable {
    public let parent: Int
    public let score: Double
  }

  /// The k best extensions of the beams with cumulative `scores`, best first.
  public func selectNext(scores: [Double], width k: Int, rng: inout SeededRandom) -> [Candidate] {
    var candidates: [Candidate] = []
    candidates.reserveCapacity(scores.count * vocabulary)
    var logits = [Double](repeating: 0, count: vocabulary)
    for (parent, score) in scores.enumerated() {
      var maxLogit = -Double.infinity
      for v in 0..<vocabulary {
        logits[v] = logitScale * Double(rng.nextNormal())
        maxLogit = max(maxLogit, logits[v])
      }
      var sum = 0.0
      for v in 0..<vocabulary { sum += exp(logits[v] - maxLogit) }
      let logNormalizer = maxLogit + log(sum)
      // Only a beam's k best tokens can be among the k best overall.
      logits.sort(by: >)
      for v in 0..<min(k, vocabulary) { candidates.append(Candidate(parent: parent, score: score + logits[v] - logNormalizer)) }
    }
    candidates.sort { $0.score != $1.score ? $0.score > $1.score : $0.parent < $1.parent }
    return Array(candidates.prefix(k))
  }
}
