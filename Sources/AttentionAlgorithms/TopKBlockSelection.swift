import MemoryHierarchy
import TileKernels

/// Query-aware top-K block selection, in the spirit of Quest: every key block j is summarised by
/// the element-wise minimum and maximum of its keys, which bound q·k for any key k of the block:
/// q·k ≤ Σ_x max(q_x·min_x, q_x·max_x). For each query block the K key blocks with the highest
/// bound over its queries are kept (ties to the lower index).
///
/// ```
/// summaries:  for j: load K_j; Ksum_j = (min, max) over its rows; store Ksum_j      Nd reads, 2d·T_c writes
/// selection:  for i: load Q_i; for j: load Ksum_j; bound_ij; keep the top K;
///             store the K chosen block indices                                       Nd + 2d·T_r·T_c reads, T_r·K writes
/// ```
///
/// The kept-block lists are written as 4-byte indices (operand `other`); the main kernel's use of
/// a mask is not counted for any pattern (the paper's Algorithm 5 takes M as given). In count
/// mode there are no keys, so the first K blocks of each row stand in: the counts are the same
/// unless empty columns are skipped, which therefore needs execute mode.
public enum TopKBlockSelection {
  /// Exact HBM elements of the two passes per head.
  public static func closedForm(sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, keep k: Int) -> TrafficCount {
    let tr = blocks.queryBlockCount(n)
    let tc = blocks.keyBlockCount(n)
    return TrafficCount(readElements: 2 * n * d + 2 * d * tr * tc, writeElements: 2 * d * tc + tr * min(k, tc))
  }

  public static func run(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, blocks: BlockSizes, problem: AttentionProblem, keep: Int
  ) throws -> BlockMask {
    let n = q.rows
    let d = q.columns
    let (br, bc) = (blocks.queryBlockSize, blocks.keyBlockSize)
    let (tr, tc) = (blocks.queryBlockCount(n), blocks.keyBlockCount(n))
    let kept = min(keep, tc)
    let t = problem.dataType
    let summaries = try machine.allocateTensor("Ksum", operand: .keySummary, rows: 2 * tc, columns: d, elementType: t)
    let indices = try machine.allocateTensor("top-K indices", operand: .other, rows: tr, columns: kept, elementType: .fp32)

    let kj = try machine.allocate(TileRequest("K_j", .key, rows: bc, columns: d, t))
    let sj = try machine.allocate(TileRequest("Ksum_j", .keySummary, rows: 2, columns: d, t))
    for j in 0..<tc {
      let rows = j * bc..<min(n, (j + 1) * bc)
      try machine.load(k, rows: rows, into: kj)
      machine.compute("Ksum_j = (min, max) of K_j", kind: .other, flops: 2 * rows.count * d) { sram in
        for x in 0..<d {
          var low = Float.infinity
          var high = -Float.infinity
          for r in 0..<rows.count {
            low = min(low, sram[kj][r * d + x])
            high = max(high, sram[kj][r * d + x])
          }
          sram[sj][x] = low
          sram[sj][d + x] = high
        }
      }
      try machine.store(sj, into: summaries, rows: 2 * j..<2 * j + 2)
    }
    machine.free([kj, sj])

    var mask = BlockMask(rowBlocks: tr, columnBlocks: tc)
    let qi = try machine.allocate(TileRequest("Q_i", .query, rows: br, columns: d, t))
    let summary = try machine.allocate(TileRequest("Ksum_j", .keySummary, rows: 2, columns: d, t))
    let bounds = try machine.allocate(TileRequest("bounds_i", .other, rows: tc, columns: 1, .fp32))
    let chosen = try machine.allocate(TileRequest("top-K_i", .other, rows: 1, columns: kept, .fp32))
    for i in 0..<tr {
      let rows = i * br..<min(n, (i + 1) * br)
      try machine.load(q, rows: rows, into: qi)
      for j in 0..<tc {
        try machine.load(summaries, rows: 2 * j..<2 * j + 2, into: summary)
        machine.compute("bound_ij = max over Q_i of Σ max(q·min, q·max)", kind: .other, flops: 4 * rows.count * d) { sram in
          var best = -Float.infinity
          for r in 0..<rows.count {
            var bound: Float = 0
            for x in 0..<d {
              let qx = sram[qi][r * d + x]
              bound += max(qx * sram[summary][x], qx * sram[summary][d + x])
            }
            best = max(best, bound)
          }
          sram[bounds][j] = best
        }
      }
      machine.compute("keep the top \(kept) bounds", kind: .other, flops: tc * kept) { sram in
        let order = (0..<tc).sorted { sram[bounds][$0] > sram[bounds][$1] || (sram[bounds][$0] == sram[bounds][$1] && $0 < $1) }
        for (slot, j) in order.prefix(kept).sorted().enumerated() { sram[chosen][slot] = Float(j) }
      }
      try machine.store(chosen, into: indices, rows: i..<i + 1)
      if machine.executes {
        for j in machine.values(of: chosen) { mask[i, Int(j)] = true }
      } else {
        for j in 0..<kept { mask[i, j] = true }
      }
    }
    machine.free([qi, summary, bounds, chosen])
    return mask
  }
}
