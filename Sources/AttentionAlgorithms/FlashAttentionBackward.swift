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
public enum FlashAttentionBackward {
  /// The tiles Algorithm 4 keeps at once: K_j, V_j, dK_j, dV_j (Bc×d); Q_i, O_i, dO_i, dQ_i
  /// (Br×d); S_ij (holding S then P) and dP_ij (holding P∘Z, then dP, then dS), Br×Bc; m_i, ℓ_i,
  /// D_i and one per-row temporary in the statistics type.
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
      TileRequest("O_i", .output, rows: br, columns: d, t),
      TileRequest("dO_i", .outputGradient, rows: br, columns: d, t),
      TileRequest("dQ_i", .queryGradient, rows: br, columns: d, t),
      TileRequest("S_ij", .scores, rows: br, columns: bc, t, level: .registers),
      TileRequest("dP_ij", .probabilitiesGradient, rows: br, columns: bc, t, level: .registers),
      TileRequest("m_i", .rowMax, rows: br, columns: 1, s, level: .registers),
      TileRequest("ℓ_i", .rowSum, rows: br, columns: 1, s, level: .registers),
      TileRequest("D_i", .gradientRowTerm, rows: br, columns: 1, s, level: .registers),
      TileRequest("1/ℓ_i", .other, rows: br, columns: 1, s, level: .registers),
    ]
  }

  /// Exact HBM elements per head: reads 2Nd + T_c(4Nd + 2N), writes 2Nd + T_c·Nd.
  public static func closedForm(sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes) -> TrafficCount {
    let tc = blocks.keyBlockCount(n)
    return TrafficCount(readElements: 2 * n * d + tc * (4 * n * d + 2 * n), writeElements: 2 * n * d + tc * n * d)
  }

  /// The gradients a backward run leaves in HBM.
  public struct Gradients: Sendable {
    public let queryGradient: HBMTensor
    public let keyGradient: HBMTensor
    public let valueGradient: HBMTensor
  }

  /// Runs Algorithm 4 for one head. `forward` holds O, ℓ, m from Algorithm 1; `dO` is in HBM.
  /// With a `blockMask`, the block-sparse backward: the inner body runs only for nonzero blocks.
  public static func run(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    forward: FlashAttentionForward.Outputs, outputGradient dO: HBMTensor, blocks: BlockSizes,
    problem: AttentionProblem, context: HeadContext, blockMask: BlockMask? = nil, skipEmptyColumns: Bool = false
  ) throws -> Gradients {
    let n = q.rows
    let d = q.columns
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let tau = problem.softmaxScale
    // Line 5: dQ = 0 in HBM (placement, not counted); dK and dV are written whole at the end.
    let gradients = Gradients(
      queryGradient: try machine.allocateTensor("dQ", operand: .queryGradient, rows: n, columns: d, elementType: problem.dataType),
      keyGradient: try machine.allocateTensor("dK", operand: .keyGradient, rows: n, columns: d, elementType: problem.dataType),
      valueGradient: try machine.allocateTensor("dV", operand: .valueGradient, rows: n, columns: d, elementType: problem.dataType))

    let tiles = try machine.allocate(tilePlan(blocks: blocks, problem: problem))
    let (kj, vj, dkj, dvj, qi, oi, doi, dqi) = (tiles[0], tiles[1], tiles[2], tiles[3], tiles[4], tiles[5], tiles[6], tiles[7])
    let (sij, dpij, mi, li, di, inverse) = (tiles[8], tiles[9], tiles[10], tiles[11], tiles[12], tiles[13])
    // K_jᵀ and V_jᵀ for S = Q_i·K_jᵀ and dP = dO_i·V_jᵀ, transposed once per j (kernel scratch,
    // not simulated memory; see `TransposedTileCache`).
    var keysTransposed = TransposedTileCache(rows: bc, columns: d, enabled: machine.executes)
    var valuesTransposed = TransposedTileCache(rows: bc, columns: d, enabled: machine.executes)
    defer {
      keysTransposed.deallocate()
      valuesTransposed.deallocate()
    }

    for j in 0..<blocks.keyBlockCount(n) {
      let keyRows = j * bc..<min(n, (j + 1) * bc)
      let c = keyRows.count
      // Block-sparse with skipping: an empty column's dK_j, dV_j stay at their initial 0.
      if let blockMask, skipEmptyColumns, blockMask.isColumnEmpty(j) { continue }
      try machine.load(k, rows: keyRows, into: kj)
      try machine.load(v, rows: keyRows, into: vj)
      machine.compute("dK̃_j = 0, dṼ_j = 0", kind: .other, flops: 0) { sram in
        sram[dkj].update(repeating: 0, count: dkj.elementCount)
        sram[dvj].update(repeating: 0, count: dvj.elementCount)
      }
      for i in 0..<blocks.queryBlockCount(n) {
        if let blockMask, !blockMask[i, j] { continue }
        let queryRows = i * br..<min(n, (i + 1) * br)
        let r = queryRows.count
        try machine.load(q, rows: queryRows, into: qi)
        try machine.load(forward.output, rows: queryRows, into: oi)
        try machine.load(dO, rows: queryRows, into: doi)
        try machine.load(gradients.queryGradient, rows: queryRows, into: dqi)
        try machine.load(forward.rowSum, rows: queryRows, into: li)
        try machine.load(forward.rowMax, rows: queryRows, into: mi)

        machine.compute("S_ij = τ·Q_i·K_jᵀ (recomputed)", kind: .matmul, flops: 2 * r * c * d) { sram in
          let kT = keysTransposed.transposed(sram[kj], ld: d, rows: c, block: j)
          TileGEMM.multiply(
            a: sram[qi], lda: d, b: kT, ldb: bc, c: sram[sij], ldc: bc,
            rows: r, columns: c, depth: d, alpha: tau, accumulate: false)
        }
        applyMasks(on: &machine, tile: sij, context: context, rows: queryRows, columns: keyRows)
        machine.compute("P_ij = diag(ℓ_i)⁻¹ exp(S_ij − m_i)", kind: .other, flops: 4 * r * c + r) { sram in
          for x in 0..<r { sram[inverse][x] = sram[li][x] > 0 ? 1 / sram[li][x] : 0 }
          SoftmaxKernels.exponentiateRows(sram[sij], ld: bc, rows: r, columns: c, rowMax: sram[mi], rowScale: sram[inverse])
        }
        // dṼ_j += (P∘Z)ᵀ dO_i, with P∘Z staged in the dP tile when dropout is on.
        var pz = sij
        if context.dropout.isActive {
          pz = dpij
          machine.compute("P∘Z (regenerated dropout)", kind: .other, flops: r * c) { sram in
            for x in 0..<r { (sram[dpij] + x * bc).update(from: sram[sij] + x * bc, count: c) }
            context.dropout.apply(to: sram[dpij], ld: bc, rows: r, columns: c, rowStart: queryRows.lowerBound, columnStart: keyRows.lowerBound)
          }
        }
        machine.compute("dṼ_j += (P∘Z)ᵀ·dO_i", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiplyTransposedA(
            a: sram[pz], lda: bc, b: sram[doi], ldb: d, c: sram[dvj], ldc: d,
            rows: c, columns: d, depth: r, alpha: 1, accumulate: true)
        }
        machine.compute("dP_ij = dO_i·V_jᵀ", kind: .matmul, flops: 2 * r * c * d) { sram in
          let vT = valuesTransposed.transposed(sram[vj], ld: d, rows: c, block: j)
          TileGEMM.multiply(
            a: sram[doi], lda: d, b: vT, ldb: bc, c: sram[dpij], ldc: bc,
            rows: r, columns: c, depth: d, alpha: 1, accumulate: false)
        }
        if context.dropout.isActive {
          machine.compute("dP_ij ← dP_ij∘Z", kind: .other, flops: r * c) { sram in
            context.dropout.apply(to: sram[dpij], ld: bc, rows: r, columns: c, rowStart: queryRows.lowerBound, columnStart: keyRows.lowerBound)
          }
        }
        machine.compute("D_i = rowsum(dO_i∘O_i), dS_ij = P_ij∘(dP_ij − D_i)", kind: .other, flops: 2 * r * d + 2 * r * c) { sram in
          RowReductions.rowDot(sram[doi], lda: d, sram[oi], ldb: d, rows: r, columns: d, into: sram[di])
          SoftmaxKernels.softmaxGradient(p: sram[sij], ldp: bc, dp: sram[dpij], lddp: bc, rows: r, columns: c, rowTerms: sram[di])
        }
        machine.compute("dQ_i += τ·dS_ij·K_j", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiply(
            a: sram[dpij], lda: bc, b: sram[kj], ldb: d, c: sram[dqi], ldc: d,
            rows: r, columns: d, depth: c, alpha: tau, accumulate: true)
        }
        try machine.store(dqi, into: gradients.queryGradient, rows: queryRows)
        machine.compute("dK̃_j += τ·dS_ijᵀ·Q_i", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiplyTransposedA(
            a: sram[dpij], lda: bc, b: sram[qi], ldb: d, c: sram[dkj], ldc: d,
            rows: c, columns: d, depth: r, alpha: tau, accumulate: true)
        }
      }
      try machine.store(dkj, into: gradients.keyGradient, rows: keyRows)
      try machine.store(dvj, into: gradients.valueGradient, rows: keyRows)
    }
    machine.free(tiles)
    return gradients
  }
}
