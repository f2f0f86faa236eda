import AttentionIO
import Foundation

extension CommandLineTool {
  static let demoOptions: [OptionSpec] = [
    .value("steps", "K", "How many events of the teaching run to narrate (default 40)."),
    .value("threads", "T", "Threads for the execute-mode check (default: all cores)."),
  ]

  /// The main job of the tool: a small run narrated tile by tile, then the paper's headline
  /// comparison at GPT-2-medium scale, then the exactness check.
  func demo(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "demo", abstract: "Watch FlashAttention move tiles, then compare it with standard attention at GPT-2-medium scale.",
        usage: "[--steps K]", options: Self.demoOptions))
      return
    }
    let options = try ParsedOptions(command: "demo", arguments: arguments, specs: Self.demoOptions)
    let steps = try options.int("steps", minimum: 0) ?? 40
    let threads = try ProblemOptions.threads(options)
    let g = NumberFormatting.grouped

    // 1. A narrated run on the teaching machine.
    let small = try AttentionProblem(sequenceLength: 16, headDimension: 8, dataType: .fp16, seed: 1)
    let teaching = MachineSpec.teaching
    let blocks = try BlockSelection.choose(.flash, problem: small, spec: teaching)
    let paper = BlockSizes.paperRule(sramElements: teaching.sramCapacityInBytes / 2, headDimension: 8)
    let paperBytes = BlockSelection.tilePlan(.flash, blocks: paper, problem: small).reduce(0) { $0 + $1.bytes }
    let verdict = paperBytes > teaching.sramCapacityInBytes
      ? "whose tiles need \(paperBytes) bytes and do not fit,\n   so the 'fit' rule picks"
      : "which fits, and the 'fit' rule agrees:"
    standardOutput("""
      1. FlashAttention (Algorithm 1) step by step on the 'teaching' machine
         Q, K, V are 16×8 fp16 matrices in HBM; the SRAM holds only \(teaching.sramCapacityInBytes) bytes (M = \(teaching.sramCapacityInBytes / 2) elements).
         The paper's rule gives Br=\(paper.queryBlockSize), Bc=\(paper.keyBlockSize), \(verdict) Br=\(blocks.queryBlockSize), Bc=\(blocks.keyBlockSize): Tc=\(blocks.keyBlockCount(16)) passes over Q and O.


      """)
    var machine = Machine(spec: teaching, mode: .execute)
    machine.recordsEvents = true
    let inputs = Simulator.inputs(problem: small, head: 0)
    let q = try machine.allocateTensor("Q", operand: .query, rows: 16, columns: 8, elementType: .fp16, contents: inputs.q)
    let k = try machine.allocateTensor("K", operand: .key, rows: 16, columns: 8, elementType: .fp16, contents: inputs.k)
    let v = try machine.allocateTensor("V", operand: .value, rows: 16, columns: 8, elementType: .fp16, contents: inputs.v)
    let out = try FlashAttentionForward.run(on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: small)
    let events = machine.events
    var reads = 0
    var writes = 0
    for (index, event) in events.enumerated() {
      if case let .load(t) = event { reads += t.elements }
      if case let .store(t) = event { writes += t.elements }
      if index < steps {
        standardOutput(String(format: "   %4d  ", index + 1) + EventNarration.line(event) + "\n")
      }
    }
    if steps < events.count {
      standardOutput("   …     \(events.count - steps) more steps (run with --steps \(events.count) to see them all)\n")
    }
    let form = FlashAttentionForward.closedForm(sequenceLength: 16, headDimension: 8, blocks: blocks)
    let reference = ReferenceAttention.forward(
      queries: machine.contents(of: q), keys: machine.contents(of: k), values: machine.contents(of: v),
      sequenceLength: 16, headDimension: 8, scale: small.softmaxScale)
    let smallError = ReferenceAttention.maxRelativeError(machine.contents(of: out.output), reference)
    standardOutput("""

         HBM traffic: \(reads) elements read + \(writes) written = \(reads + writes).
         Closed form 2Nd + Tc(3Nd + 4N) = 2·16·8 + \(blocks.keyBlockCount(16))·(3·16·8 + 4·16) = \(form.totalElements) \(reads + writes == form.totalElements ? "✓" : "✗ MISMATCH")
         Peak SRAM \(machine.sram.peakBytes) of \(teaching.sramCapacityInBytes) bytes; max relative error against float64: \(NumberFormatting.scientific(smallError)) (O stored as fp16).


      """)

    // 2. GPT-2 medium at paper scale, count mode.
    let gpt2 = try AttentionProblem(batch: 64, heads: 16, sequenceLength: 1024, headDimension: 64, dataType: .fp16)
    standardOutput("2. GPT-2 medium attention forward (batch 64, 16 heads, N=1024, d=64, fp16) on a100-40gb, count mode\n\n")
    var rows: [[String]] = [["algorithm", "blocks", "HBM elements", "HBM bytes", "est. time", "bound", "simulated in"]]
    var totals: [AttentionAlgorithmKind: Int] = [:]
    for algorithm in [AttentionAlgorithmKind.standard, .flash] {
      let result = try Simulator.run(SimulationRequest(algorithm: algorithm, problem: gpt2, machine: .a100_40GB))
      totals[algorithm] = result.ledger.hbmBytes
      rows.append([
        algorithm.rawValue, "\(result.blocks.queryBlockSize)×\(result.blocks.keyBlockSize)", g(result.ledger.hbmElements),
        NumberFormatting.bytes(result.ledger.hbmBytes), NumberFormatting.seconds(result.estimate.estimatedSeconds),
        result.estimate.bound, NumberFormatting.seconds(result.wallSeconds),
      ])
    }
    standardOutput(NumberFormatting.table(rows, indent: "   "))
    let ratio = Double(totals[.standard]!) / Double(totals[.flash]!)
    standardOutput("\n   FlashAttention moves \(NumberFormatting.fixed(ratio, 1))× fewer bytes between HBM and SRAM than standard attention.\n\n")

    // 3. Exactness: one head of that shape in execute mode, fp32.
    let head = try AttentionProblem(sequenceLength: 1024, headDimension: 64, dataType: .fp32, seed: 7)
    standardOutput("3. Exactness check: one head (N=1024, d=64, fp32) executed on SIMD tiles, against float64 attention\n\n")
    var outputs: [[Float]] = []
    for algorithm in [AttentionAlgorithmKind.standard, .flash] {
      let result = try Simulator.run(SimulationRequest(
        algorithm: algorithm, problem: head, machine: .a100_40GB, mode: .execute, threads: threads))
      outputs.append(result.firstHeadOutput ?? [])
      standardOutput("   \(algorithm.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) max relative error \(NumberFormatting.scientific(result.maxRelativeError ?? .nan))"
        + "   (\(NumberFormatting.seconds(result.wallSeconds)))\n")
    }
    let difference = ReferenceAttention.maxRelativeError(outputs[1], outputs[0].map(Double.init))
    standardOutput("   standard vs flash: max |difference| / max |O| = \(NumberFormatting.scientific(difference))\n\n")
    standardOutput("Next: 'attention-io simulate --help' to run your own shapes and machines.\n")
  }
}
