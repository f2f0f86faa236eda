import Foundation

/// Decode attention over a contiguous KV cache in float64: the yardstick for paged and split-KV
/// outputs. o = softmax(τ·q·Kᵀ)·V for one query row against L keys, with a max-subtracted softmax.
public enum ContiguousDecodeReference {
  /// o (d values) for query `q` (d values) against `keys` and `values` (L×d, row-major).
  public static func attention(query q: ArraySlice<Float>, keys: [Float], values: [Float], contextLength l: Int, headDimension d: Int, scale: Float) -> [Double] {
    let tau = Double(scale)
    var scores = [Double](repeating: 0, count: l)
    var rowMax = -Double.infinity
    let q0 = q.startIndex
    for j in 0..<l {
      var dot = 0.0
      for x in 0..<d { dot += Double(q[q0 + x]) * Double(keys[j * d + x]) }
      scores[j] = tau * dot
      rowMax = max(rowMax, scores[j])
    }
    var sum = 0.0
    for j in 0..<l {
      scores[j] = exp(scores[j] - rowMax)
      sum += scores[j]
    }
    var output = [Double](repeating: 0, count: d)
    for j in 0..<l {
      let p = scores[j] / sum
      for x in 0..<d { output[x] += p * Double(values[j * d + x]) }
    }
    return output
  }
}
