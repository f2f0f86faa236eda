import Foundation

/// The online-softmax merge of FlashAttention Algorithm 1, lines 11–12, per row.
///
/// Given the running statistics (m_i, ℓ_i) and a new block's (m̃, ℓ̃):
/// m_new = max(m_i, m̃), ℓ_new = e^{m_i−m_new} ℓ_i + e^{m̃−m_new} ℓ̃, and the factors that
/// turn the old normalised output into the new one:
/// O_new = α·O_i + β·P̃V with α = ℓ_i e^{m_i−m_new} / ℓ_new and β = e^{m̃−m_new} / ℓ_new.
/// m_i and ℓ_i are overwritten with m_new and ℓ_new. A row with no unmasked key so far
/// (m_new = −∞) or an empty sum gets α = β = 0, so it stays exactly 0, never NaN.
public enum OnlineSoftmax {
  /// FLOPs per row: max, 2 subtractions, 2 exps, 2 multiplies and an add for ℓ_new, a
  /// multiply and a divide for α, a divide for β.
  public static let updateFLOPsPerRow = 11

  public static func update(
    rowMax m: UnsafeMutablePointer<Float>, rowSum l: UnsafeMutablePointer<Float>,
    blockMax mt: UnsafePointer<Float>, blockSum lt: UnsafePointer<Float>,
    outputFactor alpha: UnsafeMutablePointer<Float>, blockFactor beta: UnsafeMutablePointer<Float>,
    rows: Int
  ) {
    for r in 0..<rows {
      let mNew = max(m[r], mt[r])
      guard mNew > -.infinity else {
        alpha[r] = 0
        beta[r] = 0
        l[r] = 0
        continue
      }
      let ea = exp(m[r] - mNew)
      let eb = exp(mt[r] - mNew)
      let lNew = ea * l[r] + eb * lt[r]
      if lNew > 0 {
        alpha[r] = l[r] * ea / lNew
        beta[r] = eb / lNew
      } else {
        alpha[r] = 0
        beta[r] = 0
      }
      m[r] = mNew
      l[r] = lNew
    }
  }
}
