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
public enum FlashAttention2Backward {
  public static func tilePlan(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let d = problem.headDimension
    let t = problem.dataType
    let s = problem.statisticsType
    return [
      TileRequest("K_j", .key, rows: bc, columns: d, t),
      TileRequest("V_j", .value, rows: bc, columns: d, t),
      TileRequest("dK_j", .keyGradient, rows: bc, columns: d, t, level: .registers),
      TileRequest("dV_j", .valueGradient, rows: bc, columns: d, t, level: .registers),
      TileRequest("Q_i", .query, rows: br, columns: d, t),
      TileRequest("dO_i", .outputGradient, rows: br, columns: d, t),
      TileRequest("dQ_i", .queryGradient, rows: br, columns: d, t),
      TileRequest("S_ij", .scores, rows: br, columns: bc, t, level: .registers),
      TileRequest("dP_ij", .probabilitiesGradient, rows: br, columns: bc, t, level: .registers),
      TileRequest("L_i", .logSumExp, rows: br, columns: 1, s, level: .registers),
      TileRequest("D_i", .gradientRowTerm, rows: br, columns: 1, s, level: .registers),
      TileRequest("rowsum", .other, rows: br, columns: 1, s, level: .registers),
    ]
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
  ) throws -> FlashAttentionBackward.Gradients {
    let n = q.rows
    let d = q.columns
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let tau = problem.softmaxScale
    let t = problem.dataType
    let rowTerm = try machine.allocateTensor("D", operand: .gradientRowTerm, rows: n, columns: 1, elementType: problem.statisticsType)
    let gradients = FlashAttentionBackward.Gradients(
      queryGradient: try machine.allocateTensor("dQ", operand: .queryGradient, rows: n, columns: d, elementType: t),
      keyGradient: try machine.allocateTensor("dK", operand: .keyGradient, rows: n, columns: d, elementType: t),
      valueGradient: try machine.allocateTensor("dV", operand: .valueGradient, rows: n, columns: d, elementType: t))

    // D = rowsum(dO∘O), once.
    var tiles = try machine.allocate([
      TileRequest("O_i", .output, rows: br, columns: d, t),
      TileRequest("dO_i", .outputGradient, rows: br, columns: d, t),
      TileRequest("D_i", .gradientRowTerm, rows: br, columns: 1, problem.statisticsType, level: .registers),
    ])
    for i in 0..<blocks.queryBlockCount(n) {
      let rows = i * br..<min(n, (i + 1) * br)
      try machine.load(forward.output, rows: rows, into: tiles[0])
      try machine.load(dO, rows: rows, into: tiles[1])
      let (o, g, dt) = (tiles[0], tiles[1], tiles[2])
      machine.compute("D_i = rowsum(dO_i∘O_i)", kind: .other, flops: 2 * rows.count * d) { sram in
        RowReductions.rowDot(sram[g], lda: d, sram[o], ldb: d, rows: rows.count, columns: d, into: sram[dt])
      }
      try machine.store(tiles[2], into: rowTerm, rows: rows)
    }
    machine.free(tiles)

    tiles = try machine.allocate(tilePlan(blocks: blocks, problem: problem))
    let (kj, vj, dkj, dvj, qi, doi, dqi) = (tiles[0], tiles[1], tiles[2], tiles[3], tiles[4], tiles[5], tiles[6])
    let (sij, dpij, li, di, sums) = (tiles[7], tiles[8], tiles[9], tiles[10], tiles[11])
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
    machine.free(tiles)
    return gradients
  }
}
