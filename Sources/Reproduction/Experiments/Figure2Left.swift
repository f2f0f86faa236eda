import AttentionIO
import Foundation

/// Figure 2 left: standard attention vs FlashAttention, forward + backward, at GPT-2-medium size
/// (B = 64, H = 16, N = 1024, d = 64, fp16) on `a100-40gb`: HBM GB, GFLOPs and modelled runtime,
/// plus labelled rows that isolate which pass and block choice explain the FlashAttention gap.
public struct Figure2Left: Sendable {
  /// One row of the table.
  public struct Row: Sendable {
    /// The CSV's `implementation`: `standard`, `standard-unfused`, `flash`, or a labelled variant.
    public var implementation: String
    /// What was run, in words: blocks per pass, mask, machine.
    public var setting: String
    public var forwardBlocks: BlockSizes
    public var backwardBlocks: BlockSizes
    public var hbmBytes: Int
    public var forwardBytes: Int
    public var backwardBytes: Int
    public var flops: Int
    public var estimate: RooflineEstimate
    public var matchesClosedForm: Bool
    /// The paper's number this row is compared with (GB), if any.
    public var paperGB: Double?
    /// A main row (simulator as-is) rather than an investigation row.
    public var isMain: Bool

    public var hbmGB: Double { Double(hbmBytes) / 1e9 }
    public var gflops: Double { Double(flops) / 1e9 }
    public var runtimeMilliseconds: Double { estimate.estimatedSeconds * 1e3 }
    /// |ours − paper| / paper ≤ 15%.
    public var withinTolerance: Bool? { paperGB.map { abs(hbmGB - $0) / $0 <= 0.15 } }
  }

  public var rows: [Row]
  public var sequenceLength: Int
  public var headDimension: Int
  public var batch: Int
  public var heads: Int
  /// FlashAttention's backward tile plan with the paper's blocks (Br = 64, Bc = 384): all of it,
  /// its SRAM tiles, and its register tiles as the simulator counts them (in the data type) and
  /// as fp32 accumulators would need.
  public var paperBackwardBytes: (total: Int, sram: Int, registers: Int, registersInFP32: Int)
  /// The largest Bc ≤ 384 whose backward plan fits the A100 when the register tiles are counted
  /// in fp32, with Br = 64 (the paper's proportions) and Br = 16 (the FA1 kernel's query step).
  public var fp32KeyBlock: (paperRows: Int, sixteenRows: Int)

  public func row(_ implementation: String) -> Row? { rows.first { $0.implementation == implementation } }

  /// The GPT-2-medium problem of the figure. `causal` and `dropout` follow the arXiv setting
  /// (GPT-2 training: causal mask, dropout 0.1); `validLengths` the NeurIPS caption's key padding.
  static func problem(batch: Int, causal: Bool = true, dropout: Float = 0.1, validLengths: [Int]? = nil) throws -> AttentionProblem {
    try AttentionProblem(
      batch: batch, heads: 16, sequenceLength: 1024, headDimension: 64, dataType: .fp16, seed: 0, causal: causal,
      validLengths: validLengths, dropoutProbability: dropout)
  }

  /// One valid length per batch entry, uniform in N−20…N (the padding of the paper's App. E benchmarks), seeded.
  static func paddingLengths(batch: Int, sequenceLength n: Int) -> [Int] {
    var rng = SeededRandom(seed: 2205_14135)
    return (0..<batch).map { _ in n - Int(rng.next() % 21) }
  }

  public static func run(scale: ReproductionScale, batch: SimulationBatch) throws -> Figure2Left {
    let a100 = MachineSpec.a100_40GB
    let main = try problem(batch: scale.figure2Batch)
    let n = main.sequenceLength
    let d = main.headDimension
    // The paper's rule on this machine: Bc = ⌈M/4d⌉ = 384, Br = min(Bc, d) = 64.
    let paperBlocks = BlockSizes.paperRule(sramElements: a100.sramCapacityInBytes / 2, headDimension: d)
    func usage(_ blocks: BlockSizes, fp32Registers: Bool) -> (sram: Int, registers: Int) {
      let plan = AttentionSchedule.tilePlan(.flash, pass: .backward, blocks: blocks, problem: main)
      let sram = plan.filter { $0.level == .sram }.reduce(0) { $0 + $1.bytes }
      let registers = plan.filter { $0.level == .registers }.reduce(0) { $0 + $1.rows * $1.columns * (fp32Registers ? 4 : $1.elementType.byteWidth) }
      return (sram, registers)
    }
    let paperUsage = usage(paperBlocks, fp32Registers: false)
    let paperFP32 = usage(paperBlocks, fp32Registers: true)
    func largestFP32(rows: Int) -> Int {
      var bc = paperBlocks.keyBlockSize
      while bc > 1 {
        let u = usage(BlockSizes(queryBlockSize: min(rows, bc), keyBlockSize: bc), fp32Registers: true)
        if u.sram <= a100.sramCapacityInBytes, u.registers <= a100.registerFileInBytes { break }
        bc -= 1
      }
      return bc
    }
    let fa1Kernel = BlockSizes(queryBlockSize: 16, keyBlockSize: 256)

    struct Spec: Sendable {
      var implementation: String
      var setting: String
      var paperGB: Double?
      var isMain: Bool
      /// (request, pass whose counts it contributes); rows built from two runs sum them.
      var parts: [(SimulationRequest, [AttentionSchedule.Pass])]
    }
    func whole(_ algorithm: AttentionAlgorithmKind, _ problem: AttentionProblem, machine: MachineSpec = a100, blocks: BlockSizes? = nil, sparsity: BlockSparsity? = nil) -> [(SimulationRequest, [AttentionSchedule.Pass])] {
      [(SimulationRequest(algorithm: algorithm, pass: .both, problem: problem, machine: machine, blocks: blocks, mode: .count, sparsity: sparsity), [.forward, .backward])]
    }
    let arXiv = PaperNumbers.figure2LeftArXiv
    let neurIPS = PaperNumbers.figure2LeftNeurIPS
    let padded = try problem(batch: scale.figure2Batch, causal: false, dropout: 0, validLengths: paddingLengths(batch: scale.figure2Batch, sequenceLength: n))
    let specs: [Spec] = [
      Spec(implementation: "standard", setting: "Algorithms 0 + 3, tiled matmuls; causal mask, dropout 0.1; `fit` blocks", paperGB: nil, isMain: true,
           parts: whole(.standard, main)),
      Spec(implementation: "standard-unfused", setting: "framework-style kernels (Docs/StandardUnfused.md); causal mask, dropout 0.1; `fit` blocks",
           paperGB: arXiv.standardGB, isMain: true, parts: whole(.standardUnfused, main)),
      Spec(implementation: "flash", setting: "Algorithms 1 + 4; causal mask, dropout 0.1; `fit` blocks per pass", paperGB: arXiv.flashGB, isMain: true,
           parts: whole(.flash, main)),
      Spec(implementation: "standard-unfused (key-padding mask; no dropout)",
           setting: "the NeurIPS caption's setting: key-padding mask with valid lengths N−20…N, no dropout; `fit` blocks",
           paperGB: neurIPS.standardGB, isMain: false, parts: whole(.standardUnfused, padded)),
      Spec(implementation: "flash (no register file: every tile in SRAM)",
           setting: "as `flash`, on an A100 whose accumulator tiles share the 192 KiB SRAM (`withRegisterFile(0)`), so `fit` shrinks the backward's blocks",
           paperGB: arXiv.flashGB, isMain: false, parts: whole(.flash, main, machine: a100.withRegisterFile(0))),
      Spec(implementation: "flash (FA1 kernel blocks Br=16 Bc=256)",
           setting: "the FA1 CUDA kernel's blocks for d = 64 on A100 in both passes (16-row query steps, 256-key blocks), every block visited",
           paperGB: arXiv.flashGB, isMain: false, parts: whole(.flash, main, blocks: fa1Kernel)),
      Spec(implementation: "flash (FA1 kernel blocks + causal block skipping)",
           setting: "as above, but blocks entirely above the diagonal are skipped, as the FA1 kernel does under a causal mask (run as block-sparse FlashAttention with the `causal` block mask)",
           paperGB: arXiv.flashGB, isMain: false, parts: whole(.blockSparse, main, blocks: fa1Kernel, sparsity: BlockSparsity(pattern: .causal))),
    ]
    let flat = specs.flatMap { $0.parts.map(\.0) }
    let results = try batch.run(flat)
    var index = 0
    var rows: [Row] = []
    for spec in specs {
      var ledger = IOLedger()
      var forward = IOLedger()
      var backward = IOLedger()
      var blocks: [AttentionSchedule.Pass: BlockSizes] = [:]
      var matches = true
      for (_, passes) in spec.parts {
        let result = results[index]
        index += 1
        for pass in passes {
          let p = result.pass(pass)!
          ledger.add(p.ledger)
          if pass == .forward { forward.add(p.ledger) } else { backward.add(p.ledger) }
          blocks[pass] = p.blocks
          matches = matches && p.matchesClosedForm
        }
      }
      rows.append(Row(
        implementation: spec.implementation, setting: spec.setting, forwardBlocks: blocks[.forward]!, backwardBlocks: blocks[.backward]!,
        hbmBytes: ledger.hbmBytes, forwardBytes: forward.hbmBytes, backwardBytes: backward.hbmBytes, flops: ledger.totalFLOPs,
        estimate: RooflineEstimate(ledger: ledger, spec: a100), matchesClosedForm: matches, paperGB: spec.paperGB, isMain: spec.isMain))
    }
    return Figure2Left(
      rows: rows, sequenceLength: n, headDimension: d, batch: main.batch, heads: main.heads,
      paperBackwardBytes: (paperUsage.sram + paperUsage.registers, paperUsage.sram, paperUsage.registers, paperFP32.registers),
      fp32KeyBlock: (largestFP32(rows: d), largestFP32(rows: 16)))
  }
}
