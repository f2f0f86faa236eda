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
  public static func tilePlan(_ c: PagedDecodeConfiguration) -> [TileRequest] {
    let r = c.rowsPerWorkItem
    let d = c.headDimension
    let b = c.blockSize
    let f32 = ElementType.fp32
    var plan = [
      TileRequest("q", .query, rows: r, columns: d, c.dataType),
      TileRequest("K_j", .key, rows: b, columns: d, c.dataType),
      TileRequest("V_j", .value, rows: b, columns: d, c.dataType),
      TileRequest("s_j", .scores, rows: r, columns: b, f32),
      TileRequest("O", .output, rows: r, columns: d, f32),
      TileRequest("m", .rowMax, rows: r, columns: 1, f32),
      TileRequest("ℓ", .rowSum, rows: r, columns: 1, f32),
      TileRequest("m̃", .rowMax, rows: r, columns: 1, f32),
      TileRequest("ℓ̃", .rowSum, rows: r, columns: 1, f32),
      TileRequest("α", .other, rows: r, columns: 1, f32),
      TileRequest("β", .other, rows: r, columns: 1, f32),
      TileRequest("block-table chunk", .blockTable, rows: 1, columns: PagedDecodeConfiguration.blockTableChunk, PagedDecodeConfiguration.blockTableType),
      TileRequest("k_new", .key, rows: 1, columns: d, c.dataType),
      TileRequest("v_new", .value, rows: 1, columns: d, c.dataType),
    ]
    if c.splits > 1 {
      plan.append(TileRequest("O_p", .partialOutput, rows: r, columns: d, f32))
      plan.append(TileRequest("L", .logSumExp, rows: r, columns: 1, f32))
    }
    return plan
  }

  /// The SRAM tiles of `tilePlan`, by name.
  struct Tiles {
    let all: [SRAMTile]
    let q, k, v, s, o, m, l, mt, lt, alpha, beta, entries, kNew, vNew: SRAMTile
    let partial, logSumExp: SRAMTile?

    init(_ t: [SRAMTile]) {
      all = t
      (q, k, v, s, o, m, l, mt, lt, alpha, beta, entries, kNew, vNew) =
        (t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13])
      partial = t.count > 14 ? t[14] : nil
      logSumExp = t.count > 15 ? t[15] : nil
    }
  }
}
