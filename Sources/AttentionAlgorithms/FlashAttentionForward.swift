import Foundation
import MemoryHierarchy
import TileKernels

/// FlashAttention forward, the paper's Algorithm 1 (with Algorithm 2's scale τ, causal and
/// key-padding masks and dropout): the outer loop streams K/V blocks into SRAM, the inner loop
/// streams Q blocks past them, and an online softmax (running max m and sum ℓ) keeps O exact
/// without ever writing the N×N matrices S or P to HBM. Dropout is applied to P̃ after ℓ̃ is
/// taken, so the normaliser uses the undropped probabilities, and its mask is never stored.
///
/// ```
/// for j in 0..<Tc:                      load K_j, V_j            (2·Bc·d)
///   for i in 0..<Tr:                    load Q_i, O_i, ℓ_i, m_i  (2·Br·d + 2·Br)
///     S_ij = τ Q_i K_jᵀ;  m̃ = rowmax S;  P̃ = exp(S − m̃);  ℓ̃ = rowsum P̃
///     m_new = max(m_i, m̃);  ℓ_new = e^{m_i−m_new} ℓ_i + e^{m̃−m_new} ℓ̃
///     O_i ← diag(ℓ_new)⁻¹ (diag(ℓ_i) e^{m_i−m_new} O_i + e^{m̃−m_new} P̃ V_j)
///     store O_i, ℓ_i ← ℓ_new, m_i ← m_new                         (Br·d + 2·Br)
/// ```
///
/// - Complexity: 4N²d matmul FLOPs; HBM traffic per head exactly 2Nd + T_c(3Nd + 4N) elements
///   with T_c = ⌈N/Bc⌉, i.e. Θ(N²d²/M) (Theorem 2). Initialising O, ℓ, m in HBM (line 2) is not
///   counted. The count does not depend on Br.
public enum FlashAttentionForward: AttentionForwardKernel {
  public static let algorithm = AttentionAlgorithmKind.flash
  public static let title = "FlashAttention forward (Algorithm 1)"
  public static let algorithmName = "FlashAttention (Algorithms 1 and 4)"
  public static let summary = "Algorithm 1: K_j, V_j stay on chip while every Q_i streams past; O_i, ℓ_i, m_i are read and written back per block"
  public static let blockShape = AttentionSchedule.Shape.keyMajor

  /// The tiles Algorithm 1 keeps on chip at once.
  public struct Tiles<Tile> {
    /// K_j, V_j (Bc×d).
    public var keys: Tile
    public var values: Tile
    /// Q_i (Br×d) and the accumulator O_i (Br×d).
    public var queries: Tile
    public var output: Tile
    /// S_ij (Br×Bc), holding S, then P̃.
    public var scores: Tile
    /// m_i, ℓ_i: the running statistics of the block's rows.
    public var rowMax: Tile
    public var rowSum: Tile
    /// m̃_ij, ℓ̃_ij: the block's own row max and row sum.
    public var blockMax: Tile
    public var blockSum: Tile
    /// α_i, β_i: the rescale factors of O_i and of P̃_ij·V_j.
    public var outputFactor: Tile
    public var blockFactor: Tile

    /// Every tile, in allocation order.
    public var all: [Tile] { [keys, values, queries, output, scores, rowMax, rowSum, blockMax, blockSum, outputFactor, blockFactor] }

    public func map<Other>(_ transform: (Tile) throws -> Other) rethrows -> Tiles<Other> {
      Tiles<Other>(
        keys: try transform(keys), values: try transform(values), queries: try transform(queries), output: try transform(output),
        scores: try transform(scores), rowMax: try transform(rowMax), rowSum: try transform(rowSum),
        blockMax: try transform(blockMax), blockSum: try transform(blockSum),
        outputFactor: try transform(outputFactor), blockFactor: try transform(blockFactor))
    }
  }

  /// The tiles Algorithm 1 keeps in SRAM at once: K_j, V_j (Bc×d), Q_i, O_i (Br×d), S_ij
  /// (Br×Bc) in the data type; m_i, ℓ_i and four per-row temporaries (m̃, ℓ̃ and the two
  /// rescale factors) in the statistics type.
  public static func tilePlan(blocks: BlockSizes, problem: AttentionProblem) -> Tiles<TileRequest> {
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let d = problem.headDimension
    let data = problem.dataType
    let stats = problem.statisticsType
    return Tiles(
      keys: TileRequest("K_j", .key, rows: bc, columns: d, data),
      values: TileRequest("V_j", .value, rows: bc, columns: d, data),
      queries: TileRequest("Q_i", .query, rows: br, columns: d, data),
      output: TileRequest("O_i", .output, rows: br, columns: d, data, level: .registers),
      scores: TileRequest("S_ij", .scores, rows: br, columns: bc, data, level: .registers),
      rowMax: TileRequest("m_i", .rowMax, rows: br, columns: 1, stats, level: .registers),
      rowSum: TileRequest("ℓ_i", .rowSum, rows: br, columns: 1, stats, level: .registers),
      blockMax: TileRequest("m̃_ij", .rowMax, rows: br, columns: 1, stats, level: .registers),
      blockSum: TileRequest("ℓ̃_ij", .rowSum, rows: br, columns: 1, stats, level: .registers),
      outputFactor: TileRequest("α_i", .other, rows: br, columns: 1, stats, level: .registers),
      blockFactor: TileRequest("β_i", .other, rows: br, columns: 1, stats, level: .registers))
  }

  public static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    tilePlan(blocks: blocks, problem: problem).all
  }

  /// Exact HBM elements per head: reads 2Nd + T_c(2Nd + 2N), writes T_c(Nd + 2N).
  public static func closedForm(sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes) -> TrafficCount {
    let tc = blocks.keyBlockCount(n)
    return TrafficCount(readElements: 2 * n * d + tc * (2 * n * d + 2 * n), writeElements: tc * (n * d + 2 * n))
  }

  public static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic {
    ClosedFormTraffic(closedForm(sequenceLength: setting.n, headDimension: setting.d, blocks: setting.blocks))
  }

  /// A section is one outer iteration j: it ends with the store of the last m block.
  public static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String? {
    guard case let .store(t) = event, t.tensor.operand == .rowMax, t.rowRange.upperBound == setting.n else { return nil }
    let bc = setting.blocks.keyBlockSize
    let keys = index * bc..<min(setting.n, (index + 1) * bc)
    return "outer iteration j = \(index): K_j, V_j = keys \(keys.lowerBound)..<\(keys.upperBound) met every query block"
  }

  public static func minimumSteps(_ setting: KernelSetting) -> Int {
    let (n, blocks) = (setting.n, setting.blocks)
    return 2 * tileRequests(blocks: blocks, problem: setting.problem).count
      + blocks.keyBlockCount(n) * (2 + blocks.queryBlockCount(n) * 12)
  }

  /// The HBM tensors a forward run leaves behind.
  public struct Outputs: Sendable {
    public let output: HBMTensor
    public let rowSum: HBMTensor
    public let rowMax: HBMTensor
  }

  public static func output(of outputs: Outputs) -> HBMTensor { outputs.output }

  public static func run(on machine: inout Machine, _ inputs: HeadTensors, setting: KernelSetting) throws -> Outputs {
    try run(
      on: &machine, queries: inputs.queries, keys: inputs.keys, values: inputs.values, blocks: setting.blocks,
      problem: setting.problem, context: setting.context)
  }

  /// Runs Algorithm 1 for one head whose Q, K, V are already in `machine`'s HBM.
  ///
  /// - Parameter afterOuterIteration: called after each outer step j with the machine, so tests
  ///   can check the proof of Theorem 1 (after step j, HBM holds the softmax over the first j key
  ///   blocks).
  public static func run(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    blocks: BlockSizes, problem: AttentionProblem, context: HeadContext? = nil,
    afterOuterIteration: ((Int, Machine, Outputs) -> Void)? = nil
  ) throws -> Outputs {
    let setting = KernelSetting(problem: problem, blocks: blocks, spec: machine.spec, context: context)
    var sweep = try Sweep(on: &machine, HeadTensors(queries: q, keys: k, values: v), setting: setting)
    defer { sweep.release() }
    for j in 0..<blocks.keyBlockCount(q.rows) {
      try sweep.loadKeyBlock(j, on: &machine)
      try sweep.forEachQueryBlock(on: &machine) { machine, sweep, i in
        try sweep.attend(queryBlock: i, keyBlock: j, on: &machine)
      }
      afterOuterIteration?(j, machine, sweep.outputs)
    }
    sweep.free(on: &machine)
    return sweep.outputs
  }

  /// Algorithm 1's state for one head: its tiles and HBM outputs, and the inner body (lines
  /// 9–15) that block-sparse FlashAttention wraps with its own loops.
  struct Sweep {
    let inputs: HeadTensors
    let setting: KernelSetting
    let outputs: Outputs
    let tiles: Tiles<SRAMTile>
    /// Whether count mode may replay identical inner steps (no causal or padding mask).
    let replayable: Bool
    /// The CPU kernels read K_j transposed (d × Bc) for S = Q_i·K_jᵀ, as a GPU reads it from
    /// shared memory with a transposing load: transposed once per K_j, not once per Q_i. The
    /// copy is kernel scratch outside the simulated memory and changes no count.
    var keysTransposed: TransposedTileCache

    /// Line 2: O = 0, ℓ = 0, m = −∞ in HBM (placement, not counted as traffic), and the tiles.
    init(on machine: inout Machine, _ inputs: HeadTensors, setting: KernelSetting) throws {
      let (n, d) = (inputs.queries.rows, inputs.queries.columns)
      let problem = setting.problem
      self.inputs = inputs
      self.setting = setting
      outputs = Outputs(
        output: try machine.allocateTensor("O", operand: .output, rows: n, columns: d, elementType: problem.dataType),
        rowSum: try machine.allocateTensor("ℓ", operand: .rowSum, rows: n, columns: 1, elementType: problem.statisticsType),
        rowMax: try machine.allocateTensor(
          "m", operand: .rowMax, rows: n, columns: 1, elementType: problem.statisticsType, fill: -.infinity))
      tiles = try tilePlan(blocks: setting.blocks, problem: problem).map { try machine.allocate($0) }
      keysTransposed = TransposedTileCache(rows: setting.blocks.keyBlockSize, columns: d, enabled: machine.executes)
      replayable = machine.canReplay && !setting.context.causal && setting.context.validKeys == n
    }

    mutating func release() { keysTransposed.deallocate() }

    func free(on machine: inout Machine) { machine.free(tiles.all) }

    func keyRows(_ j: Int) -> Range<Int> {
      let bc = setting.blocks.keyBlockSize
      return j * bc..<min(inputs.queries.rows, (j + 1) * bc)
    }

    /// Line 6: load K_j, V_j.
    func loadKeyBlock(_ j: Int, on machine: inout Machine) throws {
      try machine.load(inputs.keys, rows: keyRows(j), into: tiles.keys)
      try machine.load(inputs.values, rows: keyRows(j), into: tiles.values)
    }

    /// Runs `step` for the query blocks `selected` keeps (every block when nil), in order. Count
    /// mode: the full query blocks of a head without causal or padding masks are the same step
    /// (only their rows differ, and counts are sums), so the first one kept is stepped and the
    /// others kept are counted from its ledger change.
    mutating func forEachQueryBlock(
      on machine: inout Machine, where selected: ((Int) -> Bool)? = nil, _ step: (inout Machine, inout Sweep, Int) throws -> Void
    ) throws {
      let n = inputs.queries.rows
      let tr = setting.blocks.queryBlockCount(n)
      let fullBlocks = replayable ? n / setting.blocks.queryBlockSize : 0
      var firstChange: IOLedger?
      var repeats = 0
      for i in 0..<fullBlocks where selected?(i) ?? true {
        guard firstChange == nil else {
          if selected == nil {
            repeats = fullBlocks - 1
            break
          }
          repeats += 1
          continue
        }
        let before = machine.ledger
        try step(&machine, &self, i)
        firstChange = machine.ledger.subtracting(before)
      }
      if let firstChange { try machine.replay(firstChange, times: repeats) }
      for i in fullBlocks..<tr where selected?(i) ?? true { try step(&machine, &self, i) }
    }

    /// Lines 8–15 for block (i, j): load Q_i, O_i, ℓ_i, m_i; update them with S_ij; store them.
    mutating func attend(queryBlock i: Int, keyBlock j: Int, on machine: inout Machine) throws {
      let n = inputs.queries.rows
      let d = inputs.queries.columns
      let (br, bc) = (setting.blocks.queryBlockSize, setting.blocks.keyBlockSize)
      let tau = setting.problem.softmaxScale
      let context = setting.context
      let tiles = tiles
      let keyRows = keyRows(j)
      let c = keyRows.count
      let queryRows = i * br..<min(n, (i + 1) * br)
      let r = queryRows.count
      try machine.load(inputs.queries, rows: queryRows, into: tiles.queries)
      try machine.load(outputs.output, rows: queryRows, into: tiles.output)
      try machine.load(outputs.rowSum, rows: queryRows, into: tiles.rowSum)
      try machine.load(outputs.rowMax, rows: queryRows, into: tiles.rowMax)

      machine.compute("S_ij = τ·Q_i·K_jᵀ", kind: .matmul, flops: 2 * r * c * d) { sram in
        let kT = keysTransposed.transposed(sram[tiles.keys], ld: d, rows: c, block: j)
        TileGEMM.multiply(
          a: sram[tiles.queries], lda: d, b: kT, ldb: bc, c: sram[tiles.scores], ldc: bc,
          rows: r, columns: c, depth: d, alpha: tau, accumulate: false)
      }
      applyMasks(on: &machine, tile: tiles.scores, context: context, rows: queryRows, columns: keyRows)
      machine.compute("m̃ = rowmax(S), P̃ = exp(S − m̃), ℓ̃ = rowsum(P̃)", kind: .other, flops: 4 * r * c) { sram in
        SoftmaxKernels.exponentiateAboveRowMax(
          sram[tiles.scores], ld: bc, rows: r, columns: c, rowMax: sram[tiles.blockMax], rowSum: sram[tiles.blockSum])
      }
      machine.compute("m_new, ℓ_new and the rescale factors", kind: .other, flops: OnlineSoftmax.updateFLOPsPerRow * r) { sram in
        OnlineSoftmax.update(
          rowMax: sram[tiles.rowMax], rowSum: sram[tiles.rowSum], blockMax: sram[tiles.blockMax], blockSum: sram[tiles.blockSum],
          outputFactor: sram[tiles.outputFactor], blockFactor: sram[tiles.blockFactor], rows: r)
      }
      // The rescaling by α and β is counted in this step and done in the next one: the CPU
      // product folds O_i ← α·O_i + β·(P̃·V_j) into its final stores (one pass, not three).
      // Dropout's row-independent multipliers commute with β.
      machine.compute("rescale O_i by α and P̃ by β (fused into the product below)", kind: .other, flops: r * d + r * c) { _ in }
      if context.dropout.isActive {
        machine.compute("P̃ ← dropout(P̃)", kind: .other, flops: r * c) { sram in
          context.dropout.apply(
            to: sram[tiles.scores], ld: bc, rows: r, columns: c, rowStart: queryRows.lowerBound, columnStart: keyRows.lowerBound)
        }
      }
      machine.compute("O_i ← α·O_i + β·P̃_ij·V_j", kind: .matmul, flops: 2 * r * c * d) { sram in
        TileGEMM.multiply(
          a: sram[tiles.scores], lda: bc, b: sram[tiles.values], ldb: d, c: sram[tiles.output], ldc: d,
          rows: r, columns: d, depth: c, rowScales: sram[tiles.blockFactor], outputScales: sram[tiles.outputFactor])
      }
      try machine.store(tiles.output, into: outputs.output, rows: queryRows)
      try machine.store(tiles.rowSum, into: outputs.rowSum, rows: queryRows)
      try machine.store(tiles.rowMax, into: outputs.rowMax, rows: queryRows)
    }
  }
}
