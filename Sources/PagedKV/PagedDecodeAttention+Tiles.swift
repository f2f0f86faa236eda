import AttentionAlgorithms
import MemoryHierarchy

extension PagedDecodeAttention {
  /// Places the step's tensors (not counted): Q from `queries` (execute mode), O zero, the block
  /// tables as entries, and the split buffers when S > 1.
  public static func allocateTensors(
    on machine: inout Machine, configuration c: PagedDecodeConfiguration, tables: [BlockTable], queries: [Float]?
  ) throws -> Tensors {
    let batch = tables.count
    let width = max(1, tables.map(\.blockCount).max() ?? 1)
    var entries: [Float]?
    if machine.executes {
      var e = [Float](repeating: -1, count: batch * width)
      for (s, table) in tables.enumerated() {
        for (j, block) in table.physicalBlocks.enumerated() { e[s * width + j] = Float(block) }
      }
      entries = e
    }
    let rows = batch * c.queryHeads
    let split = c.splits > 1
    return Tensors(
      queries: try machine.allocateTensor("Q", operand: .query, rows: rows, columns: c.headDimension, elementType: c.dataType, contents: queries),
      output: try machine.allocateTensor("O", operand: .output, rows: rows, columns: c.headDimension, elementType: c.dataType),
      blockTable: try machine.allocateTensor(
        "block tables", operand: .blockTable, rows: batch, columns: width, elementType: PagedDecodeConfiguration.blockTableType,
        contents: entries),
      partialOutput: split
        ? try machine.allocateTensor(
          "O partial", operand: .partialOutput, rows: rows * c.splits, columns: c.headDimension,
          elementType: PagedDecodeConfiguration.accumulatorType) : nil,
      logSumExp: split
        ? try machine.allocateTensor(
          "logsumexp", operand: .logSumExp, rows: rows * c.splits, columns: 1,
          elementType: PagedDecodeConfiguration.accumulatorType) : nil)
  }

  /// The tiles a step keeps in SRAM: q and O (r×d), K_j and V_j (B×d), the scores (r×B, fp32),
  /// six per-row statistics, a block-table chunk, the new token's k and v, and with a split the
  /// partial being merged (r×d) and its logsumexp.
  public struct Tiles<Tile> {
    public var q, k, v, s, o, m, l, mt, lt, alpha, beta, entries, kNew, vNew: Tile
    /// With a split: the partial output being merged and its logsumexp.
    public var partial, logSumExp: Tile?

    /// Every tile, in allocation order.
    public var all: [Tile] {
      [q, k, v, s, o, m, l, mt, lt, alpha, beta, entries, kNew, vNew] + [partial, logSumExp].compactMap { $0 }
    }

    public func map<Other>(_ f: (Tile) throws -> Other) rethrows -> Tiles<Other> {
      Tiles<Other>(
        q: try f(q), k: try f(k), v: try f(v), s: try f(s), o: try f(o), m: try f(m), l: try f(l), mt: try f(mt), lt: try f(lt),
        alpha: try f(alpha), beta: try f(beta), entries: try f(entries), kNew: try f(kNew), vNew: try f(vNew),
        partial: try partial.map(f), logSumExp: try logSumExp.map(f))
    }
  }

  /// The step's tiles, by name.
  public static func plan(_ c: PagedDecodeConfiguration) -> Tiles<TileRequest> {
    let r = c.rowsPerWorkItem
    let d = c.headDimension
    let b = c.blockSize
    let f32 = ElementType.fp32
    let split = c.splits > 1
    return Tiles(
      q: TileRequest("q", .query, rows: r, columns: d, c.dataType),
      k: TileRequest("K_j", .key, rows: b, columns: d, c.dataType),
      v: TileRequest("V_j", .value, rows: b, columns: d, c.dataType),
      s: TileRequest("s_j", .scores, rows: r, columns: b, f32),
      o: TileRequest("O", .output, rows: r, columns: d, f32),
      m: TileRequest("m", .rowMax, rows: r, columns: 1, f32),
      l: TileRequest("ℓ", .rowSum, rows: r, columns: 1, f32),
      mt: TileRequest("m̃", .rowMax, rows: r, columns: 1, f32),
      lt: TileRequest("ℓ̃", .rowSum, rows: r, columns: 1, f32),
      alpha: TileRequest("α", .other, rows: r, columns: 1, f32),
      beta: TileRequest("β", .other, rows: r, columns: 1, f32),
      entries: TileRequest(
        "block-table chunk", .blockTable, rows: 1, columns: PagedDecodeConfiguration.blockTableChunk,
        PagedDecodeConfiguration.blockTableType),
      kNew: TileRequest("k_new", .key, rows: 1, columns: d, c.dataType),
      vNew: TileRequest("v_new", .value, rows: 1, columns: d, c.dataType),
      partial: split ? TileRequest("O_p", .partialOutput, rows: r, columns: d, f32) : nil,
      logSumExp: split ? TileRequest("L", .logSumExp, rows: r, columns: 1, f32) : nil)
  }

  /// `plan(_:)` in allocation order.
  public static func tilePlan(_ c: PagedDecodeConfiguration) -> [TileRequest] { plan(c).all }

  /// Allocates the step's tiles.
  static func allocateTiles(on machine: inout Machine, _ c: PagedDecodeConfiguration) throws -> Tiles<SRAMTile> {
    try plan(c).map { try machine.allocate($0) }
  }
}
