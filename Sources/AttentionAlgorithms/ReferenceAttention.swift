import Foundation

/// Exact attention in float64, the yardstick for every execute-mode run:
/// O = softmax(τ·QKᵀ)·V, computed row by row with a max-subtracted softmax.
///
/// Inputs are the fp32 values actually stored in HBM (already rounded to the data type), so the
/// reported error measures the algorithm, not the input rounding.
public enum ReferenceAttention {
  /// O (N×d, row-major) for one head.
  public static func forward(queries q: [Float], keys k: [Float], values v: [Float], sequenceLength n: Int, headDimension d: Int, scale: Float) -> [Double] {
    var output = [Double](repeating: 0, count: n * d)
    var scores = [Double](repeating: 0, count: n)
    let tau = Double(scale)
    for i in 0..<n {
      var rowMax = -Double.infinity
      for j in 0..<n {
        var dot = 0.0
        for x in 0..<d { dot += Double(q[i * d + x]) * Double(k[j * d + x]) }
        scores[j] = tau * dot
        rowMax = max(rowMax, scores[j])
      }
      var sum = 0.0
      for j in 0..<n {
        scores[j] = exp(scores[j] - rowMax)
        sum += scores[j]
      }
      for j in 0..<n {
        let p = scores[j] / sum
        for x in 0..<d { output[i * d + x] += p * Double(v[j * d + x]) }
      }
    }
    return output
  }

  /// The softmax statistics over the first `keys` keys only: m (row max), ℓ (row sum of
  /// e^{S − m}) and O = softmax(S[:, :keys])·V[:keys], as Algorithm 1 holds them after the outer
  /// step that ends at key `keys` (the proof of Theorem 1).
  public static func partial(queries q: [Float], keys k: [Float], values v: [Float], sequenceLength n: Int, headDimension d: Int, scale: Float, keyCount: Int) -> (rowMax: [Double], rowSum: [Double], output: [Double]) {
    var m = [Double](repeating: -.infinity, count: n)
    var l = [Double](repeating: 0, count: n)
    var o = [Double](repeating: 0, count: n * d)
    let tau = Double(scale)
    var s = [Double](repeating: 0, count: keyCount)
    for i in 0..<n {
      for j in 0..<keyCount {
        var dot = 0.0
        for x in 0..<d { dot += Double(q[i * d + x]) * Double(k[j * d + x]) }
        s[j] = tau * dot
        m[i] = max(m[i], s[j])
      }
      for j in 0..<keyCount { l[i] += exp(s[j] - m[i]) }
      for j in 0..<keyCount {
        let p = exp(s[j] - m[i]) / l[i]
        for x in 0..<d { o[i * d + x] += p * Double(v[j * d + x]) }
      }
    }
    return (m, l, o)
  }

  /// max|out − ref| / max|ref| (max|out − ref| when the reference is all zero).
  public static func maxRelativeError(_ output: [Float], _ reference: [Double]) -> Double {
    var maxDiff = 0.0
    var maxRef = 0.0
    for i in 0..<min(output.count, reference.count) {
      maxDiff = max(maxDiff, abs(Double(output[i]) - reference[i]))
      maxRef = max(maxRef, abs(reference[i]))
    }
    return maxRef == 0 ? maxDiff : maxDiff / maxRef
  }
}
