import AttentionIO

extension Lessons {
  /// Lesson 1: FlashAttention (Algorithm 1) on the `teaching` machine, every step, with a picture
  /// of the SRAM and of the HBM tiles after each outer iteration, then the counts against the
  /// closed form.
  public static func tilingWalkthrough() throws -> String {
    let problem = try teachingProblem()
    let spec = MachineSpec.teaching
    let n = problem.sequenceLength
    let d = problem.headDimension
    let m = spec.sramCapacityInBytes / problem.dataType.byteWidth
    let paper = BlockSizes.paperRule(sramElements: m, headDimension: d)
    let paperBytes = FlashAttentionForward.tileRequests(blocks: paper, problem: problem).reduce(0) { $0 + $1.bytes }
    let trace = try Trace.record(.flash, problem: problem, spec: spec)
    let blocks = trace.blocks
    let planBytes = FlashAttentionForward.tileRequests(blocks: blocks, problem: problem).reduce(0) { $0 + $1.bytes }
    let tr = blocks.queryBlockCount(n)
    let tc = blocks.keyBlockCount(n)
    let g = NumberFormatting.grouped

    var text = title("Lesson 1: FlashAttention, tile by tile, on the teaching machine")
    text += """
      Q, K and V are \(n)×\(d) fp16 matrices in HBM. The SRAM of the 'teaching' machine holds only
      \(spec.sramCapacityInBytes) bytes: M = \(m) fp16 elements. FlashAttention (Algorithm 1) must work in tiles that fit.

      The paper's rule Bc = ⌈M/4d⌉ = \(paper.keyBlockSize), Br = min(Bc, d) = \(paper.queryBlockSize) needs \(paperBytes) bytes for its tiles
      (K_j, V_j, Q_i, O_i, S_ij and six fp32 row vectors), more than the SRAM. The 'fit' rule keeps
      the paper's proportions and shrinks to Br = \(blocks.queryBlockSize), Bc = \(blocks.keyBlockSize): \(planBytes) bytes, the whole SRAM.
      So there are Tc = \(tc) key blocks (the outer loop) and Tr = \(tr) query blocks (the inner loop):

        for j in 0..<\(tc):   load K_j, V_j
          for i in 0..<\(tr): load Q_i, O_i, ℓ_i, m_i
                       S_ij = τ·Q_i·K_jᵀ; update m, ℓ and O_i (the online softmax)
                       store O_i, ℓ_i, m_i

      Below is every step of the run. After each outer iteration: the SRAM as a bar of its
      \(spec.sramCapacityInBytes) bytes (one letter per tile, · is free), the m and ℓ values in SRAM, and how often
      each HBM tile has been read and written so far.


      """
    text += TraceText.render(trace, level: .all)

    let ledger = trace.ledger
    let form = FlashAttentionForward.closedForm(sequenceLength: n, headDimension: d, blocks: blocks)
    try claim(trace.eventTotals == ledger, "the trace's sums equal the ledger")
    try claim(ledger.hbmElements == form.totalElements, "the closed form matches the count")
    try claim(ledger[.key].readElements == n * d && ledger[.value].readElements == n * d, "K and V are read once")
    try claim(ledger[.query].readElements == tc * n * d, "Q is read once per outer iteration")
    try claim(ledger[.scores].totalElements == 0, "S never reaches HBM")
    try claim(trace.peakSRAMBytes == planBytes, "the tile plan is the peak SRAM use")
    text += heading("What to notice")
    text += """
      - K and V are read exactly once: every K and V tile says 1/0. Each K_j, V_j pair is loaded
        once and stays in SRAM while all \(tr) query blocks stream past it.
      - Q is read once per outer iteration (\(tc)/0), and O, ℓ and m are read and written once per
        outer iteration (\(tc)/\(tc)): that is the price of never storing S. In elements,
        2Nd + Tc(3Nd + 4N) = 2·\(n)·\(d) + \(tc)·(3·\(n)·\(d) + 4·\(n)) = \(g(form.totalElements)), exactly the trace's \(g(ledger.hbmElements)).
      - S_ij lives only in SRAM: there is no S (or P) in the HBM grid at all.
      - The SRAM is full while the loops run (\(trace.peakSRAMBytes) of \(spec.sramCapacityInBytes) B): the tile plan is the
        whole budget, which is why the blocks cannot grow.
      - After outer iteration j, m and ℓ hold the softmax statistics of the first (j+1)·Bc keys; the
        online-softmax lesson follows one row through these updates.

      """
    return text
  }
}
