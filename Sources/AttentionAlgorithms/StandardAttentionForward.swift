import MemoryHierarchy
import TileKernels

/// Standard attention forward, the paper's Algorithm 0, with its matmuls tiled to fit the SRAM
/// as any real kernel must:
///
/// ```
/// 1. S = τ·QKᵀ   for i: load Q_i; for j: load K_j; S_ij = τ Q_i K_jᵀ; store S_ij
/// 2. P = softmax(S)  for each chunk of R rows: load S rows; softmax; store P rows
///    (a row that does not fit the SRAM is done in two passes: online max/sum, then normalise)
/// 3. O = PV      for i: O_i = 0; for j: load P_ij, V_j; O_i += P_ij V_j; store O_i
/// ```
///
/// - Complexity: 4N²d matmul FLOPs. HBM traffic per head, exactly, with T_r = ⌈N/Br⌉:
///   writes 2N² + Nd; reads 2N² + Nd + 2·T_r·Nd when a row of S fits the SRAM (one softmax
///   pass), 3N² + Nd + 2·T_r·Nd otherwise. With T_r = 1 (all of Q in one block) the total is
///   the paper's literal 4N² + 4Nd. Θ(Nd + N²) either way, independent of M (Theorem 2).
public enum StandardAttentionForward {
  /// Phases 1 and 3 keep one Q (or O) block, one K (or V) block and one S (or P) block on chip.
  public static func matmulPlan(blocks: BlockSizes, problem: AttentionProblem, phase: Int) -> [TileRequest] {
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let d = problem.headDimension
    let t = problem.dataType
    if phase == 1 {
      return [
        TileRequest("Q_i", .query, rows: br, columns: d, t),
        TileRequest("K_j", .key, rows: bc, columns: d, t),
        TileRequest("S_ij", .scores, rows: br, columns: bc, t),
      ]
    }
    return [
      TileRequest("P_ij", .probabilities, rows: br, columns: bc, t),
      TileRequest("V_j", .value, rows: bc, columns: d, t),
      TileRequest("O_i", .output, rows: br, columns: d, t),
    ]
  }

  /// The softmax pass: `rows` rows of `columns` scores, plus each row's max and sum.
  public static func softmaxPlan(rows: Int, columns: Int, problem: AttentionProblem) -> [TileRequest] {
    [
      TileRequest("S_rows", .scores, rows: rows, columns: columns, problem.dataType),
      TileRequest("m_rows", .rowMax, rows: rows, columns: 1, problem.statisticsType),
      TileRequest("ℓ_rows", .rowSum, rows: rows, columns: 1, problem.statisticsType),
    ]
  }

  /// The softmax tiling: as many whole rows of S as fit beside their statistics; when not even
  /// one row fits, one row at a time in chunks of `columns` (two passes).
  public static func softmaxTiling(problem: AttentionProblem, capacityInBytes: Int) -> (rows: Int, columns: Int, passes: Int)? {
    let n = problem.sequenceLength
    let rowBytes = n * problem.dataType.byteWidth + 2 * problem.statisticsType.byteWidth
    if rowBytes <= capacityInBytes {
      return (min(n, capacityInBytes / rowBytes), n, 1)
    }
    let columns = (capacityInBytes - 2 * problem.statisticsType.byteWidth) / problem.dataType.byteWidth
    return columns >= 1 ? (1, columns, 2) : nil
  }

  /// Exact HBM elements per head (see the type's documentation).
  public static func closedForm(sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, softmaxPasses: Int) -> TrafficCount {
    let tr = blocks.queryBlockCount(n)
    return TrafficCount(
      readElements: (1 + softmaxPasses) * n * n + n * d + 2 * tr * n * d,
      writeElements: 2 * n * n + n * d)
  }

  /// The HBM tensors a forward run leaves behind.
  public struct Outputs: Sendable {
    public let scores: HBMTensor
    public let probabilities: HBMTensor
    public let output: HBMTensor
  }

  /// Runs Algorithm 0 for one head whose Q, K, V are already in `machine`'s HBM.
  public static func run(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    blocks: BlockSizes, problem: AttentionProblem
  ) throws -> Outputs {
    let n = q.rows
    let d = q.columns
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let tau = problem.softmaxScale
    let scores = try machine.allocateTensor("S", operand: .scores, rows: n, columns: n, elementType: problem.dataType)
    let probabilities = try machine.allocateTensor(
      "P", operand: .probabilities, rows: n, columns: n, elementType: problem.dataType)
    let output = try machine.allocateTensor("O", operand: .output, rows: n, columns: d, elementType: problem.dataType)

    // 1. S = τ·QKᵀ, written to HBM block by block.
    var tiles = try machine.allocate(matmulPlan(blocks: blocks, problem: problem, phase: 1))
    let (qi, kj, sij) = (tiles[0], tiles[1], tiles[2])
    for i in 0..<blocks.queryBlockCount(n) {
      let queryRows = i * br..<min(n, (i + 1) * br)
      try machine.load(q, rows: queryRows, into: qi)
      for j in 0..<blocks.keyBlockCount(n) {
        let keyRows = j * bc..<min(n, (j + 1) * bc)
        try machine.load(k, rows: keyRows, into: kj)
        machine.compute("S_ij = τ·Q_i·K_jᵀ", kind: .matmul, flops: 2 * queryRows.count * keyRows.count * d) { sram in
          TileGEMM.multiplyTransposedB(
            a: sram[qi], lda: d, b: sram[kj], ldb: d, c: sram[sij], ldc: bc,
            rows: queryRows.count, columns: keyRows.count, depth: d, alpha: tau, accumulate: false)
        }
        try machine.store(sij, into: scores, rows: queryRows, columns: keyRows)
      }
    }
    machine.free(tiles)

    // 2. P = softmax(S), row chunks.
    try softmax(on: &machine, scores: scores, probabilities: probabilities, problem: problem)

    // 3. O = PV.
    tiles = try machine.allocate(matmulPlan(blocks: blocks, problem: problem, phase: 3))
    let (pij, vj, oi) = (tiles[0], tiles[1], tiles[2])
    for i in 0..<blocks.queryBlockCount(n) {
      let queryRows = i * br..<min(n, (i + 1) * br)
      machine.compute("O_i = 0", kind: .other, flops: 0) { sram in
        sram[oi].update(repeating: 0, count: oi.elementCount)
      }
      for j in 0..<blocks.keyBlockCount(n) {
        let keyRows = j * bc..<min(n, (j + 1) * bc)
        try machine.load(probabilities, rows: queryRows, columns: keyRows, into: pij)
        try machine.load(v, rows: keyRows, into: vj)
        machine.compute("O_i += P_ij·V_j", kind: .matmul, flops: 2 * queryRows.count * keyRows.count * d) { sram in
          TileGEMM.multiply(
            a: sram[pij], lda: bc, b: sram[vj], ldb: d, c: sram[oi], ldc: d,
            rows: queryRows.count, columns: d, depth: keyRows.count, alpha: 1, accumulate: true)
        }
      }
      try machine.store(oi, into: output, rows: queryRows)
    }
    machine.free(tiles)
    return Outputs(scores: scores, probabilities: probabilities, output: output)
  }

  /// P = softmax(S) row-wise through SRAM: 5 FLOPs per element (max, subtract, exp, sum,
  /// normalise).
  static func softmax(on machine: inout Machine, scores: HBMTensor, probabilities: HBMTensor, problem: AttentionProblem) throws {
    let n = scores.rows
    guard let tiling = softmaxTiling(problem: problem, capacityInBytes: machine.spec.sramCapacityInBytes) else {
      throw AttentionError.noBlocksFit(
        minimumBytes: problem.dataType.byteWidth + 2 * problem.statisticsType.byteWidth,
        capacityBytes: machine.spec.sramCapacityInBytes, algorithm: "the softmax pass")
    }
    let tiles = try machine.allocate(softmaxPlan(rows: tiling.rows, columns: tiling.columns, problem: problem))
    let (st, mt, lt) = (tiles[0], tiles[1], tiles[2])
    let ld = st.columns
    var row = 0
    while row < n {
      let rows = row..<min(n, row + tiling.rows)
      let r = rows.count
      if tiling.passes == 1 {
        try machine.load(scores, rows: rows, into: st)
        machine.compute("P = softmax(S) on \(r) rows", kind: .other, flops: 5 * r * n) { sram in
          RowReductions.rowMax(sram[st], ld: ld, rows: r, columns: n, into: sram[mt])
          SoftmaxKernels.exponentiateRows(sram[st], ld: ld, rows: r, columns: n, rowMax: sram[mt], rowSum: sram[lt])
          for x in 0..<r { sram[lt][x] = sram[lt][x] > 0 ? 1 / sram[lt][x] : 0 }
          SoftmaxKernels.scaleRows(sram[st], ld: ld, rows: r, columns: n, factors: sram[lt])
        }
        try machine.store(st, into: probabilities, rows: rows)
      } else {
        // Pass 1: online max and sum over column chunks.
        machine.compute("m = −∞, ℓ = 0", kind: .other, flops: 0) { sram in
          sram[mt][0] = -.infinity
          sram[lt][0] = 0
        }
        var column = 0
        while column < n {
          let columns = column..<min(n, column + ld)
          let c = columns.count
          try machine.load(scores, rows: rows, columns: columns, into: st)
          machine.compute("online max and sum of a row chunk", kind: .other, flops: 4 * c + OnlineSoftmax.updateFLOPsPerRow) { sram in
            var chunkMax: Float = -.infinity
            RowReductions.rowMax(sram[st], ld: ld, rows: 1, columns: c, into: &chunkMax)
            var chunkSum: Float = 0
            SoftmaxKernels.exponentiateRows(sram[st], ld: ld, rows: 1, columns: c, rowMax: &chunkMax, rowSum: &chunkSum)
            var alpha: Float = 0
            var beta: Float = 0
            OnlineSoftmax.update(
              rowMax: sram[mt], rowSum: sram[lt], blockMax: &chunkMax, blockSum: &chunkSum,
              outputFactor: &alpha, blockFactor: &beta, rows: 1)
          }
          column += c
        }
        // Pass 2: normalise each chunk and store it.
        column = 0
        while column < n {
          let columns = column..<min(n, column + ld)
          let c = columns.count
          try machine.load(scores, rows: rows, columns: columns, into: st)
          machine.compute("P chunk = exp(S − m)/ℓ", kind: .other, flops: 3 * c) { sram in
            var ignoredSum: Float = 0
            SoftmaxKernels.exponentiateRows(sram[st], ld: ld, rows: 1, columns: c, rowMax: sram[mt], rowSum: &ignoredSum)
            var inverse: Float = sram[lt][0] > 0 ? 1 / sram[lt][0] : 0
            SoftmaxKernels.scaleRows(sram[st], ld: ld, rows: 1, columns: c, factors: &inverse)
          }
          try machine.store(st, into: probabilities, rows: rows, columns: columns)
          column += c
        }
      }
      row += r
    }
    machine.free(tiles)
  }
}
