import MemoryHierarchy
import PagedKV

/// Renders `paged prune`: a pruned decode run beside full attention, and the sweep over policies
/// and budgets, as tables, JSON and CSV. It formats the results' numbers and never recomputes one.
public enum PruningReportRendering {
  /// The first lines of every table: the problem and where the inputs came from.
  static func header(_ request: PrunedDecodeRequest, inputs: DecodeInputs) -> String {
    let c = request.configuration
    return "paged decode with pruning: prompt P=\(request.promptLength) + T=\(request.steps) steps, B=\(c.blockSize), d=\(c.headDimension), "
      + "h_q=\(c.queryHeads), h_kv=\(c.keyValueHeads) (\(c.keyValueReads.rawValue)), splits \(c.splits), \(c.dataType), "
      + "\(request.mode.rawValue) mode, \(request.machine.name)\n  inputs \(inputs.origin)\n"
  }

  /// `paged prune --policy P`'s table: every `every`-th step beside full attention's, then the run's totals.
  public static func runTable(_ run: PrunedDecodeResult, full: PrunedDecodeResult, inputs: DecodeInputs, every: Int) -> String {
    let g = NumberFormatting.grouped
    var out = header(run.request, inputs: inputs)
    out += "  policy \(run.policy)" + (run.active ? "" : " (its budget covers the run: identical to full)") + "\n\n"
    var rows: [[String]] = [["step", "L", "read (full)", "read (\(run.policy))", "KV held (full)", "held (\(run.policy))", "rel. error", "recall"]]
    for (p, f) in zip(run.steps, full.steps) where p.step % every == 0 || p.step == 1 || p.step == run.steps.count {
      rows.append([
        String(p.step), String(p.contextLength), g(f.readBytes), g(p.readBytes), NumberFormatting.bytes(f.bytesHeld),
        NumberFormatting.bytes(p.bytesHeld), NumberFormatting.scientific(p.relativeError), NumberFormatting.fixed(p.recall, 4),
      ])
    }
    out += NumberFormatting.table(rows) + "\n"
    let exact = run.everyStepMatchesClosedForm
    out += "  over the run    bytes read \(g(run.readBytes)) = \(PagedReportRendering.percent(Double(run.readBytes) / Double(full.readBytes))) of full's \(g(full.readBytes)); "
      + "written \(g(run.writeBytes)) (full \(g(full.writeBytes)))\n"
    out += "  KV memory held  final \(NumberFormatting.bytes(run.finalBytesHeld)) (full \(NumberFormatting.bytes(full.finalBytesHeld))), "
      + "peak \(NumberFormatting.bytes(run.peakBytesHeld))\n"
    out += "  accuracy        relative error mean \(NumberFormatting.scientific(run.meanRelativeError)), max \(NumberFormatting.scientific(run.maxRelativeError)); "
      + "recall mean \(NumberFormatting.fixed(run.meanRecall, 4)), min \(NumberFormatting.fixed(run.minRecall, 4))\n"
    if run.movedTokens > 0 || run.steps.contains(where: { $0.evictedTokens > 0 }) {
      out += "  compaction      \(g(run.movedTokens)) tokens moved, \(g(run.copyBytes)) bytes copied; mean hole share before compaction \(PagedReportRendering.percent(run.meanHoleShare))\n"
    }
    if run.setupLedger.hbmBytes > 0 {
      out += "  after prefill   \(g(run.setupLedger.hbmBytes)) bytes (page key bounds of the prompt), not in the steps above\n"
    }
    if let e = run.maxKernelError {
      out += "  check           kernel vs float64 on the tokens read: max relative error \(NumberFormatting.scientific(e))\n"
    }
    out += "  closed form     " + (exact ? "every step's traffic equals its closed form" : "SOME STEP DIFFERS from its closed form") + "\n"
    return out
  }

  /// The `problem` object of the JSON output.
  public static func problemJSON(_ request: PrunedDecodeRequest, inputs: DecodeInputs) -> JSONValue {
    let c = request.configuration
    return .object([
      ("promptLength", .int(request.promptLength)), ("steps", .int(request.steps)), ("blockSize", .int(c.blockSize)),
      ("headDim", .int(c.headDimension)), ("queryHeads", .int(c.queryHeads)), ("kvHeads", .int(c.keyValueHeads)),
      ("kvReads", .string(c.keyValueReads.rawValue)), ("splits", .int(c.splits)), ("dtype", .string(c.dataType.rawValue)),
      ("mode", .string(request.mode.rawValue)), ("machine", .string(request.machine.name)), ("inputs", .string(inputs.origin)),
      ("seed", .int(Int(truncatingIfNeeded: request.seed))),
    ])
  }

  /// One run's totals as JSON fields (a run of the sweep adds its family and budget after `policy`).
  public static func runSummaryJSON(_ run: PrunedDecodeResult, full: PrunedDecodeResult) -> [(String, JSONValue)] {
    var fields: [(String, JSONValue)] = [
      ("policy", .string(run.policy)), ("active", .bool(run.active)), ("readBytes", .int(run.readBytes)),
      ("writeBytes", .int(run.writeBytes)), ("readVsFull", .double(Double(run.readBytes) / Double(full.readBytes))),
      ("memoryHeldBytes", .int(run.finalBytesHeld)), ("peakMemoryHeldBytes", .int(run.peakBytesHeld)),
      ("relativeErrorMean", .double(run.meanRelativeError)), ("relativeErrorMax", .double(run.maxRelativeError)),
      ("recallMean", .double(run.meanRecall)), ("recallMin", .double(run.minRecall)), ("tokensMoved", .int(run.movedTokens)),
      ("copyBytes", .int(run.copyBytes)), ("setupBytes", .int(run.setupLedger.hbmBytes)),
      ("closedFormMatches", .bool(run.everyStepMatchesClosedForm)),
    ]
    if let e = run.maxKernelError { fields.append(("kernelMaxRelativeError", .double(e))) }
    return fields
  }

  /// `paged prune --policy P --format json`: the run, full attention and every step of both.
  public static func runJSON(_ run: PrunedDecodeResult, full: PrunedDecodeResult, inputs: DecodeInputs) -> JSONValue {
    let steps: [JSONValue] = zip(run.steps, full.steps).map { p, f in
      .object([
        ("step", .int(p.step)), ("contextLength", .int(p.contextLength)), ("pagesRead", .int(p.shape.pagesRead)),
        ("readBytes", .int(p.readBytes)), ("writeBytes", .int(p.writeBytes)), ("memoryHeldBytes", .int(p.bytesHeld)),
        ("fullReadBytes", .int(f.readBytes)), ("fullMemoryHeldBytes", .int(f.bytesHeld)),
        ("relativeError", .double(p.relativeError)), ("recall", .double(p.recall)), ("tokensMoved", .int(p.shape.movedTokens)),
      ])
    }
    return .object([
      ("command", .string("paged prune")), ("problem", problemJSON(run.request, inputs: inputs)),
      ("run", .object(runSummaryJSON(run, full: full))), ("full", .object(runSummaryJSON(full, full: full))),
      ("steps", .array(steps)),
    ])
  }

  /// `--show-step I`: one step's traffic by operand, for the policy and for full.
  public static func stepBreakdown(_ run: PrunedDecodeResult, full: PrunedDecodeResult, step: Int) -> String {
    let g = NumberFormatting.grouped
    let p = run.steps[step - 1]
    let f = full.steps[step - 1]
    let s = p.shape
    var out = "\nstep \(step), L=\(p.contextLength): \(run.policy) read \(s.pagesRead) page(s) per work item"
    out += s.selectedPages > 0 ? ", ranked \(s.candidatePages) by their key bounds" : ""
    out += s.summarizedPages > 0 ? ", summarized \(s.summarizedPages) page" : ""
    out += s.scoredPages > 0 ? ", accumulated scores over \(s.scoredPages) page(s)" : ""
    out += s.movedTokens > 0 ? ", moved \(s.movedTokens) token(s)" : ""
    out += "; full read \(f.shape.pagesRead)\n"
    var rows: [[String]] = [["operand", "\(run.policy) reads", "writes", "bytes", "full reads", "writes", "bytes"]]
    for operand in Operand.allCases where p.ledger[operand].totalElements + f.ledger[operand].totalElements > 0 {
      let a = p.ledger[operand]
      let b = f.ledger[operand]
      rows.append([operand.description, g(a.readElements), g(a.writeElements), g(a.totalBytes), g(b.readElements), g(b.writeElements), g(b.totalBytes)])
    }
    rows.append(["total", g(p.ledger.hbmReadElements), g(p.ledger.hbmWriteElements), g(p.ledger.hbmBytes), g(f.ledger.hbmReadElements),
      g(f.ledger.hbmWriteElements), g(f.ledger.hbmBytes)])
    rows.append(["FLOPs", "matmul \(g(p.ledger.matmulFLOPs))", "other \(g(p.ledger.otherFLOPs))", "", "matmul \(g(f.ledger.matmulFLOPs))",
      "other \(g(f.ledger.otherFLOPs))", ""])
    out += NumberFormatting.table(rows)
    return out
  }

  /// The CSV columns of `paged prune --sweep --csv`.
  public static let csvHeader = [
    "policy", "family", "budget_fraction", "budget_pages", "bytes_read", "bytes_read_per_step", "read_vs_full", "bytes_written",
    "memory_held_bytes", "peak_memory_held_bytes", "memory_vs_full", "relative_error_mean", "relative_error_max", "recall_mean",
    "recall_min", "tokens_moved", "copy_bytes",
  ]

  /// `paged prune --sweep --csv`: one row per policy and budget.
  public static func csv(_ rows: [PruningSweep.Row], full: PrunedDecodeResult) -> String {
    let records = rows.map { row -> [String] in
      let r = row.result
      return [
        r.policy, row.spec.family, NumberFormatting.fixed(row.fraction, 4), String(row.budgetPages), String(r.readBytes),
        NumberFormatting.fixed(r.meanReadBytesPerStep, 1), NumberFormatting.fixed(Double(r.readBytes) / Double(full.readBytes), 4),
        String(r.writeBytes), String(r.finalBytesHeld), String(r.peakBytesHeld),
        NumberFormatting.fixed(Double(r.finalBytesHeld) / Double(full.finalBytesHeld), 4), NumberFormatting.scientific(r.meanRelativeError),
        NumberFormatting.scientific(r.maxRelativeError), NumberFormatting.fixed(r.meanRecall, 5), NumberFormatting.fixed(r.minRecall, 5),
        String(r.movedTokens), String(r.copyBytes),
      ]
    }
    return CSV.text(header: csvHeader, rows: records)
  }

  /// `paged prune --sweep`'s table.
  public static func sweepTable(_ rows: [PruningSweep.Row], full: PrunedDecodeResult, inputs: DecodeInputs) -> String {
    var out = header(full.request, inputs: inputs) + "\n"
    var table: [[String]] = [["policy", "budget", "read/step", "vs full", "KV held", "vs full", "rel. error", "recall", "moved"]]
    for row in rows {
      let r = row.result
      table.append([
        r.policy, row.spec == .full ? "all" : "\(NumberFormatting.fixed(row.fraction, 4)) (\(row.budgetPages) pages)",
        NumberFormatting.bytes(Int(r.meanReadBytesPerStep.rounded())), PagedReportRendering.percent(Double(r.readBytes) / Double(full.readBytes)),
        NumberFormatting.bytes(r.finalBytesHeld), PagedReportRendering.percent(Double(r.finalBytesHeld) / Double(full.finalBytesHeld)),
        NumberFormatting.scientific(r.meanRelativeError), NumberFormatting.fixed(r.meanRecall, 4),
        r.movedTokens > 0 ? NumberFormatting.grouped(r.movedTokens) : "–",
      ])
    }
    out += NumberFormatting.table(table)
    out += "\n  read/step and rel. error are means over the steps; KV held is after the last step (key bounds and score\n"
      + "  accumulators included); recall is the mean share of full attention's mass on the tokens read.\n"
    return out
  }

  /// `paged prune --sweep --format json`: the problem and one summary per run.
  public static func sweepJSON(_ rows: [PruningSweep.Row], full: PrunedDecodeResult, request: PrunedDecodeRequest, inputs: DecodeInputs) -> JSONValue {
    JSONValue.object([
      ("command", .string("paged prune")), ("problem", problemJSON(request, inputs: inputs)),
      ("runs", .array(rows.map { row in
        var fields = runSummaryJSON(row.result, full: full)
        fields.insert(contentsOf: [("family", .string(row.spec.family)), ("budgetFraction", .double(row.fraction)), ("budgetPages", .int(row.budgetPages))], at: 1)
        return .object(fields)
      })),
    ])
  }
}
