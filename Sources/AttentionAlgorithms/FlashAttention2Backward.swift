import MemoryHierarchy
import TileKernels

/// FlashAttention-2 backward (FlashAttention-2 §3.1.2, Algorithm 2): D = rowsum(dO∘O) is
/// precomputed once and written to HBM, then the outer loop over key blocks keeps dK_j and dV_j
/// on chip while the inner loop recomputes P = exp(S − L) from the logsumexp alone.
///
/// ```
/// for i in 0..<Tr: load O_i, dO_i; D_i = rowsum(dO_i∘O_i); store D_i      (2·Br·d reads, Br writes)
/// for j in 0..<Tc:                        load K_j, V_j; dK_j = dV_j = 0 on chip
///   for i in 0..<Tr (not causally empty): load Q_i, dO_i, dQ_i, L_i, D_i  (3·Br·d + 2·Br)
///     S = mask(τ Q_i K_jᵀ);  P = exp(S − L_i);  dV_j += (P∘Z)ᵀ dO_i
///     dP = (dO_i V_jᵀ)∘Z;  dS = P∘(dP − D_i)
///     dQ_i += τ dS K_j;  store dQ_i (read-modify-write)                    (Br·d)
///     dK_j += τ dSᵀ Q_i
///   store dK_j, dV_j                                                        (2·Bc·d)
/// ```
///
/// dQ is accumulated in HBM by **read-modify-write**: each visited block loads dQ_i, adds its
/// contribution and stores it, as the sequential form of FlashAttention-2's Algorithm 2 does. The
/// parallel kernel uses atomic adds instead, which move the same bytes (an atomic add reads and
/// writes the element at the memory side). Algorithm 2 also lists O_i among the inner loads; once D
/// is precomputed O_i is not used, so it is not loaded here.
///
/// - Complexity: 10N²d matmul FLOPs (about half with a causal mask). HBM traffic per head, exactly,
///   without a causal mask: reads 4Nd + T_c(3Nd + 2N), writes N + 2Nd + T_c·Nd; with one, the
///   T_c terms become sums over the visited blocks.
public enum FlashAttention2Backward: AttentionBackwardKernel {
  public typealias Forward = FlashAttention2Forward
  public static let title = "FlashAttention-2 backward"
  public static let summary = "D = rowsum(dO∘O) precomputed, then one outer iteration per key block; dQ_i read, updated and written back"
  public static let blockShape = AttentionSchedule.Shape.keyMajor
  public static let workDecomposition = WorkDecomposition.section

  /// The tiles of the main loop, kept on chip at once.
  public struct Tiles<Tile> {
    /// K_j, V_j (Bc×d) and the accumulators dK_j, dV_j (Bc×d).
    public var keys: Tile
    public var values: Tile
    public var keyGradient: Tile
    public var valueGradient: Tile
    /// Q_i, dO_i, dQ_i (Br×d).
    public var queries: Tile
    public var outputGradient: Tile
    public var queryGradient: Tile
    /// S_ij (holding S, then P) and dP_ij (holding P∘Z, then dP, then dS), Br×Bc.
    public var scores: Tile
    public var probabilitiesGradient: Tile
    /// L_i, D_i and a row-sum scratch.
    public var logSumExp: Tile
    public var rowTerm: Tile
    public var rowSum: Tile

    /// Every tile, in allocation order.
    public var all: [Tile] { [keys, values, keyGradient, valueGradient, queries, outputGradient, queryGradient, scores, probabilitiesGradient, logSumExp, rowTerm, rowSum] }

    public func map<Other>(_ transform: (Tile) throws -> Other) rethrows -> Tiles<Other> {
      Tiles<Other>(
        keys: try transform(keys), values: try transform(values), keyGradient: try transform(keyGradient), valueGradient: try transform(valueGradient), queries: try transform(queries), outputGradient: try transform(outputGradient), queryGradient: try transform(queryGradient), scores: try transform(scores), probabilitiesGradient: try transform(probabilitiesGradient), logSumExp: try transform(logSumExp), rowTerm: try transform(rowTerm), rowSum: try transform(rowSum))
    }
  }

  /// The tiles of the D = rowsum(dO∘O) precompute.
  public struct RowTermTiles<Tile> {
    /// O_i, dO_i (Br×d) and D_i.
    public var output: Tile
    public var outputGradient: Tile
    public var rowTerm: Tile

    /// Every tile, in allocation order.
    public var all: [Tile] { [output, outputGradient, rowTerm] }

    public func map<Other>(_ transform: (Tile) throws -> Other) rethrows -> RowTermTiles<Other> {
      RowTermTiles<Other>(
        output: try transform(output), outputGradient: try transform(outputGradient), rowTerm: try transform(rowTerm))
    }
  }

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
      outputGradient: TileRequest("dO_i", .outputGradient, rows: br, columns: d, t),
      queryGradient: TileRequest("dQ_i", .queryGradient, rows: br, columns: d, t),
      scores: TileRequest("S_ij", .scores, rows: br, columns: bc, t, level: .registers),
      probabilitiesGradient: TileRequest("dP_ij", .probabilitiesGradient, rows: br, columns: bc, t, level: .registers),
      logSumExp: TileRequest("L_i", .logSumExp, rows: br, columns: 1, s, level: .registers),
      rowTerm: TileRequest("D_i", .gradientRowTerm, rows: br, columns: 1, s, level: .registers),
      rowSum: TileRequest("rowsum", .other, rows: br, columns: 1, s, level: .registers))
  }

  /// The precompute's tiles: O_i, dO_i (Br×d) and D_i.
  public static func rowTermPlan(blocks: BlockSizes, problem: AttentionProblem) -> RowTermTiles<TileRequest> {
    let (br, d, t) = (blocks.queryBlockSize, problem.headDimension, problem.dataType)
    return RowTermTiles(
      output: TileRequest("O_i", .output, rows: br, columns: d, t),
      outputGradient: TileRequest("dO_i", .outputGradient, rows: br, columns: d, t),
      rowTerm: TileRequest("D_i", .gradientRowTerm, rows: br, columns: 1, problem.statisticsType, level: .registers))
  }

  /// The main loop's tiles (the larger plan, which block selection checks).
  public static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    tilePlan(blocks: blocks, problem: problem).all
  }

  public static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic {
    let form = closedForm(sequenceLength: setting.n, headDimension: setting.d, blocks: setting.blocks, causal: setting.problem.causal)
    return ClosedFormTraffic(form.traffic, skippedBlocks: form.skippedBlocks)
  }

  /// Sections: the D precompute (it ends with the store of the last D_i), then one outer
  /// iteration j per key block (it ends with the store of dV_j).
  public static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String? {
    guard case let .store(t) = event else { return nil }
    if t.tensor.operand == .gradientRowTerm, t.rowRange.upperBound == setting.n {
      return "D = rowsum(dO∘O) precomputed for every query block and written to HBM"
    }
    guard t.tensor.operand == .valueGradient else { return nil }
    return "outer iteration j = \(index - 1): dK_j, dV_j for keys \(t.rowRange.lowerBound)..<\(t.rowRange.upperBound) accumulated on chip and written once"
  }

  public static func minimumSteps(_ setting: KernelSetting) -> Int {
    let (n, blocks) = (setting.n, setting.blocks)
    return 2 * tileRequests(blocks: blocks, problem: setting.problem).count + blocks.queryBlockCount(n) * 4
      + blocks.keyBlockCount(n) * 5
  }

  public static func run(
    on machine: inout Machine, _ inputs: HeadTensors, forward: FlashAttention2Forward.Outputs, setting: KernelSetting
  ) throws -> AttentionGradients {
    try run(
      on: &machine, queries: inputs.queries, keys: inputs.keys, values: inputs.values, forward: forward,
      outputGradient: try inputs.requireOutputGradient(), blocks: setting.blocks, problem: setting.problem, context: setting.context)
  }

  /// Exact HBM elements per head, and the number of skipped blocks.
  public static func closedForm(sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, causal: Bool) -> (traffic: TrafficCount, skippedBlocks: Int) {
    let (_, queryRows, skipped) = FlashAttention2Forward.visitedTotals(sequenceLength: n, blocks: blocks, causal: causal)
    // D precompute: O and dO read, D written. Main loop: K, V once; Q, dO, dQ, L, D per visited
    // block; dQ written per visited block; dK, dV written once.
    return (TrafficCount(
      readElements: 2 * n * d + 2 * n * d + queryRows * (3 * d + 2),
      writeElements: n + queryRows * d + 2 * n * d), skipped)
  }

  public static func run(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    forward: FlashAttention2Forward.Outputs, outputGradient dO: HBMTensor, blocks: BlockSizes,
    problem: AttentionProblem, context: HeadContext
  ) throws -> AttentionGradients {
    let n = q.rows
    let d = q.columns
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let tau = problem.softmaxScale
    let t = problem.dataType
    let rowTerm = try machine.allocateTensor("D", operand: .gradientRowTerm, rows: n, columns: 1, elementType: problem.statisticsType)
    let gradients = AttentionGradients(
      queryGradient: try machine.allocateTensor("dQ", operand: .queryGradient, rows: n, columns: d, elementType: t),
      keyGradient: try machine.allocateTensor("dK", operand: .keyGradient, rows: n, columns: d, elementType: t),
      valueGradient: try machine.allocateTensor("dV", operand: .valueGradient, rows: n, columns: d, elementType: t))

    // D = rowsum(dO∘O), once.
    let precompute = try rowTermPlan(blocks: blocks, problem: problem).map { try machine.allocate($0) }
    for i in 0..<blocks.queryBlockCount(n) {
      let rows = i * br..<min(n, (i + 1) * br)
      let (o, g, dt) = (precompute.output, precompute.outputGradient, precompute.rowTerm)
      try machine.load(forward.output, rows: rows, into: o)
      try machine.load(dO, rows: rows, into: g)
      machine.compute("D_i = rowsum(dO_i∘O_i)", kind: .other, flops: 2 * rows.count * d) { sram in
        RowReductions.rowDot(sram[g], lda: d, sram[o], ldb: d, rows: rows.count, columns: d, into: sram[dt])
      }
      try machine.store(dt, into: rowTerm, rows: rows)
    }
    machine.free(precompute.all)

    let tiles = try tilePlan(blocks: blocks, problem: problem).map { try machine.allocate($0) }
    let (kj, vj, dkj, dvj) = (tiles.keys, tiles.values, tiles.keyGradient, tiles.valueGradient)
    let (qi, doi, dqi) = (tiles.queries, tiles.outputGradient, tiles.queryGradient)
    let (sij, dpij, li, di, sums) = (tiles.scores, tiles.probabilitiesGradient, tiles.logSumExp, tiles.rowTerm, tiles.rowSum)
    for j in 0..<blocks.keyBlockCount(n) {
      let keyRows = j * bc..<min(n, (j + 1) * bc)
      let c = keyRows.count
      try machine.load(k, rows: keyRows, into: kj)
      try machine.load(v, rows: keyRows, into: vj)
      machine.compute("dK_j = 0, dV_j = 0", kind: .other, flops: 0) { sram in
        sram[dkj].update(repeating: 0, count: dkj.elementCount)
        sram[dvj].update(repeating: 0, count: dvj.elementCount)
      }
      for i in 0..<blocks.queryBlockCount(n) {
        let queryRows = i * br..<min(n, (i + 1) * br)
        let r = queryRows.count
        if context.isCausallyEmpty(rowStart: queryRows.lowerBound, rows: r, columnStart: keyRows.lowerBound) { continue }
        try machine.load(q, rows: queryRows, into: qi)
        try machine.load(dO, rows: queryRows, into: doi)
        try machine.load(gradients.queryGradient, rows: queryRows, into: dqi)
        try machine.load(forward.logSumExp, rows: queryRows, into: li)
        try machine.load(rowTerm, rows: queryRows, into: di)
        machine.compute("S_ij = τ·Q_i·K_jᵀ (recomputed)", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiplyTransposedB(
            a: sram[qi], lda: d, b: sram[kj], ldb: d, c: sram[sij], ldc: bc, rows: r, columns: c, depth: d, alpha: tau, accumulate: false)
        }
        applyMasks(on: &machine, tile: sij, context: context, rows: queryRows, columns: keyRows)
        machine.compute("P_ij = exp(S_ij − L_i)", kind: .other, flops: 3 * r * c) { sram in
          SoftmaxKernels.exponentiateRows(sram[sij], ld: bc, rows: r, columns: c, rowMax: sram[li], rowSum: sram[sums])
        }
        var pz = sij
        if context.dropout.isActive {
          pz = dpij
          machine.compute("P∘Z (regenerated dropout)", kind: .other, flops: r * c) { sram in
            for x in 0..<r { (sram[dpij] + x * bc).update(from: sram[sij] + x * bc, count: c) }
            context.dropout.apply(to: sram[dpij], ld: bc, rows: r, columns: c, rowStart: queryRows.lowerBound, columnStart: keyRows.lowerBound)
          }
        }
        machine.compute("dV_j += (P∘Z)ᵀ·dO_i", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiplyTransposedA(
            a: sram[pz], lda: bc, b: sram[doi], ldb: d, c: sram[dvj], ldc: d, rows: c, columns: d, depth: r, alpha: 1, accumulate: true)
        }
        machine.compute("dP_ij = dO_i·V_jᵀ", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiplyTransposedB(
            a: sram[doi], lda: d, b: sram[vj], ldb: d, c: sram[dpij], ldc: bc, rows: r, columns: c, depth: d, alpha: 1, accumulate: false)
        }
        if context.dropout.isActive {
          machine.compute("dP_ij ← dP_ij∘Z", kind: .other, flops: r * c) { sram in
            context.dropout.apply(to: sram[dpij], ld: bc, rows: r, columns: c, rowStart: queryRows.lowerBound, columnStart: keyRows.lowerBound)
          }
        }
        machine.compute("dS_ij = P_ij∘(dP_ij − D_i)", kind: .other, flops: 2 * r * c) { sram in
          SoftmaxKernels.softmaxGradient(p: sram[sij], ldp: bc, dp: sram[dpij], lddp: bc, rows: r, columns: c, rowTerms: sram[di])
        }
        machine.compute("dQ_i += τ·dS_ij·K_j", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiply(
            a: sram[dpij], lda: bc, b: sram[kj], ldb: d, c: sram[dqi], ldc: d, rows: r, columns: d, depth: c, alpha: tau, accumulate: true)
        }
        try machine.store(dqi, into: gradients.queryGradient, rows: queryRows)
        machine.compute("dK_j += τ·dS_ijᵀ·Q_i", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiplyTransposedA(
            a: sram[dpij], lda: bc, b: sram[qi], ldb: d, c: sram[dkj], ldc: d, rows: c, columns: d, depth: r, alpha: tau, accumulate: true)
        }
      }
      try machine.store(dkj, into: gradients.keyGradient, rows: keyRows)
      try machine.store(dvj, into: gradients.valueGradient, rows: keyRows)
    }
    machine.free(tiles.all)
    return gradients
  }
}
