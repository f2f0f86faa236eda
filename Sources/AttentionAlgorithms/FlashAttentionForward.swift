import Foundation
import MemoryHierarchy
import TileKernels

/// FlashAttention forward, the paper's Algorithm 1 (with Algorithm 2's scale τ, causal and
/// key-padding masks and dropout): the outer loop streams K/V blocks into SRAM, the inner loop
/// streams Q blocks past them, and an online softmax (running max m and sum ℓ) keeps O exact
/// without ever writing the N×N matrices S or P to HBM. Dropout is applied to P̃ after ℓ̃ is
/// taken, so the normaliser uses the undropped probabilities, and its mask is never stored.
///
/// ```
/// for j in 0..<Tc:                      load K_j, V_j            (2·Bc·d)
///   for i in 0..<Tr:                    load Q_i, O_i, ℓ_i, m_i  (2·Br·d + 2·Br)
///     S_ij = τ Q_i K_jᵀ;  m̃ = rowmax S;  P̃ = exp(S − m̃);  ℓ̃ = rowsum P̃
///     m_new = max(m_i, m̃);  ℓ_new = e^{m_i−m_new} ℓ_i + e^{m̃−m_new} ℓ̃
///     O_i ← diag(ℓ_new)⁻¹ (diag(ℓ_i) e^{m_i−m_new} O_i + e^{m̃−m_new} P̃ V_j)
///     store O_i, ℓ_i ← ℓ_new, m_i ← m_new                         (Br·d + 2·Br)
/// ```
///
/// - Complexity: 4N²d matmul FLOPs; HBM traffic per head exactly 2Nd + T_c(3Nd + 4N) elements
///   with T_c = ⌈N/Bc⌉, i.e. Θ(N²d²/M) (Theorem 2). Initialising O, ℓ, m in HBM (line 2) is not
///   counted. The count does not depend on Br.
public enum FlashAttentionForward {
  /// The tiles Algorithm 1 keeps in SRAM at once: K_j, V_j (Bc×d), Q_i, O_i (Br×d), S_ij
  /// (Br×Bc) in the data type; m_i, ℓ_i and four per-row temporaries (m̃, ℓ̃ and the two
  /// rescale factors) in the statistics type.
  public static func tilePlan(blocks: BlockSizes, problem: AttentionProblem) -> [TileRequest] {
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let d = problem.headDimension
    let data = problem.dataType
    let stats = problem.statisticsType
    return [
      TileRequest("K_j", .key, rows: bc, columns: d, data),
      TileRequest("V_j", .value, rows: bc, columns: d, data),
      TileRequest("Q_i", .query, rows: br, columns: d, data),
      TileRequest("O_i", .output, rows: br, columns: d, data, level: .registers),
      TileRequest("S_ij", .scores, rows: br, columns: bc, data, level: .registers),
      TileRequest("m_i", .rowMax, rows: br, columns: 1, stats, level: .registers),
      TileRequest("ℓ_i", .rowSum, rows: br, columns: 1, stats, level: .registers),
      TileRequest("m̃_ij", .rowMax, rows: br, columns: 1, stats, level: .registers),
      TileRequest("ℓ̃_ij", .rowSum, rows: br, columns: 1, stats, level: .registers),
      TileRequest("α_i", .other, rows: br, columns: 1, stats, level: .registers),
      TileRequest("β_i", .other, rows: br, columns: 1, stats, level: .registers),
    ]
  }

  /// Exact HBM elements per head: reads 2Nd + T_c(2Nd + 2N), writes T_c(Nd + 2N).
  public static func closedForm(sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes) -> TrafficCount {
    let tc = blocks.keyBlockCount(n)
    return TrafficCount(readElements: 2 * n * d + tc * (2 * n * d + 2 * n), writeElements: tc * (n * d + 2 * n))
  }

  /// The HBM tensors a forward run leaves behind.
  public struct Outputs: Sendable {
    public let output: HBMTensor
    public let rowSum: HBMTensor
    public let rowMax: HBMTensor
  }

  /// Runs Algorithm 1 for one head whose Q, K, V are already in `machine`'s HBM; with a
  /// `blockMask`, Algorithm 5 (block-sparse): the inner body runs only for nonzero blocks, and
  /// K_j, V_j are still loaded for empty columns unless `skipEmptyColumns`.
  ///
  /// - Parameter afterOuterIteration: called after each outer step j with the machine, so tests
  ///   can check the proof of Theorem 1 (after step j, HBM holds the softmax over the first j key
  ///   blocks).
  public static func run(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    blocks: BlockSizes, problem: AttentionProblem, context: HeadContext? = nil,
    blockMask: BlockMask? = nil, skipEmptyColumns: Bool = false,
    afterOuterIteration: ((Int, Machine, Outputs) -> Void)? = nil
  ) throws -> Outputs {
    let context = context ?? problem.headContext(0)
    let n = q.rows
    let d = q.columns
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    let tau = problem.softmaxScale

    // Line 2: O = 0, ℓ = 0, m = −∞ in HBM (placement, not counted as traffic).
    let outputs = Outputs(
      output: try machine.allocateTensor("O", operand: .output, rows: n, columns: d, elementType: problem.dataType),
      rowSum: try machine.allocateTensor("ℓ", operand: .rowSum, rows: n, columns: 1, elementType: problem.statisticsType),
      rowMax: try machine.allocateTensor(
        "m", operand: .rowMax, rows: n, columns: 1, elementType: problem.statisticsType, fill: -.infinity))

    let tiles = try machine.allocate(tilePlan(blocks: blocks, problem: problem))
    let (kj, vj, qi, oi, sij, mi, li, mt, lt, alpha, beta) =
      (tiles[0], tiles[1], tiles[2], tiles[3], tiles[4], tiles[5], tiles[6], tiles[7], tiles[8], tiles[9], tiles[10])
    // The CPU kernels read K_j transposed (d × Bc) for S = Q_i·K_jᵀ, as a GPU reads it from
    // shared memory with a transposing load: transposed once per K_j, not once per Q_i. The
    // copy is kernel scratch outside the simulated memory and changes no count.
    var keysTransposed = TransposedTileCache(rows: bc, columns: d, enabled: machine.executes)
    defer { keysTransposed.deallocate() }

    let replayable = machine.canReplay && !context.causal && context.validKeys == n
    for j in 0..<blocks.keyBlockCount(n) {
      let keyRows = j * bc..<min(n, (j + 1) * bc)
      let c = keyRows.count
      if let blockMask, skipEmptyColumns, blockMask.isColumnEmpty(j) {
        afterOuterIteration?(j, machine, outputs)
        continue
      }
      try machine.load(k, rows: keyRows, into: kj)
      try machine.load(v, rows: keyRows, into: vj)
      func step(_ i: Int) throws {
        // Algorithm 5: the whole inner body is guarded by M_ij ≠ 0.
        if let blockMask, !blockMask[i, j] { return }
        let queryRows = i * br..<min(n, (i + 1) * br)
        let r = queryRows.count
        try machine.load(q, rows: queryRows, into: qi)
        try machine.load(outputs.output, rows: queryRows, into: oi)
        try machine.load(outputs.rowSum, rows: queryRows, into: li)
        try machine.load(outputs.rowMax, rows: queryRows, into: mi)

        machine.compute("S_ij = τ·Q_i·K_jᵀ", kind: .matmul, flops: 2 * r * c * d) { sram in
          let kT = keysTransposed.transposed(sram[kj], ld: d, rows: c, block: j)
          TileGEMM.multiply(
            a: sram[qi], lda: d, b: kT, ldb: bc, c: sram[sij], ldc: bc,
            rows: r, columns: c, depth: d, alpha: tau, accumulate: false)
        }
        applyMasks(on: &machine, tile: sij, context: context, rows: queryRows, columns: keyRows)
        machine.compute("m̃ = rowmax(S), P̃ = exp(S − m̃), ℓ̃ = rowsum(P̃)", kind: .other, flops: 4 * r * c) { sram in
          SoftmaxKernels.exponentiateAboveRowMax(sram[sij], ld: bc, rows: r, columns: c, rowMax: sram[mt], rowSum: sram[lt])
        }
        machine.compute("m_new, ℓ_new and the rescale factors", kind: .other, flops: OnlineSoftmax.updateFLOPsPerRow * r) { sram in
          OnlineSoftmax.update(
            rowMax: sram[mi], rowSum: sram[li], blockMax: sram[mt], blockSum: sram[lt],
            outputFactor: sram[alpha], blockFactor: sram[beta], rows: r)
        }
        // The rescaling by α and β is counted in this step and done in the next one: the CPU
        // product folds O_i ← α·O_i + β·(P̃·V_j) into its final stores (one pass, not three).
        // Dropout's row-independent multipliers commute with β.
        machine.compute("rescale O_i by α and P̃ by β (fused into the product below)", kind: .other, flops: r * d + r * c) { _ in }
        if context.dropout.isActive {
          machine.compute("P̃ ← dropout(P̃)", kind: .other, flops: r * c) { sram in
            context.dropout.apply(to: sram[sij], ld: bc, rows: r, columns: c, rowStart: queryRows.lowerBound, columnStart: keyRows.lowerBound)
          }
        }
        machine.compute("O_i ← α·O_i + β·P̃_ij·V_j", kind: .matmul, flops: 2 * r * c * d) { sram in
          TileGEMM.multiply(
            a: sram[sij], lda: bc, b: sram[vj], ldb: d, c: sram[oi], ldc: d,
            rows: r, columns: d, depth: c, rowScales: sram[beta], outputScales: sram[alpha])
        }
        try machine.store(oi, into: outputs.output, rows: queryRows)
        try machine.store(li, into: outputs.rowSum, rows: queryRows)
        try machine.store(mi, into: outputs.rowMax, rows: queryRows)
      }
      // Count mode: the full query blocks of a head without causal or padding masks are the
      // same step (only their rows differ, and counts are sums), so the first one the block
      // mask keeps is stepped and the others it keeps are counted from its ledger change.
      let tr = blocks.queryBlockCount(n)
      let fullBlocks = replayable ? n / br : 0
      var firstChange: IOLedger?
      var repeats = 0
      for i in 0..<fullBlocks {
        if let blockMask, !blockMask[i, j] { continue }
        if firstChange == nil {
          let before = machine.ledger
          try step(i)
          firstChange = machine.ledger.subtracting(before)
        } else if blockMask == nil {
          repeats = fullBlocks - 1
          break
        } else {
          repeats += 1
        }
      }
      if let firstChange { try machine.replay(firstChange, times: repeats) }
      for i in fullBlocks..<tr { try step(i) }
      afterOuterIteration?(j, machine, outputs)
    }
    machine.free(tiles)
    return outputs
  }
}

/// Sets the masked entries of an S tile to −∞: the causal mask where the block crosses the
/// diagonal, the key-padding mask where it holds padded keys; `rows·columns` FLOPs for each mask
/// applied. Blocks with nothing to mask cost nothing.
func applyMasks(on machine: inout Machine, tile: SRAMTile, context: HeadContext, rows: Range<Int>, columns: Range<Int>) {
  let (r, c) = (rows.count, columns.count)
  if context.needsCausalMask(rowStart: rows.lowerBound, rows: r, columnStart: columns.lowerBound, columns: c) {
    machine.compute("S ← causal mask(S)", kind: .other, flops: r * c) { sram in
      TileMasks.applyCausal(sram[tile], ld: tile.columns, rows: r, columns: c, rowOffset: rows.lowerBound, columnOffset: columns.lowerBound)
    }
  }
  if context.needsPaddingMask(columnStart: columns.lowerBound, columns: c) {
    machine.compute("S ← key-padding mask(S)", kind: .other, flops: r * c) { sram in
      TileMasks.applyKeyPadding(sram[tile], ld: tile.columns, rows: r, columns: c, columnOffset: columns.lowerBound, validColumns: context.validKeys)
    }
  }
}

/// An exact HBM traffic count in elements.
public struct TrafficCount: Hashable, Sendable, CustomStringConvertible {
  public var readElements: Int
  public var writeElements: Int

  public init(readElements: Int, writeElements: Int) {
    self.readElements = readElements
    self.writeElements = writeElements
  }

  public var totalElements: Int { readElements + writeElements }
  public var description: String { "reads \(readElements), writes \(writeElements)" }

  public static func + (a: TrafficCount, b: TrafficCount) -> TrafficCount {
    TrafficCount(readElements: a.readElements + b.readElements, writeElements: a.writeElements + b.writeElements)
  }

  public static func * (a: TrafficCount, k: Int) -> TrafficCount {
    TrafficCount(readElements: a.readElements * k, writeElements: a.writeElements * k)
  }
}
