import MemoryHierarchy
import TileKernels

/// FlashAttention backward, the paper's Algorithm 4: S and P are recomputed block by block from
/// Q, K and the saved statistics m, ℓ instead of being read from HBM, the dropout mask is
/// regenerated from its counter-based generator, and D_i = rowsum(dO_i ∘ O_i) replaces the
/// length-N reduction of the softmax gradient.
///
/// ```
/// for j in 0..<Tc:                      load K_j, V_j                          (2·Bc·d)
///   dK̃_j = 0, dṼ_j = 0 on chip
///   for i in 0..<Tr:                    load Q_i, O_i, dO_i, dQ_i, ℓ_i, m_i    (4·Br·d + 2·Br)
///     S = mask(τ Q_i K_jᵀ);  P = diag(ℓ_i)⁻¹ exp(S − m_i);  Z = dropout keep multipliers
///     dṼ_j += (P∘Z)ᵀ dO_i;  dP = (dO_i V_jᵀ)∘Z;  D_i = rowsum(dO_i∘O_i);  dS = P∘(dP − D_i)
///     dQ_i += τ dS K_j;  store dQ_i                                              (Br·d)
///     dK̃_j += τ dSᵀ Q_i
///   store dK_j, dV_j                                                              (2·Bc·d)
/// ```
///
/// - Complexity: 10N²d matmul FLOPs (five block matmuls: the recomputed S, dV, dP, dQ, dK).
///   HBM traffic per head exactly 4Nd + T_c(5Nd + 2N) elements, T_c = ⌈N/Bc⌉: reads
///   2Nd + T_c(4Nd + 2N), writes 2Nd + T_c·Nd. Θ(N²d²/M) (Theorem 5). Initialising dQ = 0 in HBM
///   is not counted.
public enum FlashAttentionBackward: AttentionBackwardKernel {
  public typealias Forward = FlashAttentionForward
  public static let title = "FlashAttention backward (Algorithm 4)"
  public static let summary = "Algorithm 4: S and P recomputed per block; dK_j, dV_j accumulate on chip, dQ_i is read, updated and written back"
  public static let blockShape = AttentionSchedule.Shape.keyMajor

  /// The gradients a backward run leaves in HBM.
  public typealias Gradients = AttentionGradients

  /// The tiles Algorithm 4 keeps on chip at once.
  public struct Tiles<Tile> {
    /// K_j, V_j (Bc×d) and the accumulators dK̃_j, dṼ_j (Bc×d).
    public var keys: Tile
    public var values: Tile
    public var keyGradient: Tile
    public var valueGradient: Tile
    /// Q_i, O_i, dO_i, dQ_i (Br×d).
    public var queries: Tile
    public var output: Tile
    public var outputGradient: Tile
    public var queryGradient: Tile
    /// S_ij (holding S, then P) and dP_ij (holding P∘Z, then dP, then dS), Br×Bc.
    public var scores: Tile
    public var probabilitiesGradient: Tile
    /// m_i, ℓ_i, D_i = rowsum(dO_i∘O_i) and 1/ℓ_i.
    public var rowMax: Tile
    public var rowSum: Tile
    public var rowTerm: Tile
    public var inverseRowSum: Tile

    /// Every tile, in allocation order.
    public var all: [Tile] {
      [keys, values, keyGradient, valueGradient, queries, output, outputGradient, queryGradient, scores, probabilitiesGradient,
       rowMax, rowSum, rowTerm, inverseRowSum]
    }

    public func map<Other>(_ transform: (Tile) throws -> Other) rethrows -> Tiles<Other> {
      Tiles<Other>(
        keys: try transform(keys), values: try transform(values), keyGradient: try transform(keyGradient),
        valueGradient: try transform(valueGradient), queries: try transform(queries), output: try transform(output),
        outputGradient: try transform(outputGradient), queryGradient: try transform(queryGradient), scores: try transform(scores),
        probabilitiesGradient: try transform(probabilitiesGradient), rowMax: try transform(rowMax), rowSum: try transform(rowSum),
        rowTerm: try transform(rowTerm), inverseRowSum: try transform(inverseRowSum))
    }
  }

  /// The tiles Algorithm 4 keeps at once: K_j, V_j, dK_j, dV_j (Bc×d); Q_i, O_i, dO_i, dQ_i
  /// (Br×d); S_ij (holding S then P) and dP_ij (holding P∘Z, then dP, then dS), Br×Bc; m_i, ℓ_i,
  /// D_i and one per-row temporary in the statistics type.
  public static func tilePlan(blocks: BlockSizes, problem: AttentionProblem) -> Tiles<TileRequest> {
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let d = problem.headDimension
    let t = problem.dataType
    let s = problem.statisticsType
    return Tiles(
      keys: TileRequest("K_j", .key, rows: bc, columns: d, t),
      values: TileRequest("V_j", .value, rows: bc, columns: d, t),
      keyGradient: TileRequest("dK_j", .keyGradient, rows: bc, columns: d, t, level: .registers),
      valueGradient: TileRequest("dV_j", .valueGradient, rows: bc, columns: d, t, level: .registers),
      queries: TileRequest("Q_i", .query, rows: br, columns: d, t),
      output: TileRequest("O_i", .output, rows: br, columns: d, t),
      outputGradient: TileRequest("dO_i", .outputGradient, rows: br, columns: d, t),
      queryGradient: TileRequest("dQ_i", .queryGradient, rows: br, columns: d, t),
      scores: TileRequest("S_ij", .scores, rows: br, columns: bc, t, level: .registers),
      probabilitiesGradient: TileRequest("dP_ij", .probabilitiesGradient, rows: br, columns: bc, t, level: .registers),
      rowMax: TileRequest("m_i", .rowMax, rows: br, columns: 1, s, level: .registers),
      rowSum: TileRequest("ℓ_i", .rowSum, rows: br, columns: 1, s, level: .registers),
      rowTerm: TileRequest("D_i", .gradientRowTerm, rows: br, columns: 1, s, level: .registers),
      inverseRowSum: TileRequest("1/ℓ_i", .other, rows: br, columns: 1, s, level: .registers))
  }

  public static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    tilePlan(blocks: blocks, problem: problem).all
  }

  /// Exact HBM elements per head: reads 2Nd + T_c(4Nd + 2N), writes 2Nd + T_c·Nd.
  public static func closedForm(sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes) -> TrafficCount {
    let tc = blocks.keyBlockCount(n)
    return TrafficCount(readElements: 2 * n * d + tc * (4 * n * d + 2 * n), writeElements: 2 * n * d + tc * n * d)
  }

  public static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic {
    ClosedFormTraffic(closedForm(sequenceLength: setting.n, headDimension: setting.d, blocks: setting.blocks))
  }

  /// A section is one outer iteration j: it ends with the store of dV_j.
  public static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String? {
    guard case let .store(t) = event, t.tensor.operand == .valueGradient else { return nil }
    return "outer iteration j = \(index): dK_j, dV_j for keys \(t.rowRange.lowerBound)..<\(t.rowRange.upperBound) accumulated on chip over every query block and written once"
  }

  /// Allocating and freeing the tiles; per outer iteration, K_j, V_j in, dK_j, dV_j zeroed and
  /// out (5); per block, six loads, seven compute steps and the store of dQ_i (14).
  public static func minimumSteps(_ setting: KernelSetting) -> Int {
    let (n, blocks) = (setting.n, setting.blocks)
    return 2 * tileRequests(blocks: blocks, problem: setting.problem).count
      + blocks.keyBlockCount(n) * (5 + blocks.queryBlockCount(n) * 14)
  }

  public static func run(
    on machine: inout Machine, _ inputs: HeadTensors, forward: FlashAttentionForward.Outputs, setting: KernelSetting
  ) throws -> AttentionGradients {
    var sweep = try Sweep(on: &machine, inputs, forward: forward, setting: setting)
    defer { sweep.release() }
    for j in 0..<setting.blocks.keyBlockCount(inputs.queries.rows) {
      try sweep.beginKeyBlock(j, on: &machine)
      for i in 0..<setting.blocks.queryBlockCount(inputs.queries.rows) {
        try sweep.attend(queryBlock: i, keyBlock: j, on: &machine)
      }
      try sweep.endKeyBlock(j, on: &machine)
    }
    sweep.free(on: &machine)
    return sweep.gradients
  }

  /// Runs Algorithm 4 for one head. `forward` holds O, ℓ, m from Algorithm 1; `dO` is in HBM.
  public static func run(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    forward: FlashAttentionForward.Outputs, outputGradient dO: HBMTensor, blocks: BlockSizes,
    problem: AttentionProblem, context: HeadContext
  ) throws -> Gradients {
    try run(
      on: &machine, HeadTensors(queries: q, keys: k, values: v, outputGradient: dO), forward: forward,
      setting: KernelSetting(problem: problem, blocks: blocks, spec: machine.spec, context: context))
  }

  /// Algorithm 4's state for one head: its tiles, the gradients in HBM, and the inner body
  /// (lines 11–21) that block-sparse FlashAttention's backward wraps with its own loops.
  struct Sweep {
    let inputs: HeadTensors
    let outputGradient: HBMTensor
    let forward: FlashAttentionForward.Outputs
    let setting: KernelSetting
    let gradients: AttentionGradients
    let tiles: Tiles<SRAMTile>
    /// K_jᵀ and V_jᵀ for S = Q_i·K_jᵀ and dP = dO_i·V_jᵀ, transposed once per j (kernel
    /// scratch, not simulated memory; see `TransposedTileCache`).
    var keysTransposed: TransposedTileCache
    var valuesTransposed: TransposedTileCache

    /// Line 5: dQ = 0 in HBM (placement, not counted); dK and dV are written whole at the end.
    init(on machine: inout Machine, _ inputs: HeadTensors, forward: FlashAttentionForward.Outputs, setting: KernelSetting) throws {
      let (n, d) = (inputs.queries.rows, inputs.queries.columns)
      let t = setting.problem.dataType
      self.inputs = inputs
      outputGradient = try inputs.requireOutputGradient()
      self.forward = forward
      self.setting = setting
      gradients = AttentionGradients(
        queryGradient: try machine.allocateTensor("dQ", operand: .queryGradient, rows: n, columns: d, elementType: t),
        keyGradient: try machine.allocateTensor("dK", operand: .keyGradient, rows: n, columns: d, elementType: t),
        valueGradient: try machine.allocateTensor("dV", operand: .valueGradient, rows: n, columns: d, elementType: t))
      tiles = try tilePlan(blocks: setting.blocks, problem: setting.problem).map { try machine.allocate($0) }
      keysTransposed = TransposedTileCache(rows: setting.blocks.keyBlockSize, columns: d, enabled: machine.executes)
      valuesTransposed = TransposedTileCache(rows: setting.blocks.keyBlockSize, columns: d, enabled: machine.executes)
    }

    mutating func release() {
      keysTransposed.deallocate()
      valuesTransposed.deallocate()
    }

    func free(on machine: inout Machine) { machine.free(tiles.all) }

    func keyRows(_ j: Int) -> Range<Int> {
      let bc = setting.blocks.keyBlockSize
      return j * bc..<min(inputs.queries.rows, (j + 1) * bc)
    }

    /// Lines 6–7: load K_j, V_j; dK̃_j = 0, dṼ_j = 0 on chip.
    func beginKeyBlock(_ j: Int, on machine: inout Machine) throws {
      let tiles = tiles
      try machine.load(inputs.keys, rows: keyRows(j), into: tiles.keys)
      try machine.load(inputs.values, rows: keyRows(j), into: tiles.values)
      machine.compute("dK̃_j = 0, dṼ_j = 0", kind: .other, flops: 0) { sram in
        sram[tiles.keyGradient].update(repeating: 0, count: tiles.keyGradient.elementCount)
        sram[tiles.valueGradient].update(repeating: 0, count: tiles.valueGradient.elementCount)
      }
    }

    /// Line 24: store dK_j, dV_j.
    func endKeyBlock(_ j: Int, on machine: inout Machine) throws {
      try machine.store(tiles.keyGradient, into: gradients.keyGradient, rows: keyRows(j))
      try machine.store(tiles.valueGradient, into: gradients.valueGradient, rows: keyRows(j))
    }

    /// Lines 9–22 for block (i, j).
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
      try machine.load(forward.output, rows: queryRows, into: tiles.output)
      try machine.load(outputGradient, rows: queryRows, into: tiles.outputGradient)
      try machine.load(gradients.queryGradient, rows: queryRows, into: tiles.queryGradient)
      try machine.load(forward.rowSum, rows: queryRows, into: tiles.rowSum)
      try machine.load(forward.rowMax, rows: queryRows, into: tiles.rowMax)

      machine.compute("S_ij = τ·Q_i·K_jᵀ (recomputed)", kind: .matmul, flops: 2 * r * c * d) { sram in
        let kT = keysTransposed.transposed(sram[tiles.keys], ld: d, rows: c, block: j)
        TileGEMM.multiply(
          a: sram[tiles.queries], lda: d, b: kT, ldb: bc, c: sram[tiles.scores], ldc: bc,
          rows: r, columns: c, depth: d, alpha: tau, accumulate: false)
      }
      applyMasks(on: &machine, tile: tiles.scores, context: context, rows: queryRows, columns: keyRows)
      machine.compute("P_ij = diag(ℓ_i)⁻¹ exp(S_ij − m_i)", kind: .other, flops: 4 * r * c + r) { sram in
        for x in 0..<r { sram[tiles.inverseRowSum][x] = sram[tiles.rowSum][x] > 0 ? 1 / sram[tiles.rowSum][x] : 0 }
        SoftmaxKernels.exponentiateRows(
          sram[tiles.scores], ld: bc, rows: r, columns: c, rowMax: sram[tiles.rowMax], rowScale: sram[tiles.inverseRowSum])
      }
      // dṼ_j += (P∘Z)ᵀ dO_i, with P∘Z staged in the dP tile when dropout is on.
      var pz = tiles.scores
      if context.dropout.isActive {
        pz = tiles.probabilitiesGradient
        machine.compute("P∘Z (regenerated dropout)", kind: .other, flops: r * c) { sram in
          for x in 0..<r { (sram[tiles.probabilitiesGradient] + x * bc).update(from: sram[tiles.scores] + x * bc, count: c) }
          context.dropout.apply(
            to: sram[tiles.probabilitiesGradient], ld: bc, rows: r, columns: c, rowStart: queryRows.lowerBound,
            columnStart: keyRows.lowerBound)
        }
      }
      machine.compute("dṼ_j += (P∘Z)ᵀ·dO_i", kind: .matmul, flops: 2 * r * c * d) { sram in
        TileGEMM.multiplyTransposedA(
          a: sram[pz], lda: bc, b: sram[tiles.outputGradient], ldb: d, c: sram[tiles.valueGradient], ldc: d,
          rows: c, columns: d, depth: r, alpha: 1, accumulate: true)
      }
      machine.compute("dP_ij = dO_i·V_jᵀ", kind: .matmul, flops: 2 * r * c * d) { sram in
        let vT = valuesTransposed.transposed(sram[tiles.values], ld: d, rows: c, block: j)
        TileGEMM.multiply(
          a: sram[tiles.outputGradient], lda: d, b: vT, ldb: bc, c: sram[tiles.probabilitiesGradient], ldc: bc,
          rows: r, columns: c, depth: d, alpha: 1, accumulate: false)
      }
      if context.dropout.isActive {
        machine.compute("dP_ij ← dP_ij∘Z", kind: .other, flops: r * c) { sram in
          context.dropout.apply(
            to: sram[tiles.probabilitiesGradient], ld: bc, rows: r, columns: c, rowStart: queryRows.lowerBound,
            columnStart: keyRows.lowerBound)
        }
      }
      machine.compute("D_i = rowsum(dO_i∘O_i), dS_ij = P_ij∘(dP_ij − D_i)", kind: .other, flops: 2 * r * d + 2 * r * c) { sram in
        RowReductions.rowDot(sram[tiles.outputGradient], lda: d, sram[tiles.output], ldb: d, rows: r, columns: d, into: sram[tiles.rowTerm])
        SoftmaxKernels.softmaxGradient(
          p: sram[tiles.scores], ldp: bc, dp: sram[tiles.probabilitiesGradient], lddp: bc, rows: r, columns: c,
          rowTerms: sram[tiles.rowTerm])
      }
      machine.compute("dQ_i += τ·dS_ij·K_j", kind: .matmul, flops: 2 * r * c * d) { sram in
        TileGEMM.multiply(
          a: sram[tiles.probabilitiesGradient], lda: bc, b: sram[tiles.keys], ldb: d, c: sram[tiles.queryGradient], ldc: d,
          rows: r, columns: d, depth: c, alpha: tau, accumulate: true)
      }
      try machine.store(tiles.queryGradient, into: gradients.queryGradient, rows: queryRows)
      machine.compute("dK̃_j += τ·dS_ijᵀ·Q_i", kind: .matmul, flops: 2 * r * c * d) { sram in
        TileGEMM.multiplyTransposedA(
          a: sram[tiles.probabilitiesGradient], lda: bc, b: sram[tiles.queries], ldb: d, c: sram[tiles.keyGradient], ldc: d,
          rows: c, columns: d, depth: r, alpha: tau, accumulate: true)
      }
    }
  }
}
