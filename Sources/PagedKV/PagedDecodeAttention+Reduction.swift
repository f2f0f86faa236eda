import AttentionAlgorithms
import MemoryHierarchy

extension PagedDecodeAttention {
  /// The reduction kernel of one work item: merges the P normalised partial outputs O_p with
  /// weights e^{L_p − L}, L = log Σ e^{L_p}, by the online-softmax update with (m̃, ℓ̃) = (L_p, 1).
  static func reduce(
    on machine: inout Machine, tensors: Tensors, sequenceIndex s: Int, workItem w: Int, partitions: Int,
    configuration c: PagedDecodeConfiguration, tiles t: Tiles<SRAMTile>
  ) throws {
    guard let partialOutput = tensors.partialOutput, let logSumExp = tensors.logSumExp, let op = t.partial else {
      throw PagedKVError.invalidArgument("a split step needs the partial-output and logsumexp tensors")
    }
    let r = c.rowsPerWorkItem
    let d = c.headDimension
    let firstHead = w * r
    machine.compute("O = 0, m = −∞, ℓ = 0 on chip", kind: .other, flops: 0) { sram in
      sram[t.o].update(repeating: 0, count: r * d)
      sram[t.m].update(repeating: -.infinity, count: r)
      sram[t.l].update(repeating: 0, count: r)
      sram[t.lt].update(repeating: 1, count: r)
    }
    for p in 0..<partitions {
      let rows = partialRows(sequence: s, partition: p, firstHead: firstHead, configuration: c)
      try machine.load(partialOutput, rows: rows, into: op)
      try machine.load(logSumExp, rows: rows, into: t.mt)
      machine.compute("merge partial \(p): m, ℓ, α, β", kind: .other, flops: OnlineSoftmax.updateFLOPsPerRow * r) { sram in
        OnlineSoftmax.update(
          rowMax: sram[t.m], rowSum: sram[t.l], blockMax: sram[t.mt], blockSum: sram[t.lt],
          outputFactor: sram[t.alpha], blockFactor: sram[t.beta], rows: r)
      }
      machine.compute("O ← α·O + β·O_p", kind: .other, flops: 3 * r * d) { sram in
        let o = sram[t.o]
        let partial = sram[op]
        let alpha = sram[t.alpha]
        let beta = sram[t.beta]
        for i in 0..<r {
          let a = alpha[i]
          let bb = beta[i]
          let row = o + i * d
          let source = partial + i * d
          for x in 0..<d { row[x] = a * row[x] + bb * source[x] }
        }
      }
    }
    let queryRows = (s * c.queryHeads + firstHead)..<(s * c.queryHeads + firstHead + r)
    try machine.store(t.o, into: tensors.output, rows: queryRows)
  }

  /// Rows of the partial-output and logsumexp tensors for (sequence, partition, query heads).
  static func partialRows(sequence s: Int, partition p: Int, firstHead: Int, configuration c: PagedDecodeConfiguration) -> Range<Int> {
    let first = (s * c.splits + p) * c.queryHeads + firstHead
    return first..<(first + c.rowsPerWorkItem)
  }
}
