import Foundation
import AttentionAlgorithms
import MemoryHierarchy
import TileKernels

/// One decode step of PagedAttention (vLLM §4.1, the legacy `paged_attention_v1/v2` kernels):
/// every sequence writes its new token's K and V into its block table's last slot, then its query
/// (one token, h_q heads) attends to the whole context, gathering K and V block by block through
/// the block table. With `splits` S > 1 the context is cut into partitions computed
/// independently (Flash-Decoding / PagedAttention v2), each writing a partial output and its
/// logsumexp, and a reduction kernel merges them.
///
/// Per sequence of context length L (the new token included), per work item (a query head, or a
/// KV head with its G query heads as r rows) and per partition p:
///
/// ```
/// for g in 0..<h_kv: store k_new, v_new → slot (L−1) of the block table        (2d)
/// for each work item, partition p:
///   load q (r×d)                                                                 (r·d)
///   for each chunk of the partition's blocks: load block-table entries          (n_p)
///   for j in the partition's blocks:
///     load K_j (B×d) of physical block table[j]                                  (B·d)
///     s = τ q K_jᵀ;  slots ≥ L of the last block → −∞
///     m̃ = rowmax s;  p̃ = e^{s−m̃};  ℓ̃ = rowsum p̃;  merge into (m, ℓ) → α, β
///     load V_j (B×d); zero rows ≥ L                                              (B·d)
///     O ← α·O + β·p̃·V_j
///   P = 1: store O (r×d) → output                                               (r·d)
///   P > 1: store O → partial output, m + log ℓ → logsumexp                      (r·d + r)
/// P > 1, reduction per work item: load every partial and logsumexp              (P·(r·d + r))
///   merge them with the same online-softmax update (ℓ̃ = 1); store O             (r·d)
/// ```
///
/// Every K and V block is read in full, padding slots of the last block included (the legacy
/// kernel loads them before masking), so a context costs ⌈L/B⌉·B tokens of K and of V.
/// vLLM v1 keeps all logits in shared memory and makes two passes (K, then V); this kernel uses an
/// online softmax in one pass, which moves exactly the same HBM data with SRAM bounded by B.
///
/// - Complexity: `closedForm(contextLength:configuration:)` gives every operand's traffic; for
///   P = min(S, ⌈L/B⌉), W work items of r rows (W·r = h_q), per sequence: reads
///   P·h_q·d (Q) + W·⌈L/B⌉ (block table) + 2·W·⌈L/B⌉·B·d (K, V), writes 2·h_kv·d (new K, V) +
///   h_q·d (O), plus, when P > 1, P·h_q·(d + 1) written and read back (partials, logsumexp).
///   Matmul FLOPs 4·h_q·⌈L/B⌉·B·d.
public enum PagedDecodeAttention {
  /// The HBM tensors a step reads and writes besides the pool.
  public struct Tensors: Sendable {
    /// Q, (batch·h_q) × d: row s·h_q + h is query head h of sequence s.
    public let queries: HBMTensor
    /// O, same shape as Q.
    public let output: HBMTensor
    /// Block tables, batch × (max blocks per sequence): entry (s, j) is the physical block of
    /// logical block j of sequence s.
    public let blockTable: HBMTensor
    /// Partial outputs, (batch·S·h_q) × d, fp32: row (s·S + p)·h_q + h. Nil without a split.
    public let partialOutput: HBMTensor?
    /// Logsumexp of each partial, (batch·S·h_q) × 1, fp32. Nil without a split.
    public let logSumExp: HBMTensor?

    public init(queries: HBMTensor, output: HBMTensor, blockTable: HBMTensor, partialOutput: HBMTensor?, logSumExp: HBMTensor?) {
      self.queries = queries
      self.output = output
      self.blockTable = blockTable
      self.partialOutput = partialOutput
      self.logSumExp = logSumExp
    }
  }

  /// One sequence of the batch: its block table, which already holds the new token (so
  /// `tokenCount` = L), and the new token's K and V (h_kv·d values each; execute mode only).
  public struct Sequence: Sendable {
    public let table: BlockTable
    public let newKeys: [Float]?
    public let newValues: [Float]?

    public init(table: BlockTable, newKeys: [Float]? = nil, newValues: [Float]? = nil) {
      self.table = table
      self.newKeys = newKeys
      self.newValues = newValues
    }
  }

  /// Runs one decode step for `sequences` (sequence s uses row s of the batch tensors).
  ///
  /// In execute mode the kernel addresses K and V through the block-table entries it loaded from
  /// HBM (as the GPU kernel does); in count mode, through the host tables, which hold the same
  /// values. Both modes count the same.
  ///
  /// - Throws: `MachineError` (SRAM overflow, out-of-range transfer); `PagedKVError` for a pool
  ///   that does not match the configuration, a table that is empty or not ⌈L/B⌉ blocks long, or
  ///   a block-table entry that is not a block index.
  public static func run(
    on machine: inout Machine, pool: KVPool, tensors: Tensors, sequences: [Sequence], configuration c: PagedDecodeConfiguration
  ) throws {
    let cache = pool.configuration
    guard cache.blockSize == c.blockSize, cache.keyValueHeads == c.keyValueHeads, cache.headDimension == c.headDimension else {
      throw PagedKVError.invalidArgument(
        "the pool (B=\(cache.blockSize), h_kv=\(cache.keyValueHeads), d=\(cache.headDimension)) does not match the step "
          + "(B=\(c.blockSize), h_kv=\(c.keyValueHeads), d=\(c.headDimension))")
    }
    for (s, sequence) in sequences.enumerated() {
      let table = sequence.table
      guard table.tokenCount > 0, table.blockSize == c.blockSize,
        table.blockCount == BlockTable.blocksNeeded(tokens: table.tokenCount, blockSize: c.blockSize)
      else {
        throw PagedKVError.invalidArgument(
          "sequence \(s) must hold at least one token in ⌈L/B⌉ blocks of \(c.blockSize); it holds \(table.tokenCount) in \(table.blockCount) of \(table.blockSize)")
      }
    }
    let tiles = try allocateTiles(on: &machine, c)
    defer { machine.free(tiles.all) }
    for (s, sequence) in sequences.enumerated() {
      try writeNewToken(on: &machine, pool: pool, sequence: sequence, configuration: c, tiles: tiles)
      let partitions = c.partitions(contextLength: sequence.table.tokenCount)
      for item in 0..<c.workItemsPerSequence {
        for p in 0..<partitions {
          try attend(
            on: &machine, pool: pool, tensors: tensors, sequenceIndex: s, table: sequence.table, workItem: item,
            partition: p, of: partitions, configuration: c, tiles: tiles)
        }
        if partitions > 1 {
          try reduce(
            on: &machine, tensors: tensors, sequenceIndex: s, workItem: item, partitions: partitions, configuration: c, tiles: tiles)
        }
      }
    }
  }

  /// The new token's k and v (the QKV projection's output, on chip) stored into slot L−1 of the
  /// block table, for every KV head: 2·h_kv·d elements written.
  static func writeNewToken(
    on machine: inout Machine, pool: KVPool, sequence: Sequence, configuration c: PagedDecodeConfiguration, tiles: Tiles<SRAMTile>
  ) throws {
    let d = c.headDimension
    let slot = sequence.table.slot(ofToken: sequence.table.tokenCount - 1)
    for g in 0..<c.keyValueHeads {
      machine.compute("k_new, v_new from the QKV projection (on chip)", kind: .other, flops: 0) { sram in
        guard let keys = sequence.newKeys, let values = sequence.newValues else { return }
        precondition(keys.count == c.keyValueHeads * d && values.count == keys.count, "new K/V must hold h_kv·d values")
        keys.withUnsafeBufferPointer { sram[tiles.kNew].update(from: $0.baseAddress! + g * d, count: d) }
        values.withUnsafeBufferPointer { sram[tiles.vNew].update(from: $0.baseAddress! + g * d, count: d) }
      }
      let row = pool.configuration.poolRow(block: slot.physicalBlock, head: g, slot: slot.offset)
      try machine.store(tiles.kNew, into: pool.keys, rows: row..<(row + 1))
      try machine.store(tiles.vNew, into: pool.values, rows: row..<(row + 1))
    }
  }

  /// One work item over one partition: the online softmax over the partition's blocks.
  static func attend(
    on machine: inout Machine, pool: KVPool, tensors: Tensors, sequenceIndex s: Int, table: BlockTable, workItem w: Int,
    partition p: Int, of partitions: Int, configuration c: PagedDecodeConfiguration, tiles t: Tiles<SRAMTile>,
    scores: HBMTensor? = nil
  ) throws {
    let r = c.rowsPerWorkItem
    let d = c.headDimension
    let b = c.blockSize
    let tau = c.softmaxScale
    let firstHead = w * r
    let kvHead = firstHead / c.groupSize
    let queryRows = (s * c.queryHeads + firstHead)..<(s * c.queryHeads + firstHead + r)
    let blocks = PagedDecodeConfiguration.partition(p, of: partitions, blocks: table.blockCount)

    try machine.load(tensors.queries, rows: queryRows, into: t.q)
    machine.compute("O = 0, m = −∞, ℓ = 0 on chip", kind: .other, flops: 0) { sram in
      sram[t.o].update(repeating: 0, count: r * d)
      sram[t.m].update(repeating: -.infinity, count: r)
      sram[t.l].update(repeating: 0, count: r)
    }
    var chunkStart = blocks.lowerBound
    while chunkStart < blocks.upperBound {
      let chunk = chunkStart..<min(blocks.upperBound, chunkStart + PagedDecodeConfiguration.blockTableChunk)
      try machine.load(tensors.blockTable, rows: s..<(s + 1), columns: chunk, into: t.entries)
      let physical = try physicalBlocks(chunk, table: table, machine: machine, tile: t.entries, blockCount: pool.configuration.blockCount)
      for (j, block) in zip(chunk, physical) {
        let fill = table.fillCount(ofLogicalBlock: j)
        try machine.load(pool.keys, rows: pool.rows(block: block, head: kvHead), into: t.k)
        machine.compute("s = τ·q·K_jᵀ", kind: .matmul, flops: 2 * r * b * d) { sram in
          TileGEMM.multiplyTransposedB(
            a: sram[t.q], lda: d, b: sram[t.k], ldb: d, c: sram[t.s], ldc: b, rows: r, columns: b, depth: d,
            alpha: tau, accumulate: false)
          TileMasks.applyKeyPadding(sram[t.s], ld: b, rows: r, columns: b, columnOffset: 0, validColumns: fill)
        }
        if let scores {
          // Heavy-hitter tracking (H2O) keeps the masked logits of every block read: row h of
          // the sequence's query heads, columns of logical block j.
          try machine.store(t.s, into: scores, rows: queryRows, columns: (j * b)..<((j + 1) * b))
        }
        machine.compute("m̃ = rowmax(s), p̃ = exp(s − m̃), ℓ̃ = rowsum(p̃)", kind: .other, flops: 4 * r * b) { sram in
          RowReductions.rowMax(sram[t.s], ld: b, rows: r, columns: b, into: sram[t.mt])
          SoftmaxKernels.exponentiateRows(sram[t.s], ld: b, rows: r, columns: b, rowMax: sram[t.mt], rowSum: sram[t.lt])
        }
        machine.compute("m_new, ℓ_new and the rescale factors", kind: .other, flops: OnlineSoftmax.updateFLOPsPerRow * r) { sram in
          OnlineSoftmax.update(
            rowMax: sram[t.m], rowSum: sram[t.l], blockMax: sram[t.mt], blockSum: sram[t.lt],
            outputFactor: sram[t.alpha], blockFactor: sram[t.beta], rows: r)
        }
        try machine.load(pool.values, rows: pool.rows(block: block, head: kvHead), into: t.v)
        machine.compute("O ← α·O + (β·p̃)·V_j", kind: .other, flops: r * d + r * b) { sram in
          // Slots past the end of the sequence may hold anything (NaN, an old owner's data):
          // zero them, as the legacy kernel does, so 0·garbage cannot poison O.
          if fill < b { (sram[t.v] + fill * d).update(repeating: 0, count: (b - fill) * d) }
          SoftmaxKernels.scaleRows(sram[t.o], ld: d, rows: r, columns: d, factors: sram[t.alpha])
          SoftmaxKernels.scaleRows(sram[t.s], ld: b, rows: r, columns: b, factors: sram[t.beta])
        }
        machine.compute("O += p̃·V_j", kind: .matmul, flops: 2 * r * b * d) { sram in
          TileGEMM.multiply(
            a: sram[t.s], lda: b, b: sram[t.v], ldb: d, c: sram[t.o], ldc: d, rows: r, columns: d, depth: b,
            alpha: 1, accumulate: true)
        }
      }
      chunkStart = chunk.upperBound
    }
    if partitions == 1 {
      try machine.store(t.o, into: tensors.output, rows: queryRows)
      return
    }
    guard let partialOutput = tensors.partialOutput, let logSumExp = tensors.logSumExp, let lse = t.logSumExp else {
      throw PagedKVError.invalidArgument("a split step needs the partial-output and logsumexp tensors")
    }
    machine.compute("L = m + log ℓ", kind: .other, flops: 2 * r) { sram in
      let m = sram[t.m]
      let l = sram[t.l]
      let out = sram[lse]
      for i in 0..<r { out[i] = m[i] + Foundation.log(l[i]) }
    }
    let rows = partialRows(sequence: s, partition: p, firstHead: firstHead, configuration: c)
    try machine.store(t.o, into: partialOutput, rows: rows)
    try machine.store(lse, into: logSumExp, rows: rows)
  }

  /// The physical blocks of `chunk`: read from the entries just loaded into SRAM in execute mode,
  /// taken from the host table in count mode.
  static func physicalBlocks(_ chunk: Range<Int>, table: BlockTable, machine: Machine, tile: SRAMTile, blockCount: Int) throws -> [Int] {
    guard machine.executes else { return Array(table.physicalBlocks[chunk]) }
    return try machine.values(of: tile, rows: 1, columns: chunk.count).map { entry in
      guard let block = Int(exactly: entry), (0..<blockCount).contains(block) else {
        throw PagedKVError.invalidArgument("block-table entry \(entry) is not a block of the pool")
      }
      return block
    }
  }
}
