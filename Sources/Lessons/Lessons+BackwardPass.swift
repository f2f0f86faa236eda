import AttentionIO

extension Lessons {
  /// Lesson 6: FlashAttention's backward pass (Algorithm 4), one outer iteration at a time: dK_j
  /// and dV_j accumulate on chip and are written once, while every dQ_i is read, updated and
  /// written back once per key block; then the bill against the closed form, standard
  /// attention's backward and FlashAttention-2's.
  public static func backwardPass() throws -> String {
    let g = NumberFormatting.grouped
    var text = title("Lesson 6: the backward pass, Algorithm 4 step by step")
    text += """
      The backward pass needs dQ, dK, dV from dO. Standard attention (Algorithm 3) reads P back from
      HBM and writes and reads dP and dS, three N×N matrices. FlashAttention's backward (Algorithm 4)
      writes none of them: it recomputes S and P block by block from Q, K and the m and ℓ the
      forward saved. Its outer loop runs over key blocks j: K_j and V_j stay on chip while dK_j and
      dV_j accumulate there over every query block i, and are written once. The price is dQ: each
      dQ_i gets a contribution from every key block, so it is read, updated and written back once
      per outer iteration.

      """

    let problem = try teachingProblem()
    let spec = MachineSpec.teaching.withSRAMCapacity(1_024)
    let trace = try Trace.record(.flash, pass: .backward, problem: problem, spec: spec)
    let n = problem.sequenceLength
    let d = problem.headDimension
    let blocks = trace.blocks
    let (tr, tc) = (blocks.queryBlockCount(n), blocks.keyBlockCount(n))
    text += heading("1. The run (N = \(n), d = \(d), SRAM \(g(spec.sramCapacityInBytes)) B, Br = \(blocks.queryBlockSize), Bc = \(blocks.keyBlockSize))")
    text += "The forward pass ran first (unrecorded) and left O, ℓ and m in HBM; dO is the seeded\nupstream gradient. The backward's \(trace.steps.count) steps form \(trace.sections.count) outer iterations, one per key block:\n\n"
    for section in trace.sections {
      let transfers = trace.steps[section.steps].filter(\.event.isTransfer)
      let loads = transfers.filter(\.event.isLoad).count
      let stores = transfers.count - loads
      let range = "steps \(section.steps.lowerBound + 1)–\(section.steps.upperBound)".padding(toLength: 15, withPad: " ", startingAt: 0)
      text += "  \(range)\(loads) loads, \(stores) stores: \(section.title)\n"
    }

    // 2. The first outer iteration, transfer by transfer.
    guard let first = trace.sections.first else { throw LessonError.claimFailed("the backward trace has an outer iteration") }
    text += heading("2. Outer iteration j = 0, transfer by transfer")
    text += "Loads (HBM → SRAM) and stores (SRAM → HBM) of the first key block; compute steps omitted:\n\n"
    var line: [String] = []
    for step in trace.steps[first.steps] {
      guard let transfer = step.event.transfer else { continue }
      let (verb, arrow) = step.event.isLoad ? ("load ", "←") : ("store", "→")
      line.append("\(verb) \(transfer.tile.name) \(arrow) \(transfer.tensor.name)[\(transfer.rowRange.lowerBound)..<\(transfer.rowRange.upperBound)]")
    }
    for chunk in stride(from: 0, to: line.count, by: 3) {
      let cells = line[chunk..<min(line.count, chunk + 3)]
      text += "  " + cells.dropLast().map { $0.padding(toLength: 26, withPad: " ", startingAt: 0) }.joined() + (cells.last ?? "") + "\n"
    }
    text += """

      Every query block i brings in Q_i, O_i, dO_i, dQ_i, ℓ_i and m_i, recomputes P_ij on chip, adds
      its share to dV_j and dK_j (which stay resident), and stores dQ_i straight back. Only after the
      last query block are dK_j and dV_j stored, once.

      """

    // 3. How often each tile of dQ, dK, dV moved.
    text += heading("3. Reads and writes per tile, after the whole pass")
    let counts = trace.accessCounts(after: trace.steps.count)
    func counted(_ name: String) -> Trace.TileAccessCounts? { counts.first { $0.grid.tensor.name == name } }
    var rows: [[String]] = [["tensor", "tiles", "reads per tile", "writes per tile"]]
    for name in ["Q", "K", "V", "O", "dO", "dQ", "dK", "dV"] {
      guard let c = counted(name) else { continue }
      let reads = Set(c.reads).sorted().map(String.init).joined(separator: "/")
      let writes = Set(c.writes).sorted().map(String.init).joined(separator: "/")
      rows.append([name, "\(c.grid.cellCount)", reads, writes])
    }
    text += NumberFormatting.table(rows)
    guard let dQ = counted("dQ"), let dK = counted("dK"), let dV = counted("dV") else {
      throw LessonError.claimFailed("the trace moves dQ, dK and dV")
    }
    try claim(dQ.reads.allSatisfy { $0 == tc } && dQ.writes.allSatisfy { $0 == tc }, "every dQ tile is read and written Tc = \(tc) times")
    try claim(dK.reads.allSatisfy { $0 == 0 } && dK.writes.allSatisfy { $0 == 1 }, "dK is never read and written once")
    try claim(dV.reads.allSatisfy { $0 == 0 } && dV.writes.allSatisfy { $0 == 1 }, "dV is never read and written once")
    text += "\ndQ moves Tc = \(tc) times in each direction; dK and dV are written once and never read.\n"

    // 4. The bill.
    text += heading("4. The bill")
    let form = FlashAttentionBackward.closedForm(sequenceLength: n, headDimension: d, blocks: blocks)
    try claim(trace.eventTotals == trace.ledger, "the trace's events sum to its ledger")
    try claim(
      form.readElements == trace.ledger.hbmReadElements && form.writeElements == trace.ledger.hbmWriteElements,
      "the backward's ledger equals the closed form")
    text += """
      Closed form (Theorem 5): reads 2Nd + Tc(4Nd + 2N) = \(g(form.readElements)), writes 2Nd + Tc·Nd = \(g(form.writeElements))
      elements; the trace's ledger: reads \(g(trace.ledger.hbmReadElements)), writes \(g(trace.ledger.hbmWriteElements)), equal.
      The same problem's backward pass in each algorithm:


      """
    var bill: [[String]] = [["backward pass", "HBM reads", "HBM writes", "HBM bytes"]]
    var bytes: [AttentionAlgorithmKind: Int] = [:]
    for kind in [AttentionAlgorithmKind.standard, .flash, .flash2] {
      let run = try Simulator.run(SimulationRequest(algorithm: kind, pass: .backward, problem: problem, machine: spec))
      bytes[kind] = run.ledger.hbmBytes
      bill.append([KernelRegistry.kernel(kind, pass: .backward).title, g(run.ledger.hbmReadElements), g(run.ledger.hbmWriteElements), g(run.ledger.hbmBytes)])
    }
    text += NumberFormatting.table(bill)
    let standardBytes = bytes[.standard] ?? 0
    let flashBytes = bytes[.flash] ?? 0
    try claim(flashBytes < standardBytes, "FlashAttention's backward moves fewer bytes than standard attention's here")
    text += """

      With \(g(spec.sramCapacityInBytes)) bytes of SRAM, Algorithm 4 moves \(NumberFormatting.fixed(Double(standardBytes) / Double(flashBytes), 2))× fewer bytes than Algorithm 3.
      FlashAttention-2's backward precomputes D = rowsum(dO∘O) once, so it no longer loads O_i in
      the inner loop, and reads the logsumexp L_i instead of m_i and ℓ_i.

      Watch it move: attention-io trace --algorithm flash --pass backward --format html --out flash-backward.html

      """
    return text
  }
}
