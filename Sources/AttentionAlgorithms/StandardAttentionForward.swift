import MemoryHierarchy
import TileKernels

/// Standard attention forward, the paper's Algorithm 0 (with Algorithm 2's scale, masks and
/// dropout), with its matmuls tiled to fit the SRAM as any real kernel must:
///
/// ```
/// 1. S = mask(τ·QKᵀ)   for i: load Q_i; for j: load K_j; S_ij = τ Q_i K_jᵀ, masked; store S_ij
/// 2. P = softmax(S)    for each chunk of R rows: load S rows; softmax; store P rows
///                      (with dropout: also draw the keep flags Z and store them, 1 byte each)
///    (a row that does not fit the SRAM is done in two passes: online max/sum, then normalise)
/// 3. O = (P∘Z)V        for i: O_i = 0; for j: load P_ij (and Z_ij), V_j; O_i += P_ij V_j; store O_i
/// ```
///
/// - Complexity: 4N²d matmul FLOPs. HBM traffic per head, exactly, with T_r = ⌈N/Br⌉:
///   writes 2N² + Nd; reads 2N² + Nd + 2·T_r·Nd when a row of S fits the SRAM (one softmax
///   pass), 3N² + Nd + 2·T_r·Nd otherwise; dropout adds N² mask writes and N² mask reads.
///   With T_r = 1 (all of Q in one block) the total is the paper's literal 4N² + 4Nd.
///   Θ(Nd + N²) either way, independent of M (Theorem 2).
public enum StandardAttentionForward: Sendable {
  /// The tiles of one tiled matmul: a Br×Bc block of the N×N operand, a Br×d block, a Bc×d
  /// block, and the block's dropout keep flags when dropout is on.
  public struct MatmulTiles<Tile> {
    public var square: Tile
    public var rowBlock: Tile
    public var columnBlock: Tile
    public var keepFlags: Tile?

    /// Every tile, in allocation order.
    public var all: [Tile] { [square, rowBlock, columnBlock] + (keepFlags.map { [$0] } ?? []) }

    public func map<Other>(_ transform: (Tile) throws -> Other) rethrows -> MatmulTiles<Other> {
      MatmulTiles<Other>(
        square: try transform(square), rowBlock: try transform(rowBlock), columnBlock: try transform(columnBlock),
        keepFlags: try keepFlags.map(transform))
    }
  }

  /// Phases 1 and 3 keep one N×N block, one Br×d block and one Bc×d block on chip, plus the
  /// block's dropout keep flags (1 byte each) when dropout is on. Every tiled matmul of standard
  /// attention (forward and backward) uses this plan; `names` label the tiles in traces.
  public static func matmulPlan(
    blocks: BlockSizes, problem: AttentionProblem, names: (String, String, String) = ("S_ij", "Q_i", "K_j"),
    operands: (Operand, Operand, Operand) = (.scores, .query, .key)
  ) -> MatmulTiles<TileRequest> {
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let d = problem.headDimension
    let t = problem.dataType
    return MatmulTiles(
      square: TileRequest(names.0, operands.0, rows: br, columns: bc, t),
      rowBlock: TileRequest(names.1, operands.1, rows: br, columns: d, t),
      columnBlock: TileRequest(names.2, operands.2, rows: bc, columns: d, t),
      keepFlags: problem.dropoutProbability > 0 ? TileRequest("Z_ij", .dropoutMask, rows: br, columns: bc, .u8) : nil)
  }

  static func allocateMatmulTiles(
    _ machine: inout Machine, blocks: BlockSizes, problem: AttentionProblem, names: (String, String, String),
    operands: (Operand, Operand, Operand)
  ) throws -> (TiledMatmul.Tiles, SRAMTile?, [SRAMTile]) {
    let tiles = try matmulPlan(blocks: blocks, problem: problem, names: names, operands: operands).map { try machine.allocate($0) }
    return (TiledMatmul.Tiles(square: tiles.square, rowBlock: tiles.rowBlock, columnBlock: tiles.columnBlock), tiles.keepFlags, tiles.all)
  }

  /// The softmax pass's tiles: rows of S, each row's max and sum, and the rows' keep flags.
  public struct SoftmaxTiles<Tile> {
    public var scores: Tile
    public var rowMax: Tile
    public var rowSum: Tile
    public var keepFlags: Tile?

    /// Every tile, in allocation order.
    public var all: [Tile] { [scores, rowMax, rowSum] + (keepFlags.map { [$0] } ?? []) }

    public func map<Other>(_ transform: (Tile) throws -> Other) rethrows -> SoftmaxTiles<Other> {
      SoftmaxTiles<Other>(
        scores: try transform(scores), rowMax: try transform(rowMax), rowSum: try transform(rowSum), keepFlags: try keepFlags.map(transform))
    }
  }

  /// The softmax pass: `rows` rows of `columns` scores (and their keep flags under dropout),
  /// plus each row's max and sum.
  public static func softmaxPlan(rows: Int, columns: Int, problem: AttentionProblem) -> SoftmaxTiles<TileRequest> {
    SoftmaxTiles(
      scores: TileRequest("S_rows", .scores, rows: rows, columns: columns, problem.dataType),
      rowMax: TileRequest("m_rows", .rowMax, rows: rows, columns: 1, problem.statisticsType),
      rowSum: TileRequest("ℓ_rows", .rowSum, rows: rows, columns: 1, problem.statisticsType),
      keepFlags: problem.dropoutProbability > 0 ? TileRequest("Z_rows", .dropoutMask, rows: rows, columns: columns, .u8) : nil)
  }

  /// The softmax tiling: as many whole rows of S as fit beside their statistics; when not even
  /// one row fits, one row at a time in chunks of `columns` (two passes).
  public static func softmaxTiling(problem: AttentionProblem, capacityInBytes: Int) -> (rows: Int, columns: Int, passes: Int)? {
    let n = problem.sequenceLength
    let elementBytes = problem.dataType.byteWidth + (problem.dropoutProbability > 0 ? 1 : 0)
    let statistics = 2 * problem.statisticsType.byteWidth
    let rowBytes = n * elementBytes + statistics
    if rowBytes <= capacityInBytes {
      return (min(n, capacityInBytes / rowBytes), n, 1)
    }
    let columns = (capacityInBytes - statistics) / elementBytes
    return columns >= 1 ? (1, columns, 2) : nil
  }

  /// Exact HBM elements per head (see the type's documentation).
  public static func closedForm(
    sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, softmaxPasses: Int, dropout: Bool = false
  ) -> TrafficCount {
    let tr = blocks.queryBlockCount(n)
    let mask = dropout ? n * n : 0
    return TrafficCount(
      readElements: (1 + softmaxPasses) * n * n + n * d + 2 * tr * n * d + mask,
      writeElements: 2 * n * n + n * d + mask)
  }

  /// The HBM tensors a forward run leaves behind (Algorithm 3 reads P and Z from HBM).
  public struct Outputs: Sendable {
    public let scores: HBMTensor
    public let probabilities: HBMTensor
    /// Dropout keep flags (0/1, one byte each), when dropout is on.
    public let dropoutMask: HBMTensor?
    public let output: HBMTensor
  }

  /// Runs Algorithm 0 for one head whose Q, K, V are already in `machine`'s HBM.
  public static func run(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    blocks: BlockSizes, problem: AttentionProblem, context: HeadContext? = nil
  ) throws -> Outputs {
    let context = context ?? problem.headContext(0)
    let n = q.rows
    let d = q.columns
    let tau = problem.softmaxScale
    let scores = try machine.allocateTensor("S", operand: .scores, rows: n, columns: n, elementType: problem.dataType)
    let probabilities = try machine.allocateTensor(
      "P", operand: .probabilities, rows: n, columns: n, elementType: problem.dataType)
    let dropoutMask = context.dropout.isActive
      ? try machine.allocateTensor("Z", operand: .dropoutMask, rows: n, columns: n, elementType: .u8) : nil
    let output = try machine.allocateTensor("O", operand: .output, rows: n, columns: d, elementType: problem.dataType)

    // 1. S = mask(τ·QKᵀ), written to HBM block by block.
    var (tiles, flags, all) = try allocateMatmulTiles(&machine, blocks: blocks, problem: problem, names: ("S_ij", "Q_i", "K_j"), operands: (.scores, .query, .key))
    try TiledMatmul.scores(on: &machine, q, k, into: scores, alpha: tau, blocks: blocks, tiles: tiles, label: "S_ij = τ·Q_i·K_jᵀ") {
      machine, block, rows, columns in applyMasks(on: &machine, tile: block, context: context, rows: rows, columns: columns)
    }
    machine.free(all)

    // 2. P = softmax(S), row chunks (and the dropout keep flags).
    try softmax(on: &machine, scores: scores, probabilities: probabilities, dropoutMask: dropoutMask, problem: problem, context: context)

    // 3. O = (P∘Z)·V.
    (tiles, flags, all) = try allocateMatmulTiles(&machine, blocks: blocks, problem: problem, names: ("P_ij", "O_i", "V_j"), operands: (.probabilities, .output, .value))
    try TiledMatmul.rowsTimes(
      on: &machine, probabilities, v, into: output, alpha: 1, blocks: blocks, tiles: tiles, label: "O_i += P_ij·V_j",
      blockHook: TiledMatmul.keepFlags(dropoutMask, flags: flags, keepScale: context.dropout.keepScale))
    machine.free(all)
    return Outputs(scores: scores, probabilities: probabilities, dropoutMask: dropoutMask, output: output)
  }

  /// P = softmax(S) row-wise through SRAM: 5 FLOPs per element (max, subtract, exp, sum,
  /// normalise); a fully masked row gives P = 0. With dropout, the keep flags Z of the same rows
  /// are drawn (1 FLOP per element) and stored beside P.
  static func softmax(
    on machine: inout Machine, scores: HBMTensor, probabilities: HBMTensor, dropoutMask: HBMTensor?,
    problem: AttentionProblem, context: HeadContext
  ) throws {
    let n = scores.rows
    guard let tiling = softmaxTiling(problem: problem, capacityInBytes: machine.spec.sramCapacityInBytes) else {
      throw AttentionError.noBlocksFit(
        minimumBytes: problem.dataType.byteWidth + 2 * problem.statisticsType.byteWidth,
        capacityBytes: machine.spec.sramCapacityInBytes, algorithm: "the softmax pass")
    }
    let tiles = try softmaxPlan(rows: tiling.rows, columns: tiling.columns, problem: problem).map { try machine.allocate($0) }
    let (st, mt, lt, zt) = (tiles.scores, tiles.rowMax, tiles.rowSum, tiles.keepFlags)
    let ld = st.columns
    // Keep flags for a block of rows and columns, stored beside P.
    func drawKeepFlags(_ machine: inout Machine, rows: Range<Int>, columns: Range<Int>) throws {
      guard let zt, let dropoutMask else { return }
      machine.compute("Z = dropout keep flags", kind: .other, flops: rows.count * columns.count) { sram in
        let z = sram[zt]
        for x in 0..<rows.count {
          for y in 0..<columns.count {
            z[x * ld + y] = context.dropout.keeps(row: rows.lowerBound + x, column: columns.lowerBound + y) ? 1 : 0
          }
        }
      }
      try machine.store(zt, into: dropoutMask, rows: rows, columns: columns)
    }
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
        try drawKeepFlags(&machine, rows: rows, columns: 0..<n)
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
          try drawKeepFlags(&machine, rows: rows, columns: columns)
          column += c
        }
      }
      row += r
    }
    machine.free(tiles.all)
  }
}
