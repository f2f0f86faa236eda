import Dispatch
import Foundation

/// Exact attention in float64, the yardstick for every execute-mode run:
/// O = softmax(τ·QKᵀ)·V, computed row by row with a max-subtracted softmax.
///
/// Inputs are the fp32 values actually stored in HBM (already rounded to the data type), so the
/// reported error measures the algorithm, not the input rounding.
public enum ReferenceAttention {
  /// O (N×d, row-major) for one head, with the head's masks and dropout when `context` is
  /// given. Fully masked rows give 0.
  public static func forward(
    queries q: [Float], keys k: [Float], values v: [Float], sequenceLength n: Int, headDimension d: Int,
    scale: Float, context: HeadContext? = nil
  ) -> [Double] {
    var output = [Double](repeating: 0, count: n * d)
    for i in 0..<n {
      let p = probabilityRow(i, q, k, n, d, scale, context)
      for j in 0..<n where p[j] != 0 {
        let pz = p[j] * Double(context?.dropout.multiplier(row: i, column: j) ?? 1)
        for x in 0..<d { output[i * d + x] += pz * Double(v[j * d + x]) }
      }
    }
    return output
  }

  /// Row i of P = softmax(mask(τ·QKᵀ)) in float64; all zeros when every key is masked.
  static func probabilityRow(
    _ i: Int, _ q: [Float], _ k: [Float], _ n: Int, _ d: Int, _ scale: Float, _ context: HeadContext?
  ) -> [Double] {
    var s = [Double](repeating: -.infinity, count: n)
    var rowMax = -Double.infinity
    for j in 0..<n where context?.isVisible(row: i, column: j) ?? true {
      var dot = 0.0
      for x in 0..<d { dot += Double(q[i * d + x]) * Double(k[j * d + x]) }
      s[j] = Double(scale) * dot
      rowMax = max(rowMax, s[j])
    }
    guard rowMax > -.infinity else { return [Double](repeating: 0, count: n) }
    var sum = 0.0
    for j in 0..<n {
      s[j] = s[j] == -.infinity ? 0 : exp(s[j] - rowMax)
      sum += s[j]
    }
    return s.map { $0 / sum }
  }

  /// Gradients of Φ = Σ dO∘O with respect to Q, K and V in float64, by the formulas of
  /// Algorithm 3 with dropout: dV = (P∘Z)ᵀdO, dP = (dO·Vᵀ)∘Z, dS = P∘(dP − rowsum(P∘dP)),
  /// dQ = τ·dS·K, dK = τ·dSᵀ·Q. Also returns O.
  public static func gradients(
    queries q: [Float], keys k: [Float], values v: [Float], outputGradient dO: [Float],
    sequenceLength n: Int, headDimension d: Int, scale: Float, context: HeadContext? = nil
  ) -> (dQ: [Double], dK: [Double], dV: [Double], output: [Double]) {
    var dQ = [Double](repeating: 0, count: n * d)
    var dK = [Double](repeating: 0, count: n * d)
    var dV = [Double](repeating: 0, count: n * d)
    var output = [Double](repeating: 0, count: n * d)
    let tau = Double(scale)
    for i in 0..<n {
      let p = probabilityRow(i, q, k, n, d, scale, context)
      var dp = [Double](repeating: 0, count: n)
      var rowTerm = 0.0
      for j in 0..<n where p[j] != 0 {
        let z = Double(context?.dropout.multiplier(row: i, column: j) ?? 1)
        var dot = 0.0
        for x in 0..<d {
          output[i * d + x] += p[j] * z * Double(v[j * d + x])
          dV[j * d + x] += p[j] * z * Double(dO[i * d + x])
          dot += Double(dO[i * d + x]) * Double(v[j * d + x])
        }
        dp[j] = dot * z
        rowTerm += p[j] * dp[j]
      }
      for j in 0..<n where p[j] != 0 {
        let ds = p[j] * (dp[j] - rowTerm)
        for x in 0..<d {
          dQ[i * d + x] += tau * ds * Double(k[j * d + x])
          dK[j * d + x] += tau * ds * Double(q[i * d + x])
        }
      }
    }
    return (dQ, dK, dV, output)
  }

  /// O, and dQ when `outputGradient` is given, for the query rows `rows` only (each `d` wide, in
  /// the order of `rows`): the sampled check of large runs. The same float64 arithmetic as
  /// `forward` and `gradients` restricted to those rows, O(N·d) per row, rows spread over
  /// `threads` threads (dK and dV need every row, so a sampled check has none).
  public static func rows(
    _ rows: [Int], queries q: [Float], keys k: [Float], values v: [Float], outputGradient dO: [Float]?,
    sequenceLength n: Int, headDimension d: Int, scale: Float, context: HeadContext? = nil, threads: Int = 1
  ) -> (output: [Double], dQ: [Double]?) {
    let workers = max(1, min(threads, rows.count))
    let collected = RowCollector(rows: rows.count, width: d, gradients: dO != nil)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      let mine = Array(stride(from: worker, to: rows.count, by: workers))
      let part = rowsOnOneThread(
        mine.map { rows[$0] }, q, k, v, dO, n, d, scale, context)
      collected.store(mine, output: part.output, dQ: part.dQ)
    }
    return (collected.output, dO == nil ? nil : collected.dQ)
  }

  /// Σ a[x]·b[x] in float64 with four independent partial sums (the sequential sum's add
  /// latency, not its arithmetic, bounds a single accumulator).
  @inline(__always)
  static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Double {
    var (s0, s1, s2, s3) = (0.0, 0.0, 0.0, 0.0)
    var x = 0
    while x + 4 <= d {
      s0 += Double(a[x]) * Double(b[x])
      s1 += Double(a[x + 1]) * Double(b[x + 1])
      s2 += Double(a[x + 2]) * Double(b[x + 2])
      s3 += Double(a[x + 3]) * Double(b[x + 3])
      x += 4
    }
    while x < d {
      s0 += Double(a[x]) * Double(b[x])
      x += 1
    }
    return (s0 + s1) + (s2 + s3)
  }

  /// `rows` for one thread: the query rows `rows`, in order.
  static func rowsOnOneThread(
    _ rows: [Int], _ q: [Float], _ k: [Float], _ v: [Float], _ dO: [Float]?, _ n: Int, _ d: Int, _ scale: Float,
    _ context: HeadContext?
  ) -> (output: [Double], dQ: [Double]) {
    var output = [Double](repeating: 0, count: rows.count * d)
    var dQ = [Double](repeating: 0, count: dO == nil ? 0 : rows.count * d)
    let tau = Double(scale)
    let masked = context.map { $0.causal || $0.validKeys < n || $0.blockMask != nil } ?? false
    let dropout = context?.dropout.isActive == true ? context?.dropout : nil
    var p = [Double](repeating: 0, count: n)
    var dp = [Double](repeating: 0, count: n)
    q.withUnsafeBufferPointer { q in
      k.withUnsafeBufferPointer { k in
        v.withUnsafeBufferPointer { v in
          (dO ?? []).withUnsafeBufferPointer { gradient in
            for (r, i) in rows.enumerated() {
              let qi = q.baseAddress! + i * d
              // Row i of P = softmax(mask(τ·QKᵀ)), max-subtracted, as `probabilityRow`.
              var rowMax = -Double.infinity
              for j in 0..<n {
                if masked, !(context!.isVisible(row: i, column: j)) { p[j] = -.infinity; continue }
                p[j] = tau * dot(qi, k.baseAddress! + j * d, d)
                rowMax = max(rowMax, p[j])
              }
              guard rowMax > -.infinity else { continue }
              var sum = 0.0
              for j in 0..<n {
                p[j] = p[j] == -.infinity ? 0 : exp(p[j] - rowMax)
                sum += p[j]
              }
              for j in 0..<n { p[j] /= sum }
              var rowTerm = 0.0
              for j in 0..<n where p[j] != 0 {
                let z = dropout.map { Double($0.multiplier(row: i, column: j)) } ?? 1
                let pz = p[j] * z
                let vj = v.baseAddress! + j * d
                output.withUnsafeMutableBufferPointer { out in
                  let row = out.baseAddress! + r * d
                  for x in 0..<d { row[x] += pz * Double(vj[x]) }
                }
                if dO != nil {
                  dp[j] = dot(gradient.baseAddress! + i * d, vj, d) * z
                  rowTerm += p[j] * dp[j]
                }
              }
              guard dO != nil else { continue }
              for j in 0..<n where p[j] != 0 {
                let ds = p[j] * (dp[j] - rowTerm)
                let kj = k.baseAddress! + j * d
                for x in 0..<d { dQ[r * d + x] += tau * ds * Double(kj[x]) }
              }
            }
          }
        }
      }
    }
    return (output, dQ)
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

  /// The project's check of an output against float64: max|out − ref| / max|ref| (max|out − ref|
  /// when the reference is all zero), over the first min(count) elements; see `MaxRelativeError`
  /// for non-finite values.
  public static func maxRelativeError(_ output: [Float], _ reference: [Double]) -> Double {
    var error = MaxRelativeError()
    for i in 0..<min(output.count, reference.count) { error.add(Double(output[i]), reference: reference[i]) }
    return error.value
  }
}

/// max|out − ref| / max|ref| built up one element at a time, for checks that meet their reference
/// piece by piece (a head, a decode step); `ReferenceAttention.maxRelativeError` is its one-shot
/// form. A NaN or infinite output against a finite reference is an infinite error, never a small
/// one; an element whose reference is not finite (forced by the inputs) is left out.
public struct MaxRelativeError: Hashable, Sendable {
  /// max|out − ref| so far.
  public private(set) var largestDifference = 0.0
  /// max|ref| so far.
  public private(set) var largestReference = 0.0
  /// Outputs that were NaN or infinite where the reference was finite.
  public private(set) var nonFiniteOutputs = 0

  public init() {}

  /// Compares one output element with its reference.
  public mutating func add(_ output: Double, reference: Double) {
    guard reference.isFinite else { return }
    let difference = abs(output - reference)
    if difference.isFinite {
      largestDifference = max(largestDifference, difference)
    } else {
      largestDifference = .infinity
      if !output.isFinite { nonFiniteOutputs += 1 }
    }
    largestReference = max(largestReference, abs(reference))
  }

  /// max|out − ref| / max|ref|, or max|out − ref| when every reference was zero.
  public var value: Double { largestReference == 0 ? largestDifference : largestDifference / largestReference }

  /// Joins another part of the same comparison (another head, another step).
  public mutating func add(_ other: MaxRelativeError) {
    largestDifference = max(largestDifference, other.largestDifference)
    largestReference = max(largestReference, other.largestReference)
    nonFiniteOutputs += other.nonFiniteOutputs
  }
}

/// The rows of a threaded sampled check, gathered under a lock.
final class RowCollector: @unchecked Sendable {
  private let lock = NSLock()
  private let width: Int
  private(set) var output: [Double]
  private(set) var dQ: [Double]

  init(rows: Int, width: Int, gradients: Bool) {
    self.width = width
    output = [Double](repeating: 0, count: rows * width)
    dQ = [Double](repeating: 0, count: gradients ? rows * width : 0)
  }

  /// Rows `indices` (positions in the sample) computed by one thread, in order.
  func store(_ indices: [Int], output part: [Double], dQ partGradient: [Double]) {
    lock.lock()
    defer { lock.unlock() }
    for (local, index) in indices.enumerated() {
      for x in 0..<width {
        output[index * width + x] = part[local * width + x]
        if !dQ.isEmpty { dQ[index * width + x] = partGradient[local * width + x] }
      }
    }
  }
}
