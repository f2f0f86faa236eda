import Foundation
import MemoryHierarchy
import TileKernels

/// FlashAttention-2 forward (FlashAttention-2 §3.1, Algorithm 1): the loops are swapped, so Q_i
/// is read once, O_i is accumulated unnormalised on chip, and O_i and the logsumexp
/// L_i = m_i + log ℓ_i are written once, after the inner loop. With a causal mask, key blocks
/// entirely above the diagonal are skipped (no load, no FLOPs) and only blocks that cross the
/// diagonal are masked.
///
/// ```
/// for i in 0..<Tr:                      load Q_i                       (Br·d)
///   O_i = 0, ℓ_i = 0, m_i = −∞ on chip
///   for j in 0..<Tc (not causally empty): load K_j, V_j              (2·Bc·d)
///     S = mask(τ Q_i K_jᵀ);  m_new = max(m_i, rowmax S);  P̃ = exp(S − m_new)
///     ℓ_i = e^{m_i−m_new} ℓ_i + rowsum P̃;  O_i = diag(e^{m_i−m_new}) O_i + P̃ V_j
///   O_i = diag(ℓ_i)⁻¹ O_i;  L_i = m_i + log ℓ_i;  store O_i, L_i     (Br·d + Br)
/// ```
/// (FlashAttention-2 prints diag(e^{m_old−m_new})⁻¹ for the rescale of Õ; the algebra needs no
/// inverse, and this follows the corrected form.)
///
/// - Complexity: 4N²d matmul FLOPs (about half with a causal mask). HBM traffic per head
///   exactly 2Nd + 2Nd·T_r + N elements without a causal mask (T_r = ⌈N/Br⌉); with one,
///   2Nd + N + 2d·Σ over visited blocks of their key rows.
public enum FlashAttention2Forward: AttentionForwardKernel {
  public static let algorithm = AttentionAlgorithmKind.flash2
  public static let title = "FlashAttention-2 forward"
  public static let algorithmName = "FlashAttention-2"
  public static let summary = "Q_i stays on chip while K and V stream past; O_i and L_i are written once; causal blocks are skipped"
  public static let blockShape = AttentionSchedule.Shape.queryMajor
  public static let workDecomposition = WorkDecomposition.section

  /// The tiles FlashAttention-2's forward keeps on chip at once.
  public struct Tiles<Tile> {
    /// Q_i (Br×d).
    public var queries: Tile
    /// O_i (Br×d), accumulated unnormalised.
    public var output: Tile
    /// K_j, V_j (Bc×d).
    public var keys: Tile
    public var values: Tile
    /// S_ij (Br×Bc), holding S, then P̃.
    public var scores: Tile
    /// m_i, ℓ_i: the running statistics.
    public var rowMax: Tile
    public var rowSum: Tile
    /// m_new: the block's row max joined with m_i.
    public var newMax: Tile
    /// rowsum P̃ of the block.
    public var blockSum: Tile
    /// e^{m_i−m_new}, the rescale factor of O_i and ℓ_i.
    public var outputFactor: Tile

    /// Every tile, in allocation order.
    public var all: [Tile] { [queries, output, keys, values, scores, rowMax, rowSum, newMax, blockSum, outputFactor] }

    public func map<Other>(_ transform: (Tile) throws -> Other) rethrows -> Tiles<Other> {
      Tiles<Other>(
        queries: try transform(queries), output: try transform(output), keys: try transform(keys), values: try transform(values), scores: try transform(scores), rowMax: try transform(rowMax), rowSum: try transform(rowSum), newMax: try transform(newMax), blockSum: try transform(blockSum), outputFactor: try transform(outputFactor))
    }
  }

  /// Q_i, O_i (Br×d), K_j, V_j (Bc×d), S_ij (Br×Bc) in the data type; m_i, ℓ_i and three
  /// per-row temporaries (block max / m_new, block sum, rescale factor) in the statistics type.
  public static func tilePlan(blocks: BlockSizes, problem: AttentionProblem) -> Tiles<TileRequest> {
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let d = problem.headDimension
    let t = problem.dataType
    let s = problem.statisticsType
    return Tiles(
      queries: TileRequest("Q_i", .query, rows: br, columns: d, t),
      output: TileRequest("O_i", .output, rows: br, columns: d, t, level: .registers),
      keys: TileRequest("K_j", .key, rows: bc, columns: d, t),
      values: TileRequest("V_j", .value, rows: bc, columns: d, t),
      scores: TileRequest("S_ij", .scores, rows: br, columns: bc, t, level: .registers),
      rowMax: TileRequest("m_i", .rowMax, rows: br, columns: 1, s, level: .registers),
      rowSum: TileRequest("ℓ_i", .rowSum, rows: br, columns: 1, s, level: .registers),
      newMax: TileRequest("m_new", .rowMax, rows: br, columns: 1, s, level: .registers),
      blockSum: TileRequest("ℓ̃_ij", .rowSum, rows: br, columns: 1, s, level: .registers),
      outputFactor: TileRequest("α_i", .other, rows: br, columns: 1, s, level: .registers))
  }

  public static func tileRequests(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    tilePlan(blocks: blocks, problem: problem).all
  }

  public static func closedForm(_ setting: KernelSetting) -> ClosedFormTraffic {
    let form = closedForm(sequenceLength: setting.n, headDimension: setting.d, blocks: setting.blocks, causal: setting.problem.causal)
    return ClosedFormTraffic(form.traffic, skippedBlocks: form.skippedBlocks)
  }

  /// A section is one outer iteration i: it ends with the store of L_i.
  public static func sectionTitle(after event: MachineEvent, index: Int, setting: KernelSetting) -> String? {
    guard case let .store(t) = event, t.tensor.operand == .logSumExp else { return nil }
    return "outer iteration i = \(index): Q_i = queries \(t.rowRange.lowerBound)..<\(t.rowRange.upperBound) met every key block; O_i and L_i written once"
  }

  public static func minimumSteps(_ setting: KernelSetting) -> Int {
    2 * tileRequests(blocks: setting.blocks, problem: setting.problem).count + setting.blocks.queryBlockCount(setting.n) * 5
  }

  public static func output(of outputs: Outputs) -> HBMTensor { outputs.output }

  public static func run(on machine: inout Machine, _ inputs: HeadTensors, setting: KernelSetting) throws -> Outputs {
    try run(
      on: &machine, queries: inputs.queries, keys: inputs.keys, values: inputs.values, blocks: setting.blocks,
      problem: setting.problem, context: setting.context)
  }

  /// The (i, j) blocks a schedule visits, with the causal blocks skipped, and how many were
  /// skipped. Shared by FlashAttention-2's forward and backward and their closed forms.
  public static func visitedBlocks(sequenceLength n: Int, blocks: BlockSizes, causal: Bool) -> (visited: [(Range<Int>, Range<Int>)], skipped: Int) {
    var visited: [(Range<Int>, Range<Int>)] = []
    var skipped = 0
    for i in 0..<blocks.queryBlockCount(n) {
      let rows = i * blocks.queryBlockSize..<min(n, (i + 1) * blocks.queryBlockSize)
      for j in 0..<blocks.keyBlockCount(n) {
        let columns = j * blocks.keyBlockSize..<min(n, (j + 1) * blocks.keyBlockSize)
        if causal && columns.lowerBound > rows.upperBound - 1 {
          skipped += 1
        } else {
          visited.append((rows, columns))
        }
      }
    }
    return (visited, skipped)
  }

  /// The key blocks visited by query block `i`: all T_c, or with the causal mask the prefix
  /// j ≤ (last row of block i) / Bc (block j is skipped when its first key is after the last
  /// query of block i). O(1), so schedules and closed forms need no list of blocks.
  public static func visibleKeyBlocks(queryBlock i: Int, sequenceLength n: Int, blocks: BlockSizes, causal: Bool) -> Int {
    let tc = blocks.keyBlockCount(n)
    guard causal else { return tc }
    let lastRow = min(n, (i + 1) * blocks.queryBlockSize) - 1
    return min(tc, lastRow / blocks.keyBlockSize + 1)
  }

  /// What `visitedBlocks` sums, in O(T_r) time and O(1) memory: the key rows over all visited
  /// blocks, the query rows over all visited blocks, and the skipped blocks.
  public static func visitedTotals(sequenceLength n: Int, blocks: BlockSizes, causal: Bool) -> (keyRows: Int, queryRows: Int, skipped: Int) {
    let tc = blocks.keyBlockCount(n)
    var (keyRows, queryRows, skipped) = (0, 0, 0)
    for i in 0..<blocks.queryBlockCount(n) {
      let rows = min(n, (i + 1) * blocks.queryBlockSize) - i * blocks.queryBlockSize
      let visible = visibleKeyBlocks(queryBlock: i, sequenceLength: n, blocks: blocks, causal: causal)
      keyRows += min(n, visible * blocks.keyBlockSize)
      queryRows += visible * rows
      skipped += tc - visible
    }
    return (keyRows, queryRows, skipped)
  }

  /// Exact HBM elements per head: Q read once, K and V for every visited block, O and L
  /// written once; also the number of skipped blocks.
  public static func closedForm(sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, causal: Bool) -> (traffic: TrafficCount, skippedBlocks: Int) {
    let (keyRows, _, skipped) = visitedTotals(sequenceLength: n, blocks: blocks, causal: causal)
    return (TrafficCount(readElements: n * d + 2 * d * keyRows, writeElements: n * d + n), skipped)
  }

  /// What the backward pass needs from the forward: O and L.
  public struct Outputs: Sendable {
    public let output: HBMTensor
    public let logSumExp: HBMTensor
    /// Blocks skipped by the causal mask.
    public let skippedBlocks: Int
  }

  public static func run(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    blocks: BlockSizes, problem: AttentionProblem, context: HeadContext
  ) throws -> Outputs {
    let n = q.rows
    let d = q.columns
    let bc = blocks.keyBlockSize
    let tau = problem.softmaxScale
    let output = try machine.allocateTensor("O", operand: .output, rows: n, columns: d, elementType: problem.dataType)
    let logSumExp = try machine.allocateTensor("L", operand: .logSumExp, rows: n, columns: 1, elementType: problem.statisticsType)
    let tiles = try tilePlan(blocks: blocks, problem: problem).map { try machine.allocate($0) }
    let (qi, oi, kj, vj, sij) = (tiles.queries, tiles.output, tiles.keys, tiles.values, tiles.scores)
    let (mi, li, mNew, lt, alpha) = (tiles.rowMax, tiles.rowSum, tiles.newMax, tiles.blockSum, tiles.outputFactor)
    let skipped = visitedTotals(sequenceLength: n, blocks: blocks, causal: context.causal).skipped
    let br = blocks.queryBlockSize
    let replayable = machine.canReplay && !context.causal && context.validKeys == n

    for i in 0..<blocks.queryBlockCount(n) {
      let visible = visibleKeyBlocks(queryBlock: i, sequenceLength: n, blocks: blocks, causal: context.causal)
      guard visible > 0 else { continue }
      let queryRows = i * br..<min(n, (i + 1) * br)
      let r = queryRows.count
      try machine.load(q, rows: queryRows, into: qi)
      machine.compute("O_i = 0, ℓ_i = 0, m_i = −∞", kind: .other, flops: 0) { sram in
        sram[oi].update(repeating: 0, count: oi.elementCount)
        sram[li].update(repeating: 0, count: r)
        sram[mi].update(repeating: -.infinity, count: r)
      }
      func step(_ j: Int) throws {
        let keyRows = j * bc..<min(n, (j + 1) * bc)
        let c = keyRows.count
        try machine.load(k, rows: keyRows, into: kj)
        try machine.load(v, rows: keyRows, into: vj)
        machine.compute("S_ij = τ·Q_i·K_jᵀ", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiplyTransposedB(
            a: sram[qi], lda: d, b: sram[kj], ldb: d, c: sram[sij], ldc: bc, rows: r, columns: c, depth: d, alpha: tau, accumulate: false)
        }
        applyMasks(on: &machine, tile: sij, context: context, rows: queryRows, columns: keyRows)
        machine.compute("m_new = max(m_i, rowmax S), P̃ = exp(S − m_new), ℓ_i = e^{m_i−m_new}ℓ_i + rowsum P̃", kind: .other, flops: 4 * r * c + 5 * r) { sram in
          RowReductions.rowMax(sram[sij], ld: bc, rows: r, columns: c, into: sram[mNew])
          for x in 0..<r { sram[mNew][x] = max(sram[mNew][x], sram[mi][x]) }
          SoftmaxKernels.exponentiateRows(sram[sij], ld: bc, rows: r, columns: c, rowMax: sram[mNew], rowSum: sram[lt])
          for x in 0..<r {
            let factor: Float = sram[mNew][x] == -.infinity ? 0 : exp(sram[mi][x] - sram[mNew][x])
            sram[alpha][x] = factor
            sram[li][x] = factor * sram[li][x] + sram[lt][x]
            sram[mi][x] = sram[mNew][x]
          }
        }
        machine.compute("O_i ← diag(e^{m_old−m_new})·O_i", kind: .other, flops: r * d) { sram in
          SoftmaxKernels.scaleRows(sram[oi], ld: d, rows: r, columns: d, factors: sram[alpha])
        }
        if context.dropout.isActive {
          machine.compute("P̃ ← dropout(P̃)", kind: .other, flops: r * c) { sram in
            context.dropout.apply(to: sram[sij], ld: bc, rows: r, columns: c, rowStart: queryRows.lowerBound, columnStart: keyRows.lowerBound)
          }
        }
        machine.compute("O_i += P̃_ij·V_j", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiply(
            a: sram[sij], lda: bc, b: sram[vj], ldb: d, c: sram[oi], ldc: d, rows: r, columns: d, depth: c, alpha: 1, accumulate: true)
        }
      }
      // Count mode: the full key blocks of a head without causal or padding masks are the same
      // step (only their rows differ, and counts are sums): the first is stepped, the others
      // are counted from its ledger change.
      let fullBlocks = replayable ? min(visible, n / bc) : 0
      if fullBlocks > 0 {
        let before = machine.ledger
        try step(0)
        try machine.replay(machine.ledger.subtracting(before), times: fullBlocks - 1)
      }
      for j in fullBlocks..<visible { try step(j) }
      machine.compute("O_i = diag(ℓ_i)⁻¹·O_i, L_i = m_i + log ℓ_i", kind: .other, flops: r * d + 3 * r) { sram in
        for x in 0..<r {
          let l = sram[li][x]
          sram[alpha][x] = l > 0 ? 1 / l : 0
          sram[mi][x] = l > 0 ? sram[mi][x] + log(l) : -.infinity
        }
        SoftmaxKernels.scaleRows(sram[oi], ld: d, rows: r, columns: d, factors: sram[alpha])
      }
      try machine.store(oi, into: output, rows: queryRows)
      try machine.store(mi, into: logSumExp, rows: queryRows)
    }
    machine.free(tiles.all)
    return Outputs(output: output, logSumExp: logSumExp, skippedBlocks: skipped)
  }
}
