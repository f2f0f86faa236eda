import AttentionIO
import Foundation

extension Lessons {
  /// Lesson 2: the online softmax on one row of scores, block by block: the running max m and sum
  /// ℓ, the rescale factors, and why the result is exactly the softmax over the whole row; then
  /// the same numbers read out of the simulated machine with the `Stepper`.
  public static func onlineSoftmax() throws -> String {
    let problem = try teachingProblem()
    let spec = MachineSpec.teaching
    let n = problem.sequenceLength
    let d = problem.headDimension
    let bc = try BlockSelection.choose(.flash, problem: problem, spec: spec).keyBlockSize
    let tau = problem.softmaxScale
    // The inputs as HBM holds them: seeded normals rounded to fp16.
    let inputs = Simulator.inputs(problem: problem, head: 0)
    let q = inputs.q.map(problem.dataType.rounded)
    let k = inputs.k.map(problem.dataType.rounded)
    let v = inputs.v.map(problem.dataType.rounded)
    // Row 0 of S = τ·QKᵀ.
    let s: [Float] = (0..<n).map { j in tau * (0..<d).reduce(Float(0)) { $0 + q[$1] * k[j * d + $1] } }

    var text = title("Lesson 2: the online softmax, one row at a time")
    text += """
      Attention needs softmax(s) for each row s of S = τ·QKᵀ: m = max s, ℓ = Σ e^(s − m), and the
      output o = Σ_j e^(s_j − m)/ℓ · V_j. FlashAttention never holds a whole row: it sees the keys
      in blocks of Bc = \(bc). Here is row 0 of the teaching problem (N = \(n), d = \(d), seed \(problem.seed)),
      processed the way Algorithm 1 does it, one key block at a time.

      The full row, for reference (\(n) scores):
        \(row(s))

      The rule for each block (Algorithm 1, lines 9 to 12):
        m̃ = max of the block's scores,  P̃ = e^(s − m̃),  ℓ̃ = Σ P̃
        m_new = max(m, m̃)
        ℓ_new = e^(m − m_new)·ℓ + e^(m̃ − m_new)·ℓ̃
        o ← α·o + β·(P̃·V_block),  α = e^(m − m_new)·ℓ/ℓ_new,  β = e^(m̃ − m_new)/ℓ_new

      """
    var m: Float = -.infinity
    var l: Float = 0
    var o = [Float](repeating: 0, count: d)
    var lessonStatistics: [(m: Float, l: Float)] = []
    var naiveSum: Float = 0
    for j in 0..<(n + bc - 1) / bc {
      let keys = j * bc..<min(n, (j + 1) * bc)
      let block = Array(s[keys])
      var mt = block.max() ?? -.infinity
      let p = block.map { exp($0 - mt) }
      var lt = p.reduce(0, +)
      naiveSum += lt
      let (oldM, oldL) = (m, l)
      var alpha: Float = 0
      var beta: Float = 0
      OnlineSoftmax.update(rowMax: &m, rowSum: &l, blockMax: &mt, blockSum: &lt, outputFactor: &alpha, blockFactor: &beta, rows: 1)
      for x in 0..<d {
        var pv: Float = 0
        for (offset, key) in keys.enumerated() { pv += p[offset] * v[key * d + x] }
        o[x] = alpha * o[x] + beta * pv
      }
      lessonStatistics.append((m, l))
      text += heading("Block j = \(j): keys \(keys.lowerBound)..<\(keys.upperBound)")
      text += """
          scores        \(row(block))
          m̃ = \(f(mt)),  ℓ̃ = \(f(lt))
          m_new = max(\(f(oldM)), \(f(mt))) = \(f(m))
          ℓ_new = e^(\(f(oldM)) − \(f(m)))·\(f(oldL)) + e^(\(f(mt)) − \(f(m)))·\(f(lt)) = \(f(l))
          α = \(f(alpha)), β = \(f(beta))
          o = \(row(o))

        """
    }

    // The same row done in one go, in float64.
    let sMax = s.map(Double.init).max() ?? 0
    let weights = s.map { Foundation.exp(Double($0) - sMax) }
    let exactL = weights.reduce(0, +)
    let exact = (0..<d).map { x in (0..<n).reduce(0.0) { $0 + weights[$1] / exactL * Double(v[$1 * d + x]) } }
    let error = zip(o, exact).map { abs(Double($0) - $1) }.max() ?? 0
    try claim(abs(Double(m) - sMax) <= 1e-6 * max(1, abs(sMax)), "the running max is the row max")
    try claim(abs(Double(l) - exactL) <= 1e-5 * exactL, "the running sum is the softmax denominator")
    try claim(error <= 1e-5, "the online output equals softmax(s)·V")
    try claim(abs(Double(naiveSum) - exactL) > 1e-3 * exactL, "adding block sums without rescaling is wrong")
    text += heading("The whole row at once")
    text += """
        m = max s = \(f(Float(sMax))),  ℓ = Σ e^(s − m) = \(f(Float(exactL)))
        o = softmax(s)·V = \(row(exact.map(Float.init)))

      The block-by-block result has the same m and ℓ, and its o agrees to within 1e-5 (float32
      rounding only): the online softmax is exact, not an approximation.

      Why: each block's sum ℓ̃ was taken relative to the block's own max m̃. The factor e^(m̃ − m_new)
      moves it to the new max, because e^(s − m̃)·e^(m̃ − m_new) = e^(s − m_new); the old sum gets
      e^(m − m_new) the same way. After the last block every term is e^(s − m) with the row's true
      max, which is the definition of ℓ. The output is rescaled by the same factors (α and β also
      divide by the new ℓ), so o is always the normalised average over the keys seen so far.
      Without the factors, adding the block sums as they are gives \(f(naiveSum)) instead of \(f(l)).

      """

    // The machine, step by step: after each outer iteration the store of m_i for rows 0..<4
    // carries row 0's statistics.
    text += heading("The simulated machine agrees")
    text += "Stepping through FlashAttention on the teaching machine (`Stepper`), reading m_i and ℓ_i for row 0\nafter each outer iteration stores them:\n\n"
    var stepper = try Stepper(.flash, problem: problem, spec: spec)
    var iteration = 0
    while let step = stepper.step() {
      guard case let .store(t) = step.event, t.tensor.operand == .rowMax, t.rowRange.lowerBound == 0 else { continue }
      let tiles = stepper.statistics.filter { $0.rows?.lowerBound == 0 }
      guard let mi = tiles.first(where: { $0.tile.operand == .rowMax })?.values.first,
        let li = tiles.first(where: { $0.tile.operand == .rowSum })?.values.first,
        iteration < lessonStatistics.count
      else { throw LessonError.claimFailed("the machine holds m_i and ℓ_i for rows 0..<4") }
      let expected = lessonStatistics[iteration]
      let agrees = abs(mi - expected.m) <= 1e-5 * max(1, abs(expected.m)) && abs(li - expected.l) <= 1e-5 * max(1, expected.l)
      try claim(agrees, "the machine's m and ℓ after outer iteration \(iteration) match the lesson")
      text += "  step \(String(step.index + 1).leftPadded(3)), after outer iteration j = \(iteration):  m_0 = \(f(mi)), ℓ_0 = \(f(li))   (lesson: \(f(expected.m)), \(f(expected.l))) ✓\n"
      iteration += 1
    }
    try claim(iteration == lessonStatistics.count, "one store of row 0 per outer iteration")
    text += "\nRun it yourself: attention-io trace --algorithm flash --seed \(problem.seed) --format html --out flash.html\n"
    return text
  }

  /// A value with four decimals, or −∞.
  static func f(_ x: Float) -> String {
    if x == -.infinity { return "−∞" }
    let text = String(format: "%.4f", Double(x))
    return text == "-0.0000" ? "0.0000" : text
  }

  static func row(_ values: [Float]) -> String {
    "[" + values.map(f).joined(separator: " ") + "]"
  }
}

extension String {
  /// Right-aligned in `width` characters.
  func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
