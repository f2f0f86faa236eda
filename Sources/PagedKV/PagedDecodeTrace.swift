import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy

extension PagedDecodeSimulator {
  /// The trace names of the two decode kernels: one pass over the context (vLLM's
  /// `paged_attention_v1`), and the split-KV form with its reduction (Flash-Decoding, `_v2`).
  public static let traceNames = ["paged-decode", "split-kv-decode"]

  /// Records one decode step of `request` step by step, every sequence of the batch, in its
  /// mode: the pool and the step's tensors are placed first (not recorded, as the prefill and
  /// earlier steps wrote them), then every event of the kernel is. A section ends with each work
  /// item's output: O (without a split), each partition's partial output and logsumexp, and each
  /// reduction's O. Its ledger equals `run(request).ledger` of an execute-mode batch, and the
  /// closed form.
  ///
  /// The trace's problem describes the step for the renderers: batch = sequences, heads = h_q,
  /// N = the longest context, d; its blocks are r query rows per work item × B tokens per block.
  /// - Throws: `PagedKVError` for an invalid batch, `TraceError.runTooLong` past `stepLimit`,
  ///   `MachineError` for machine faults.
  public static func trace(_ request: PagedDecodeRequest, stepLimit: Int = Trace.defaultStepLimit) throws -> Trace {
    try validate(request)
    let lengths = request.contextLengths
    let longest = lengths.max() ?? 1
    let c = request.configuration
    let split = c.splits > 1
    let problem = try AttentionProblem(
      batch: lengths.count, heads: c.queryHeads, sequenceLength: longest, headDimension: c.headDimension, dataType: c.dataType,
      scale: c.scale, seed: request.seed)
    let title = split
      ? "split-KV decode step (Flash-Decoding, vLLM paged_attention_v2), S = \(c.splits) partitions"
      : "PagedAttention decode step (vLLM paged_attention_v1)"
    let h = c.queryHeads
    return try Trace.record(
      name: traceNames[split ? 1 : 0], title: title, problem: problem, spec: request.machine,
      blocks: BlockSizes(queryBlockSize: c.rowsPerWorkItem, keyBlockSize: c.blockSize), mode: request.mode, stepLimit: stepLimit
    ) { machine in
      try prepareBatch(lengths, configuration: c, on: &machine, seed: request.seed)
    } run: { machine, batch in
      try PagedDecodeAttention.run(on: &machine, pool: batch.pool, tensors: batch.tensors, sequences: batch.sequences, configuration: c)
      return batch.tensors.output
    } sectionTitle: { event, _ in
      guard case let .store(t) = event else { return nil }
      func heads(_ rows: Range<Int>) -> String {
        let first = rows.lowerBound % h
        return rows.count == 1 ? "query head \(first)" : "query heads \(first)..<\(first + rows.count)"
      }
      switch t.tensor.operand {
      case .output:
        let s = t.rowRange.lowerBound / h
        let how = split && c.partitions(contextLength: lengths[s]) > 1
          ? "its partitions merged by the reduction" : "the whole context read through the block table"
        return "sequence \(s), \(heads(t.rowRange)): O written, \(how) (L = \(lengths[s]))"
      case .logSumExp:
        let partition = t.rowRange.lowerBound / h
        let (s, p) = (partition / c.splits, partition % c.splits)
        return "sequence \(s), partition \(p), \(heads(t.rowRange)): partial output and logsumexp written"
      default:
        return nil
      }
    }
  }
}
