import AttentionAlgorithms
import MemoryHierarchy

extension PrunedDecodeRun {
  /// The exact traffic and FLOPs of one step of shape `s`, derived from the step in
  /// `PrunedDecodeRun`'s documentation. With n_r = pages read per work item, W work items of r
  /// rows, c = candidate pages, k = selected entries, n_s = scored pages, m = moved tokens:
  ///
  /// | part | reads | writes |
  /// |---|---|---|
  /// | new token, attention | `PagedDecodeAttention.closedForm` for n_r blocks | (same) |
  /// | page summary (per page) | K h_kv·B·d | Ksum 2·h_kv·d |
  /// | selection | Ksum W·2·d·c; BT W·k | BT W·k |
  /// | logits (fp32) | S 2·h_q·n_s·B | S h_q·n_s·B |
  /// | accumulators (fp32) | n_s·B | n_s·B + cleared slots |
  /// | compaction | K, V m·h_kv·d each; accumulators m | the same |
  ///
  /// FLOPs besides attention's: 2·h_kv·B·d per summary, 4·h_q·d·c for the bounds, and
  /// n_s·(7·h_q·B + 11·h_q) + 2·h_q for the accumulation.
  public static func closedForm(shape s: PrunedStepShape, configuration c: PagedDecodeConfiguration) -> DecodeTrafficForm {
    var form = PagedDecodeAttention.closedForm(contextLength: s.pagesRead * c.blockSize, configuration: c)
    let (b, d, hkv, hq, w) = (c.blockSize, c.headDimension, c.keyValueHeads, c.queryHeads, c.workItemsPerSequence)
    let data = c.dataType.byteWidth
    let table = PagedDecodeConfiguration.blockTableType.byteWidth
    let f32 = PagedDecodeConfiguration.accumulatorType.byteWidth
    if s.summarizedPages > 0 {
      form.add(.key, reads: s.summarizedPages * hkv * b * d, byteWidth: data)
      form.add(.keySummary, writes: s.summarizedPages * 2 * hkv * d, byteWidth: data)
      form.otherFLOPs += s.summarizedPages * 2 * hkv * b * d
    }
    if s.selectedPages > 0 {
      form.add(.keySummary, reads: w * 2 * d * s.candidatePages, byteWidth: data)
      form.add(.blockTable, reads: w * s.selectedPages, writes: w * s.selectedPages, byteWidth: table)
      form.otherFLOPs += 4 * hq * d * s.candidatePages
    }
    if s.scoredPages > 0 {
      form.add(.scores, reads: 2 * hq * s.scoredPages * b, writes: hq * s.scoredPages * b, byteWidth: f32)
      form.add(.other, reads: s.scoredPages * b, writes: s.scoredPages * b, byteWidth: f32)
      form.otherFLOPs += s.scoredPages * (7 * hq * b + OnlineSoftmax.updateFLOPsPerRow * hq) + 2 * hq
    }
    form.add(.other, writes: s.clearedScoreSlots, byteWidth: f32)
    if s.movedTokens > 0 {
      form.add(.key, reads: s.movedTokens * hkv * d, writes: s.movedTokens * hkv * d, byteWidth: data)
      form.add(.value, reads: s.movedTokens * hkv * d, writes: s.movedTokens * hkv * d, byteWidth: data)
      form.add(.other, reads: s.movedTokens, writes: s.movedTokens, byteWidth: f32)
    }
    return form
  }

  /// The closed form of the prompt's page summaries done after the prefill (Quest): `pages`
  /// summaries.
  public static func setupClosedForm(summarizedPages pages: Int, configuration c: PagedDecodeConfiguration) -> DecodeTrafficForm {
    var form = DecodeTrafficForm()
    form.add(.key, reads: pages * c.keyValueHeads * c.blockSize * c.headDimension, byteWidth: c.dataType.byteWidth)
    form.add(.keySummary, writes: pages * 2 * c.keyValueHeads * c.headDimension, byteWidth: c.dataType.byteWidth)
    form.otherFLOPs = pages * 2 * c.keyValueHeads * c.blockSize * c.headDimension
    return form
  }
}

extension PrunedDecodeResult {
  /// Whether every step's ledger equals `PrunedDecodeRun.closedForm` of its shape exactly.
  public var everyStepMatchesClosedForm: Bool {
    steps.allSatisfy { PrunedDecodeRun.closedForm(shape: $0.shape, configuration: request.configuration).matches($0.ledger) }
  }
}
