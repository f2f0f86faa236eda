import Experiments
import MemoryHierarchy
import PagedKV

/// Renders the `paged decode`, `paged waste` and `paged share` results as the commands' JSON
/// objects and tables. It formats the results' numbers and never recomputes one.
public enum PagedReportRendering {
  // MARK: decode

  /// The `readElements`, `writeElements`, `readBytes`, `writeBytes` object of one operand.
  static func trafficJSON(_ t: OperandTraffic) -> JSONValue {
    .object([
      ("readElements", .int(t.readElements)), ("writeElements", .int(t.writeElements)),
      ("readBytes", .int(t.readBytes)), ("writeBytes", .int(t.writeBytes)),
    ])
  }

  /// `paged decode --format json`.
  public static func decodeJSON(_ result: PagedDecodeResult) -> JSONValue {
    let request = result.request
    let c = request.configuration
    let l = request.contextLengths[0]
    let ledger = result.ledger
    let form = result.closedForm
    let n = c.blockCount(contextLength: l)
    var fields: [(String, JSONValue)] = [
      ("command", .string("paged decode")),
      ("mode", .string(request.mode.rawValue)),
      ("machine", .string(request.machine.name)),
      ("problem", .object([
        ("contextLength", .int(l)), ("batch", .int(request.contextLengths.count)), ("blockSize", .int(c.blockSize)),
        ("headDim", .int(c.headDimension)), ("queryHeads", .int(c.queryHeads)), ("kvHeads", .int(c.keyValueHeads)),
        ("groupSize", .int(c.groupSize)), ("kvReads", .string(c.keyValueReads.rawValue)), ("splits", .int(c.splits)),
        ("partitions", .int(c.partitions(contextLength: l))), ("dtype", .string(c.dataType.rawValue)),
        ("scale", .double(Double(c.softmaxScale))), ("seed", .int(Int(truncatingIfNeeded: request.seed))),
      ])),
      ("blocks", .object([
        ("perSequence", .int(n)), ("tokenSlotsRead", .int(n * c.blockSize)), ("paddingSlots", .int(n * c.blockSize - l)),
        ("blockTableEntryBytes", .int(PagedDecodeConfiguration.blockTableType.byteWidth)),
      ])),
      ("sram", .object([("capacityBytes", .int(request.machine.sramCapacityInBytes)), ("peakBytes", .int(result.peakSRAMBytes))])),
      ("hbm", .object([
        ("readElements", .int(ledger.hbmReadElements)), ("writeElements", .int(ledger.hbmWriteElements)),
        ("readBytes", .int(ledger.hbmReadBytes)), ("writeBytes", .int(ledger.hbmWriteBytes)),
        ("byOperand", .object(ledger.operandsWithTraffic.map { ($0.key, trafficJSON(ledger[$0])) })),
      ])),
      ("closedForm", .object([
        ("readElements", .int(form.readElements)), ("writeElements", .int(form.writeElements)),
        ("readBytes", .int(form.readBytes)), ("writeBytes", .int(form.writeBytes)),
        ("matmulFLOPs", .int(form.matmulFLOPs)), ("otherFLOPs", .int(form.otherFLOPs)),
        ("matches", .bool(form.matches(ledger))),
      ])),
      ("flops", .object([("matmul", .int(ledger.matmulFLOPs)), ("other", .int(ledger.otherFLOPs))])),
      ("time", .object([
        ("estimatedSeconds", .double(result.estimate.estimatedSeconds)),
        ("memorySeconds", .double(result.estimate.memorySeconds)),
        ("computeSeconds", .double(result.estimate.computeSeconds)), ("bound", .string(result.estimate.bound)),
      ])),
      ("simulatedSequences", .int(result.simulatedSequences)),
      ("wallSeconds", .double(result.wallSeconds)),
    ]
    if let error = result.maxRelativeError {
      fields.append(("check", .object([
        ("maxRelativeError", .double(error)), ("reference", .string("float64 attention over the contiguous cache")),
      ])))
    }
    return .object(fields)
  }

  /// `paged decode`'s table.
  public static func decodeTable(_ result: PagedDecodeResult) -> String {
    let request = result.request
    let c = request.configuration
    let l = request.contextLengths[0]
    let ledger = result.ledger
    let g = NumberFormatting.grouped
    let n = c.blockCount(contextLength: l)
    let p = c.partitions(contextLength: l)
    var out = "PagedAttention decode step, \(request.mode.rawValue) mode, on \(request.machine.name)\n"
    out += "  batch \(request.contextLengths.count) × context L=\(l), d=\(c.headDimension), h_q=\(c.queryHeads), h_kv=\(c.keyValueHeads) "
      + "(G=\(c.groupSize), KV read \(c.keyValueReads == .perQueryHead ? "once per query head" : "once per KV head")), \(c.dataType)\n"
    out += "  blocks   B=\(c.blockSize): ⌈L/B⌉ = \(n) blocks per sequence = \(g(n * c.blockSize)) token slots read (\(n * c.blockSize - l) padding)\n"
    out += "  split    S=\(c.splits): \(p == 1 ? "no split" : "\(p) partitions + a reduction kernel")\n"
    out += "  SRAM     peak \(g(result.peakSRAMBytes)) of \(g(request.machine.sramCapacityInBytes)) B\n\n"
    var rows: [[String]] = [["by operand", "read elements", "write elements", "bytes"]]
    for operand in ledger.operandsWithTraffic {
      let t = ledger[operand]
      rows.append([operand.description, g(t.readElements), g(t.writeElements), NumberFormatting.bytes(t.totalBytes)])
    }
    rows.append(["total", g(ledger.hbmReadElements), g(ledger.hbmWriteElements), NumberFormatting.bytes(ledger.hbmBytes)])
    out += NumberFormatting.table(rows) + "\n"
    let matches = result.closedForm.matches(ledger)
    out += "  closed form  reads \(g(result.closedForm.readElements)), writes \(g(result.closedForm.writeElements)) "
      + (matches ? "(matches the simulation exactly)" : "(DIFFERS from the simulation)") + "\n"
    out += "  FLOPs        matmul \(g(ledger.matmulFLOPs)), other \(g(ledger.otherFLOPs))\n"
    out += "  time         \(NumberFormatting.seconds(result.estimate.estimatedSeconds)) estimated, \(result.estimate.bound)-bound\n"
    if let error = result.maxRelativeError {
      out += "  check        max relative error \(NumberFormatting.scientific(error)) against float64 attention over the contiguous cache\n"
    }
    out += "  simulated in \(NumberFormatting.seconds(result.wallSeconds))"
      + (request.mode == .count ? " (count mode: \(result.simulatedSequences) sequence(s) simulated, × \(request.contextLengths.count))\n" : "\n")
    return out
  }

  // MARK: waste

  static func optionalDouble(_ x: Double?) -> JSONValue { x.map { .double($0) } ?? .null }

  /// `paged waste --format json`.
  public static func wasteJSON(_ report: MemoryWasteExperiment.Report) -> JSONValue {
    let e = report.experiment
    let cost = e.costModel
    let allocators: [JSONValue] = report.results.map { r in
      var fields: [(String, JSONValue)] = [
        ("name", .string(r.policy.name)),
        ("blockSize", r.policy.blockSize.map { .int($0) } ?? .null),
        ("tokenStateShare", .double(r.shares.tokenStates)),
        ("reservedShare", .double(r.shares.reserved)),
        ("internalFragmentation", .double(r.shares.internalFragmentation)),
        ("externalFragmentation", .double(r.shares.externalFragmentation)),
        ("meanBatch", .double(r.meanBatch)),
        ("preemptions", .int(r.preemptions)),
        ("measuredIterations", .int(r.measuredIterations)),
        ("measuredSeconds", .double(r.measuredSeconds)),
        ("totalSeconds", .double(r.totalSeconds)),
      ]
      var paper: [(String, JSONValue)] = []
      if let token = r.policy.paperTokenStateShare { paper.append(("tokenStateShare", .double(token))) }
      if let s = r.policy.paperShares {
        paper += [
          ("reservedShare", .double(s.reserved)), ("internalFragmentation", .double(s.internalFragmentation)),
          ("externalFragmentation", .double(s.externalFragmentation)),
        ]
      }
      fields.append(("paper", paper.isEmpty ? .null : .object(paper)))
      return .object(fields)
    }
    return .object([
      ("command", .string("paged waste")),
      ("workload", .object([
        ("name", .string(e.workload.rawValue)), ("requests", .int(e.requestCount)), ("seed", .int(Int(truncatingIfNeeded: e.seed))),
        ("rate", .double(e.rate)), ("meanPromptLength", .double(report.meanPromptLength)),
        ("meanOutputLength", .double(report.meanOutputLength)),
        ("targetMeanPromptLength", .double(e.workload.promptLengths.mean)),
        ("targetMeanOutputLength", .double(e.workload.outputLengths.mean)),
      ])),
      ("capacity", .object([
        ("model", .string(cost.modelName)), ("device", .string(cost.machine.name)), ("tokenSlots", .int(cost.tokenCapacity)),
        ("bytes", .int(cost.keyValueCapacityBytes)), ("bytesPerToken", .int(cost.keyValueBytesPerToken)),
      ])),
      ("measurement", .string("shares of the KV capacity, time-averaged over iterations in which a request waits for memory")),
      ("allocators", .array(allocators)),
    ])
  }

  /// A share as a percentage with one decimal; NaN (nothing measured) as "–".
  static func percent(_ x: Double) -> String { x.isNaN ? "–" : NumberFormatting.fixed(100 * x, 1) + "%" }

  /// `paged waste`'s table.
  public static func wasteTable(_ report: MemoryWasteExperiment.Report) -> String {
    let e = report.experiment
    var out = "KV memory use, \(e.workload.rawValue)-like stream: \(e.requestCount) requests, Poisson \(NumberFormatting.fixed(e.rate, 1)) req/s, seed \(e.seed)\n"
    out += "  mean prompt \(NumberFormatting.fixed(report.meanPromptLength, 1)) tokens (target \(NumberFormatting.fixed(e.workload.promptLengths.mean, 2))), "
      + "mean output \(NumberFormatting.fixed(report.meanOutputLength, 1)) (target \(NumberFormatting.fixed(e.workload.outputLengths.mean, 2)))\n"
    out += "  capacity \(NumberFormatting.grouped(e.costModel.tokenCapacity)) token slots (\(e.costModel.modelName) on \(e.costModel.machine.name): 12 GiB at 800 KiB per token)\n"
    out += "  shares of that capacity, time-averaged over the iterations in which a request waits for memory\n\n"
    var rows: [[String]] = [["allocator", "B", "token states", "reserved", "internal frag.", "external frag.", "mean batch", "preempted", "paper tokens"]]
    for r in report.results {
      rows.append([
        r.policy.name, r.policy.blockSize.map(String.init) ?? "–", percent(r.shares.tokenStates), percent(r.shares.reserved),
        percent(r.shares.internalFragmentation), percent(r.shares.externalFragmentation),
        r.meanBatch.isNaN ? "–" : NumberFormatting.fixed(r.meanBatch, 2), NumberFormatting.grouped(r.preemptions),
        r.policy.paperTokenStateShare.map(percent) ?? "",
      ])
    }
    out += NumberFormatting.table(rows)
    out += "\n  paper tokens: vLLM Figure 2 (OPT-13B, ShareGPT), whatever the workload here. A '–' means no iteration was memory-bound.\n"
    return out
  }

  // MARK: share

  /// `paged share --format json`: the results of `experiment`, parallel sampling and beam search apart.
  public static func shareJSON(_ results: [SharingExperiment.Result], experiment: SharingExperiment) -> JSONValue {
    func entries(_ mode: SharingExperiment.Mode, _ key: String) -> JSONValue {
      .array(results.filter { $0.mode == mode }.map { r in
        .object([
          (key, .int(r.width)), ("blocksWithoutSharing", .int(r.blocksWithoutSharing)),
          ("blocksWithSharing", .int(r.blocksWithSharing)), ("savedShare", .double(r.savedShare)),
          ("copies", .int(r.copies)), ("paperSavedShare", optionalDouble(r.paperSavedShare)),
        ])
      })
    }
    return .object([
      ("command", .string("paged share")),
      ("workload", .string(experiment.workload.rawValue)), ("requests", .int(experiment.requestCount)),
      ("blockSize", .int(experiment.blockSize)), ("seed", .int(Int(truncatingIfNeeded: experiment.seed))),
      ("beamModel", .object([
        ("vocabulary", .int(experiment.beamModel.vocabulary)), ("logitScale", .double(experiment.beamModel.logitScale)),
      ])),
      ("parallelSampling", entries(.parallelSampling, "outputs")),
      ("beamSearch", entries(.beamSearch, "width")),
    ])
  }

  /// `paged share`'s table, with vLLM Figure 15's ranges for the workload.
  public static func shareTable(_ results: [SharingExperiment.Result], experiment: SharingExperiment) -> String {
    let workload = experiment.workload
    var out = "KV blocks saved by sharing, \(workload.rawValue)-like stream: \(experiment.requestCount) requests, B=\(experiment.blockSize), seed \(experiment.seed)\n\n"
    var rows: [[String]] = [["mode", "width", "block·iterations without", "with sharing", "saved", "copies", "paper"]]
    for r in results {
      rows.append([
        r.mode.rawValue, String(r.width), NumberFormatting.grouped(r.blocksWithoutSharing), NumberFormatting.grouped(r.blocksWithSharing),
        percent(r.savedShare), NumberFormatting.grouped(r.copies), r.paperSavedShare.map(percent) ?? "",
      ])
    }
    out += NumberFormatting.table(rows)
    out += workload == .alpaca
      ? "\n  paper: vLLM Figure 15 (OPT-13B, Alpaca): parallel sampling 6.1–9.8%, beam search 37.6–55.2%.\n"
      : "\n  paper: vLLM Figure 15 (OPT-13B, ShareGPT): parallel sampling 16.2–30.5%, beam search 44.3–66.3%.\n"
    return out
  }
}
