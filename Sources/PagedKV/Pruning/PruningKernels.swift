import AttentionAlgorithms
import Foundation
import MemoryHierarchy

/// The kernels a pruning policy adds to paged decode, on the machine and counted: Quest's page
/// summaries and top-K selection, H2O's score accumulation, and compaction's copies. Their
/// choices come from the host (the policy); the kernels move exactly the data a GPU kernel
/// making the same choice on chip would move.
struct PruningKernels {
  let configuration: PagedDecodeConfiguration
  let pool: KVPool
  let blockCount: Int
  /// Per (block, KV head): two rows of d, the min then the max (operand Ksum).
  var bounds: HBMTensor?
  /// Accumulated attention per pool slot, 1 × (blocks·B), fp32 (operand other).
  var accumulator: HBMTensor?
  var boundsTile: SRAMTile?
  var logitTile: SRAMTile?
  var accumulatorTile: SRAMTile?
  var rowMax: SRAMTile?
  var rowSum: SRAMTile?
  var moveTile: SRAMTile?

  init(configuration: PagedDecodeConfiguration, pool: KVPool, blockCount: Int) {
    self.configuration = configuration
    self.pool = pool
    self.blockCount = blockCount
  }

  mutating func allocate(on machine: inout Machine, bounds keepsBounds: Bool, scores keepsScores: Bool) throws {
    let c = configuration
    let f32 = PagedDecodeConfiguration.accumulatorType
    if keepsBounds {
      bounds = try machine.allocateTensor(
        "page key bounds", operand: .keySummary, rows: blockCount * c.keyValueHeads * 2, columns: c.headDimension,
        elementType: c.dataType)
      boundsTile = try machine.allocateTile("Kmin, Kmax", operand: .keySummary, rows: 2, columns: c.headDimension, elementType: c.dataType)
    }
    if keepsScores {
      accumulator = try machine.allocateTensor(
        "accumulated attention", operand: .other, rows: 1, columns: blockCount * c.blockSize, elementType: f32, fill: 0)
      logitTile = try machine.allocateTile("s_j (all heads)", operand: .scores, rows: c.queryHeads, columns: c.blockSize, elementType: f32)
      accumulatorTile = try machine.allocateTile("A_j", operand: .other, rows: 1, columns: c.blockSize, elementType: f32)
      rowMax = try machine.allocateTile("m", operand: .rowMax, rows: c.queryHeads, columns: 1, elementType: f32)
      rowSum = try machine.allocateTile("ℓ", operand: .rowSum, rows: c.queryHeads, columns: 1, elementType: f32)
      moveTile = try machine.allocateTile("moved k or v", operand: .key, rows: 1, columns: c.headDimension, elementType: c.dataType)
    }
  }

  // MARK: Quest

  /// Writes the bounds of page `index` (full): per KV head, loads its K tile and stores the
  /// elementwise min and max. Also records them on the host.
  func summarize(
    page index: Int, cache: PrunedKVCache, inputs: DecodeInputs, on machine: inout Machine, tiles: PagedDecodeAttention.Tiles<SRAMTile>,
    host: inout PageKeyBounds
  ) throws {
    guard let bounds, let tile = boundsTile else { return }
    let c = configuration
    let (b, d) = (c.blockSize, c.headDimension)
    let page = cache.pages[index]
    for g in 0..<c.keyValueHeads {
      try machine.load(pool.keys, rows: pool.rows(block: page.physicalBlock, head: g), into: tiles.k)
      machine.compute("page key bounds: elementwise min and max", kind: .other, flops: 2 * b * d) { sram in
        let k = sram[tiles.k]
        let out = sram[tile]
        for x in 0..<d {
          out[x] = k[x]
          out[d + x] = k[x]
        }
        for row in 1..<b {
          for x in 0..<d {
            out[x] = min(out[x], k[row * d + x])
            out[d + x] = max(out[d + x], k[row * d + x])
          }
        }
      }
      let row = (page.physicalBlock * c.keyValueHeads + g) * 2
      try machine.store(tile, into: bounds, rows: row..<(row + 2))
      let base = row * d
      for x in 0..<d {
        var low = Float.infinity
        var high = -Float.infinity
        for t in page.positions {
          let k = inputs.keys[(g * inputs.tokenCount + t) * d + x]
          low = min(low, k)
          high = max(high, k)
        }
        host.storage[base + x] = low
        host.storage[base + d + x] = high
      }
    }
  }

  /// Quest's selection, per work item: loads the bounds of every full page but the last, ranks
  /// them (on chip), gathers the chosen pages' block-table entries and stores them as the compact
  /// table the attention kernel reads. Returns one compact table per work item.
  func select(
    _ selection: [[Int]], cache: PrunedKVCache, blockTable: HBMTensor, on machine: inout Machine, tiles: PagedDecodeAttention.Tiles<SRAMTile>
  ) throws -> [HBMTensor] {
    guard let bounds, let tile = boundsTile else {
      throw PagedKVError.invariantViolated("page selection needs the key bounds")
    }
    let c = configuration
    let (r, d) = (c.rowsPerWorkItem, c.headDimension)
    let candidates = cache.pageCount - 1
    var tables: [HBMTensor] = []
    for (item, pages) in selection.enumerated() {
      let g = (item * r) / c.groupSize
      for i in 0..<candidates {
        let row = (cache.pages[i].physicalBlock * c.keyValueHeads + g) * 2
        try machine.load(bounds, rows: row..<(row + 2), into: tile)
      }
      machine.compute("Quest: Σ max(q·Kmin, q·Kmax) per page, top K", kind: .other, flops: 4 * r * d * candidates) { _ in }
      let compact = try machine.allocateTensor(
        "selected pages \(item)", operand: .blockTable, rows: 1, columns: pages.count, elementType: PagedDecodeConfiguration.blockTableType)
      tables.append(compact)
      for i in pages { try machine.load(blockTable, rows: 0..<1, columns: i..<(i + 1), into: tiles.entries) }
      var chunkStart = 0
      while chunkStart < pages.count {
        let chunk = chunkStart..<min(pages.count, chunkStart + PagedDecodeConfiguration.blockTableChunk)
        machine.compute("gather the chosen entries", kind: .other, flops: 0) { sram in
          let out = sram[tiles.entries]
          for (k, i) in chunk.enumerated() { out[k] = Float(cache.pages[pages[i]].physicalBlock) }
        }
        try machine.store(tiles.entries, into: compact, rows: 0..<1, columns: chunk)
        chunkStart = chunk.upperBound
      }
    }
    return tables
  }

  // MARK: H2O

  /// The new token's accumulator starts at 0 (its slot may hold an evicted token's).
  func clearAccumulator(slot: Int, cache: PrunedKVCache, on machine: inout Machine) throws {
    guard let accumulator, let tile = accumulatorTile else { return }
    let b = configuration.blockSize
    let column = cache.pages[slot / b].physicalBlock * b + slot % b
    machine.compute("A = 0 for the new token", kind: .other, flops: 0) { sram in sram[tile][0] = 0 }
    try machine.store(tile, into: accumulator, rows: 0..<1, columns: column..<(column + 1))
  }

  /// Adds this step's attention probabilities, summed over the query heads, to each resident
  /// slot's accumulator: one pass over the stored logits for each row's logsumexp L, a second for
  /// A += Σ_h e^{s_h − L_h}.
  func accumulate(logits: HBMTensor, cache: PrunedKVCache, on machine: inout Machine) throws {
    guard let accumulator, let s = logitTile, let a = accumulatorTile, let m = rowMax, let l = rowSum else { return }
    let c = configuration
    let (b, hq) = (c.blockSize, c.queryHeads)
    machine.compute("m = −∞, ℓ = 0", kind: .other, flops: 0) { sram in
      sram[m].update(repeating: -.infinity, count: hq)
      sram[l].update(repeating: 0, count: hq)
    }
    for j in 0..<cache.pageCount {
      try machine.load(logits, rows: 0..<hq, columns: (j * b)..<((j + 1) * b), into: s)
      machine.compute("online row max and sum of the logits", kind: .other, flops: 4 * hq * b + OnlineSoftmax.updateFLOPsPerRow * hq) { sram in
        let logit = sram[s]
        let mx = sram[m]
        let sum = sram[l]
        for h in 0..<hq {
          var blockMax = -Float.infinity
          for k in 0..<b { blockMax = max(blockMax, logit[h * b + k]) }
          let newMax = max(mx[h], blockMax)
          guard newMax > -.infinity else { continue }
          var blockSum: Float = 0
          for k in 0..<b { blockSum += Foundation.exp(logit[h * b + k] - newMax) }
          sum[h] = sum[h] * Foundation.exp(mx[h] - newMax) + blockSum
          mx[h] = newMax
        }
      }
    }
    machine.compute("L = m + log ℓ", kind: .other, flops: 2 * hq) { sram in
      let mx = sram[m]
      let sum = sram[l]
      for h in 0..<hq { mx[h] += Foundation.log(sum[h]) }
    }
    for j in 0..<cache.pageCount {
      let column = cache.pages[j].physicalBlock * b
      try machine.load(logits, rows: 0..<hq, columns: (j * b)..<((j + 1) * b), into: s)
      try machine.load(accumulator, rows: 0..<1, columns: column..<(column + b), into: a)
      machine.compute("A += Σ_h exp(s − L)", kind: .other, flops: 3 * hq * b) { sram in
        let logit = sram[s]
        let lse = sram[m]
        let acc = sram[a]
        for h in 0..<hq {
          for k in 0..<b where logit[h * b + k] > -.infinity { acc[k] += Foundation.exp(logit[h * b + k] - lse[h]) }
        }
      }
      try machine.store(a, into: accumulator, rows: 0..<1, columns: column..<(column + b))
    }
  }

  /// Compaction: copies each moved token's K and V (every KV head) and its accumulator from its
  /// old slot to the hole, slots taken from `old`, the cache before eviction.
  func move(_ moves: [(from: Int, to: Int)], in old: PrunedKVCache, on machine: inout Machine) throws {
    guard let tile = moveTile, let accumulator, let a = accumulatorTile else {
      if moves.isEmpty { return }
      throw PagedKVError.invariantViolated("compaction needs the accumulator")
    }
    let c = configuration
    let b = c.blockSize
    for (from, to) in moves {
      let source = (block: old.pages[from / b].physicalBlock, offset: from % b)
      let target = (block: old.pages[to / b].physicalBlock, offset: to % b)
      for g in 0..<c.keyValueHeads {
        let sourceRow = pool.configuration.poolRow(block: source.block, head: g, slot: source.offset)
        let targetRow = pool.configuration.poolRow(block: target.block, head: g, slot: target.offset)
        for tensor in [pool.keys, pool.values] {
          try machine.load(tensor, rows: sourceRow..<(sourceRow + 1), into: tile)
          try machine.store(tile, into: tensor, rows: targetRow..<(targetRow + 1))
        }
      }
      let sourceColumn = source.block * b + source.offset
      let targetColumn = target.block * b + target.offset
      try machine.load(accumulator, rows: 0..<1, columns: sourceColumn..<(sourceColumn + 1), into: a)
      try machine.store(a, into: accumulator, rows: 0..<1, columns: targetColumn..<(targetColumn + 1))
    }
  }
}
