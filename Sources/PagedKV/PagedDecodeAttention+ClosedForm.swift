import AttentionAlgorithms
import MemoryHierarchy

extension PagedDecodeAttention {
  /// The exact traffic and FLOPs of one decode step for one sequence of context length L (the
  /// new token included), derived from the loop in `PagedDecodeAttention`'s documentation.
  ///
  /// With n = ⌈L/B⌉ blocks, P = min(S, n) partitions, W work items of r rows (W = h_q, r = 1 per
  /// query head; W = h_kv, r = G per KV head):
  ///
  /// | operand | reads | writes |
  /// |---|---|---|
  /// | Q | P·h_q·d | |
  /// | block table | W·n (int32) | |
  /// | K | W·n·B·d | h_kv·d (new token) |
  /// | V | W·n·B·d | h_kv·d (new token) |
  /// | O | | h_q·d |
  /// | partial O (P > 1, fp32) | P·h_q·d | P·h_q·d |
  /// | logsumexp (P > 1, fp32) | P·h_q | P·h_q |
  ///
  /// The legacy default (W = h_q) reads each KV head G = h_q/h_kv times: K + V reads are
  /// 2·h_q·n·B·d, against 2·h_kv·n·B·d when each KV head is read once.
  ///
  /// FLOPs: matmul 4·h_q·n·B·d (q·Kᵀ and p̃·V over whole blocks); other h_q·n·(5B + d + 11) (row
  /// max, exp, sum 4B; online update 11; rescale d + B per block and row), plus, when P > 1,
  /// 2·P·h_q (logsumexp) and P·h_q·(3d + 11) (the reduction's merges).
  public static func closedForm(contextLength l: Int, configuration c: PagedDecodeConfiguration) -> DecodeTrafficForm {
    let n = c.blockCount(contextLength: l)
    let p = c.partitions(contextLength: l)
    let w = c.workItemsPerSequence
    let d = c.headDimension
    let b = c.blockSize
    let hq = c.queryHeads
    let data = c.dataType.byteWidth
    let accumulator = PagedDecodeConfiguration.accumulatorType.byteWidth
    var form = DecodeTrafficForm()
    form.add(.query, reads: p * hq * d, byteWidth: data)
    form.add(.blockTable, reads: w * n, byteWidth: PagedDecodeConfiguration.blockTableType.byteWidth)
    form.add(.key, reads: w * n * b * d, writes: c.keyValueHeads * d, byteWidth: data)
    form.add(.value, reads: w * n * b * d, writes: c.keyValueHeads * d, byteWidth: data)
    form.add(.output, writes: hq * d, byteWidth: data)
    form.matmulFLOPs = 4 * hq * n * b * d
    form.otherFLOPs = hq * n * (5 * b + d + OnlineSoftmax.updateFLOPsPerRow)
    if p > 1 {
      form.add(.partialOutput, reads: p * hq * d, writes: p * hq * d, byteWidth: accumulator)
      form.add(.logSumExp, reads: p * hq, writes: p * hq, byteWidth: accumulator)
      form.otherFLOPs += 2 * p * hq + p * hq * (3 * d + OnlineSoftmax.updateFLOPsPerRow)
    }
    return form
  }

  /// The closed form of a batch: the sum over its sequences.
  public static func closedForm(contextLengths: [Int], configuration c: PagedDecodeConfiguration) -> DecodeTrafficForm {
    var total = DecodeTrafficForm()
    for l in contextLengths { total.add(closedForm(contextLength: l, configuration: c)) }
    return total
  }
}
