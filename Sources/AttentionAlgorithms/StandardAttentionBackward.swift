import MemoryHierarchy
import TileKernels

/// Standard attention backward, the paper's Algorithm 3 (with dropout), each N×N matrix written to
/// and read from HBM, its matmuls tiled like the forward's:
///
/// ```
/// 1. dV = (P∘Z)ᵀ dO          for j: dV_j = 0; for i: load P_ij (Z_ij), dO_i; dV_j += P_ijᵀ dO_i; store dV_j
/// 2. dP = (dO Vᵀ)∘Z          for i: load dO_i; for j: load V_j (Z_ij); dP_ij = dO_i V_jᵀ; store dP_ij
/// 3. dS = P∘(dP − rowsum(P∘dP))   for each chunk of rows: load P, dP rows; store dS rows
///                            (two passes, D then dS, when a row of P and dP does not fit)
/// 4. dQ = τ·dS K             for i: dQ_i = 0; for j: load dS_ij, K_j; dQ_i += dS_ij K_j; store dQ_i
/// 5. dK = τ·dSᵀ Q            for j: dK_j = 0; for i: load dS_ij, Q_i; dK_j += dS_ijᵀ Q_i; store dK_j
/// ```
///
/// - Complexity: 8N²d matmul FLOPs. HBM traffic per head, exactly, with T_r = ⌈N/Br⌉ and
///   T_c = ⌈N/Bc⌉: writes 2N² + 3Nd; reads 5N² + Nd + 2·T_r·Nd + 2·T_c·Nd with a one-pass
///   softmax gradient (7N² + … with two passes); dropout adds 2N² mask reads. With T_r = T_c = 1
///   this is the paper's literal 7N² + 8Nd. Θ(Nd + N²) (Theorem 5).
public enum StandardAttentionBackward: Sendable {
  /// Rows of P and dP per chunk in phase 3 and the number of passes (nil when nothing fits).
  public static func gradientTiling(problem: AttentionProblem, capacityInBytes: Int) -> (rows: Int, columns: Int, passes: Int)? {
    let n = problem.sequenceLength
    let w = problem.dataType.byteWidth
    let s = problem.statisticsType.byteWidth
    if 2 * n * w + s <= capacityInBytes { return (min(n, capacityInBytes / (2 * n * w + s)), n, 1) }
    let columns = (capacityInBytes - s) / (2 * w)
    return columns >= 1 ? (1, columns, 2) : nil
  }

  /// Exact HBM elements per head (see the type's documentation).
  public static func closedForm(
    sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, gradientPasses: Int, dropout: Bool = false
  ) -> TrafficCount {
    let tr = blocks.queryBlockCount(n)
    let tc = blocks.keyBlockCount(n)
    return TrafficCount(
      readElements: (3 + 2 * gradientPasses) * n * n + n * d + 2 * tr * n * d + 2 * tc * n * d + (dropout ? 2 * n * n : 0),
      writeElements: 2 * n * n + 3 * n * d)
  }

  /// Runs Algorithm 3 for one head after `StandardAttentionForward.run`.
  public static func run(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    forward: StandardAttentionForward.Outputs, outputGradient dO: HBMTensor, blocks: BlockSizes,
    problem: AttentionProblem, context: HeadContext
  ) throws -> FlashAttentionBackward.Gradients {
    let n = q.rows
    let d = q.columns
    let tau = problem.softmaxScale
    let t = problem.dataType
    let dP = try machine.allocateTensor("dP", operand: .probabilitiesGradient, rows: n, columns: n, elementType: t)
    let dS = try machine.allocateTensor("dS", operand: .scoresGradient, rows: n, columns: n, elementType: t)
    let gradients = FlashAttentionBackward.Gradients(
      queryGradient: try machine.allocateTensor("dQ", operand: .queryGradient, rows: n, columns: d, elementType: t),
      keyGradient: try machine.allocateTensor("dK", operand: .keyGradient, rows: n, columns: d, elementType: t),
      valueGradient: try machine.allocateTensor("dV", operand: .valueGradient, rows: n, columns: d, elementType: t))
    let keepScale = context.dropout.keepScale
    func phase<R>(_ names: (String, String, String), _ operands: (Operand, Operand, Operand), _ body: (inout Machine, TiledMatmul.Tiles, SRAMTile?) throws -> R) throws -> R {
      let (tiles, flags, all) = try StandardAttentionForward.allocateMatmulTiles(&machine, blocks: blocks, problem: problem, names: names, operands: operands)
      defer { machine.free(all) }
      return try body(&machine, tiles, flags)
    }
    // 1. dV = (P∘Z)ᵀ dO.
    try phase(("P_ij", "dO_i", "dV_j"), (.probabilities, .outputGradient, .valueGradient)) { machine, tiles, flags in
      try TiledMatmul.columnsTimes(
        on: &machine, forward.probabilities, dO, into: gradients.valueGradient, alpha: 1, blocks: blocks, tiles: tiles,
        label: "dV_j += (P∘Z)_ijᵀ·dO_i", blockHook: TiledMatmul.keepFlags(forward.dropoutMask, flags: flags, keepScale: keepScale))
    }
    // 2. dP = (dO Vᵀ)∘Z.
    try phase(("dP_ij", "dO_i", "V_j"), (.probabilitiesGradient, .outputGradient, .value)) { machine, tiles, flags in
      try TiledMatmul.scores(
        on: &machine, dO, v, into: dP, alpha: 1, blocks: blocks, tiles: tiles, label: "dP_ij = dO_i·V_jᵀ",
        blockHook: TiledMatmul.keepFlags(forward.dropoutMask, flags: flags, keepScale: keepScale))
    }
    // 3. dS = P∘(dP − rowsum(P∘dP)).
    try softmaxGradient(on: &machine, probabilities: forward.probabilities, dP: dP, dS: dS, problem: problem)
    // 4. dQ = τ·dS K and 5. dK = τ·dSᵀ Q.
    try phase(("dS_ij", "dQ_i", "K_j"), (.scoresGradient, .queryGradient, .key)) { machine, tiles, _ in
      try TiledMatmul.rowsTimes(on: &machine, dS, k, into: gradients.queryGradient, alpha: tau, blocks: blocks, tiles: tiles, label: "dQ_i += τ·dS_ij·K_j")
    }
    try phase(("dS_ij", "Q_i", "dK_j"), (.scoresGradient, .query, .keyGradient)) { machine, tiles, _ in
      try TiledMatmul.columnsTimes(on: &machine, dS, q, into: gradients.keyGradient, alpha: tau, blocks: blocks, tiles: tiles, label: "dK_j += τ·dS_ijᵀ·Q_i")
    }
    return gradients
  }

  /// dS = P∘(dP − D), D = rowsum(P∘dP), by row chunks: 4 FLOPs per element.
  static func softmaxGradient(on machine: inout Machine, probabilities: HBMTensor, dP: HBMTensor, dS: HBMTensor, problem: AttentionProblem) throws {
    let n = probabilities.rows
    guard let tiling = gradientTiling(problem: problem, capacityInBytes: machine.spec.sramCapacityInBytes) else {
      throw AttentionError.noBlocksFit(
        minimumBytes: 2 * problem.dataType.byteWidth + problem.statisticsType.byteWidth,
        capacityBytes: machine.spec.sramCapacityInBytes, algorithm: "the softmax-gradient pass")
    }
    let pt = try machine.allocate(TileRequest("P_rows", .probabilities, rows: tiling.rows, columns: tiling.columns, problem.dataType))
    let dpt = try machine.allocate(TileRequest("dP_rows", .probabilitiesGradient, rows: tiling.rows, columns: tiling.columns, problem.dataType))
    let dt = try machine.allocate(TileRequest("D_rows", .gradientRowTerm, rows: tiling.rows, columns: 1, problem.statisticsType))
    let ld = pt.columns
    var row = 0
    while row < n {
      let rows = row..<min(n, row + tiling.rows)
      let r = rows.count
      if tiling.passes == 1 {
        try machine.load(probabilities, rows: rows, into: pt)
        try machine.load(dP, rows: rows, into: dpt)
        machine.compute("dS = P∘(dP − rowsum(P∘dP))", kind: .other, flops: 4 * r * n) { sram in
          RowReductions.rowDot(sram[pt], lda: ld, sram[dpt], ldb: ld, rows: r, columns: n, into: sram[dt])
          SoftmaxKernels.softmaxGradient(p: sram[pt], ldp: ld, dp: sram[dpt], lddp: ld, rows: r, columns: n, rowTerms: sram[dt])
        }
        try machine.store(dpt, into: dS, rows: rows)
      } else {
        machine.compute("D = 0", kind: .other, flops: 0) { sram in sram[dt][0] = 0 }
        for pass in 1...2 {
          var column = 0
          while column < n {
            let columns = column..<min(n, column + ld)
            let c = columns.count
            try machine.load(probabilities, rows: rows, columns: columns, into: pt)
            try machine.load(dP, rows: rows, columns: columns, into: dpt)
            if pass == 1 {
              machine.compute("D += rowsum(P∘dP) of a chunk", kind: .other, flops: 2 * c) { sram in
                var part: Float = 0
                RowReductions.rowDot(sram[pt], lda: ld, sram[dpt], ldb: ld, rows: 1, columns: c, into: &part)
                sram[dt][0] += part
              }
            } else {
              machine.compute("dS chunk = P∘(dP − D)", kind: .other, flops: 2 * c) { sram in
                SoftmaxKernels.softmaxGradient(p: sram[pt], ldp: ld, dp: sram[dpt], lddp: ld, rows: 1, columns: c, rowTerms: sram[dt])
              }
              try machine.store(dpt, into: dS, rows: rows, columns: columns)
            }
            column += c
          }
        }
      }
      row += r
    }
    machine.free([pt, dpt, dt])
  }
}
