import AttentionIO

extension Lessons {
  /// Lesson 3: standard attention against FlashAttention, byte for byte: a race on the teaching
  /// machine (where FlashAttention loses), the SRAM size at which it starts to win, and the
  /// paper's scale, where it wins by a wide margin.
  public static func trafficRace() throws -> String {
    let g = NumberFormatting.grouped
    var text = title("Lesson 3: the traffic race, standard attention against FlashAttention")
    text += """
      Both algorithms compute the same O = softmax(τ·QKᵀ)·V. Standard attention (Algorithm 0) writes
      S and P, two N×N matrices, to HBM and reads them back; FlashAttention (Algorithm 1) keeps them
      on chip but re-reads Q and O once per K/V block. Which moves fewer bytes depends on the SRAM.

      """

    // 1. The race on the teaching machine, in modelled time.
    let problem = try teachingProblem()
    let standard = try Trace.record(.standard, problem: problem, spec: .teaching)
    let flash = try Trace.record(.flash, problem: problem, spec: .teaching)
    text += heading("1. A race on the teaching machine (N = 16, d = 8, SRAM 384 B)")
    text += "Bytes moved between HBM and SRAM so far, at eight moments of modelled time\n(each step takes bytes / HBM bandwidth or FLOPs / rate, one after another):\n\n"
    let end = max(standard.totalSeconds, flash.totalSeconds)
    let most = max(standard.ledger.hbmBytes, flash.ledger.hbmBytes)
    for k in 1...8 {
      let t = end * Double(k) / 8
      for (index, trace) in [standard, flash].enumerated() {
        let bytes = bytesMoved(trace, by: t)
        let label = index == 0 ? String(format: "  t = %.3f ns  ", t * 1e9) : String(repeating: " ", count: 16)
        text += label + trace.name.padding(toLength: 9, withPad: " ", startingAt: 0) + bar(bytes, of: most, width: 40) + "  " + g(bytes).leftPadded(5) + " B\n"
      }
    }
    let standardBytes = standard.ledger.hbmBytes
    let flashBytes = flash.ledger.hbmBytes
    try claim(standard.eventTotals == standard.ledger && flash.eventTotals == flash.ledger, "both traces sum to their ledgers")
    try claim(flashBytes > standardBytes, "on the teaching machine FlashAttention moves more bytes")
    let tc = flash.blocks.keyBlockCount(problem.sequenceLength)
    text += """

      Finish: standard attention \(g(standardBytes)) B at \(TraceText.nanoseconds(standard.totalSeconds)), FlashAttention \(g(flashBytes)) B at \(TraceText.nanoseconds(flash.totalSeconds)).
      Standard attention wins here. With 384 bytes of SRAM FlashAttention's blocks hold only Bc = \(flash.blocks.keyBlockSize)
      keys, so it passes over Q and O Tc = \(tc) times, and those re-reads (plus m and ℓ in fp32) cost
      more than writing and reading S and P once. IO-awareness pays only when the SRAM is large
      compared with d² (M = 192 elements here, d² = 64).

      """

    // 2. The crossover: N = 64, d = 8, growing SRAM.
    text += heading("2. Where FlashAttention starts to win (N = 64, d = 8, count mode)")
    let sweep = try teachingProblem(sequenceLength: 64)
    var rows: [[String]] = [["SRAM", "flash blocks", "flash bytes", "standard blocks", "standard bytes", "standard / flash"]]
    var firstWin: Int?
    for sram in [384, 512, 768, 1024, 1536, 2048, 4096] {
      let spec = MachineSpec.teaching.withSRAMCapacity(sram)
      let f = try Simulator.run(SimulationRequest(algorithm: .flash, problem: sweep, machine: spec))
      let s = try Simulator.run(SimulationRequest(algorithm: .standard, problem: sweep, machine: spec))
      let ratio = Double(s.ledger.hbmBytes) / Double(f.ledger.hbmBytes)
      if ratio > 1, firstWin == nil { firstWin = sram }
      rows.append([
        "\(g(sram)) B", "\(f.blocks.queryBlockSize)×\(f.blocks.keyBlockSize)", g(f.ledger.hbmBytes),
        "\(s.blocks.queryBlockSize)×\(s.blocks.keyBlockSize)", g(s.ledger.hbmBytes), NumberFormatting.fixed(ratio, 2) + "×",
      ])
    }
    guard let crossover = firstWin else { throw LessonError.claimFailed("FlashAttention wins at some SRAM size") }
    text += NumberFormatting.table(rows)
    text += """

      From \(g(crossover)) bytes of SRAM on, FlashAttention moves fewer bytes, and the gap widens as the SRAM
      grows: larger K/V blocks mean fewer passes over Q and O, while standard attention still pays
      for S and P in full. Watch it: attention-io trace --algorithm flash --seq-len 64 --sram-bytes 2048 --format html --out race.html

      """

    // 3. The paper's scale: d = 64 on an A100, one head.
    text += heading("3. At the paper's scale (a100-40gb, d = 64, fp16, one head, count mode)")
    rows = [["N", "flash blocks", "flash bytes", "standard bytes", "standard / flash"]]
    var ratios: [Double] = []
    for n in [256, 1024, 4096, 16384] {
      let head = try AttentionProblem(sequenceLength: n, headDimension: 64, dataType: .fp16)
      let f = try Simulator.run(SimulationRequest(algorithm: .flash, problem: head, machine: .a100_40GB))
      let s = try Simulator.run(SimulationRequest(algorithm: .standard, problem: head, machine: .a100_40GB))
      let ratio = Double(s.ledger.hbmBytes) / Double(f.ledger.hbmBytes)
      ratios.append(ratio)
      rows.append([g(n), "\(f.blocks.queryBlockSize)×\(f.blocks.keyBlockSize)", NumberFormatting.bytes(f.ledger.hbmBytes),
        NumberFormatting.bytes(s.ledger.hbmBytes), NumberFormatting.fixed(ratio, 1) + "×"])
    }
    try claim(ratios.allSatisfy { $0 > 1 }, "on an A100 FlashAttention moves fewer bytes at every N")
    text += NumberFormatting.table(rows)
    text += """

      With 192 KB of SRAM per SM the K/V blocks are large, and FlashAttention moves several times
      fewer bytes at every length. The ratio grows with N while standard attention's N² terms take
      over from its Nd terms, then levels off: FlashAttention's traffic is Θ(N²d²/M) (Theorem 2)
      and standard attention's Θ(N² + Nd), so for long sequences the advantage tends to a constant
      set by M/d².

      """
    return text
  }

  /// Bytes moved by the steps that have finished by time `t`.
  static func bytesMoved(_ trace: Trace, by t: Double) -> Int {
    var bytes = 0
    for step in trace.steps {
      // A relative tolerance, so the last step counts at exactly the trace's end.
      guard step.endSeconds <= t * (1 + 1e-12) else { break }
      bytes = step.ledger.hbmBytes
    }
    return bytes
  }

  /// `██████··········`: `value` of `total` in `width` characters.
  static func bar(_ value: Int, of total: Int, width: Int) -> String {
    let filled = total > 0 ? min(width, value * width / total) : 0
    return String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
  }
}
