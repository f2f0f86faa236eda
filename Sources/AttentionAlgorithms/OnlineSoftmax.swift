import Foundation
import TileKernels

/// The online-softmax merge of FlashAttention Algorithm 1, lines 11–12, per row.
///
/// Given the running statistics (m_i, ℓ_i) and a new block's (m̃, ℓ̃):
/// m_new = max(m_i, m̃), ℓ_new = e^{m_i−m_new} ℓ_i + e^{m̃−m_new} ℓ̃, and the factors that
/// turn the old normalised output into the new one:
/// O_new = α·O_i + β·P̃V with α = ℓ_i e^{m_i−m_new} / ℓ_new and β = e^{m̃−m_new} / ℓ_new.
/// m_i and ℓ_i are overwritten with m_new and ℓ_new. A row with no unmasked key so far
/// (m_new = −∞) or an empty sum gets α = β = 0, so it stays exactly 0, never NaN.
///
/// Eight rows at a time in `Lane`s, with `VectorExp` (relative error ≤ 1.2e−7); leftover rows
/// use `VectorExp.exp(Float)`, bit-identical to a lane, so every row gets the same arithmetic
/// whatever its position.
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
    let width = Lane.scalarCount
    var r = 0
    while r + width <= rows {
      let old = load(m + r)
      let block = load(mt + r)
      let mNew = old.replacing(with: block, where: block .> old)
      // A row whose max is still −∞ (or NaN) has seen no key: ℓ, α, β = 0 and m is kept, as
      // in the scalar rows (and −∞ − (−∞) would be NaN).
      let empty = .!(mNew .> -Float.infinity)
      let ea = VectorExp.exp((old - mNew).replacing(with: 0, where: empty))
      let eb = VectorExp.exp((block - mNew).replacing(with: 0, where: empty))
      let oldSum = load(l + r)
      let weightedOld: Lane = ea * oldSum
      let weightedBlock: Lane = eb * load(lt + r)
      var lNew: Lane = weightedOld + weightedBlock
      lNew.replace(with: 0, where: empty)
      let positive = lNew .> 0
      let a: Lane = (oldSum * ea) / lNew
      let b: Lane = eb / lNew
      store(a.replacing(with: 0, where: .!positive), to: alpha + r)
      store(b.replacing(with: 0, where: .!positive), to: beta + r)
      store(mNew.replacing(with: old, where: empty), to: m + r)
      store(lNew, to: l + r)
      r += width
    }
    while r < rows {
      let mNew = max(m[r], mt[r])
      guard mNew > -.infinity else {
        alpha[r] = 0
        beta[r] = 0
        l[r] = 0
        r += 1
        continue
      }
      let ea = VectorExp.exp(m[r] - mNew)
      let eb = VectorExp.exp(mt[r] - mNew)
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
      r += 1
    }
  }

  @inline(__always)
  static func load(_ pointer: UnsafePointer<Float>) -> Lane {
    UnsafeRawPointer(pointer).loadUnaligned(as: Lane.self)
  }

  @inline(__always)
  static func store(_ value: Lane, to pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Lane.self)
  }
}
