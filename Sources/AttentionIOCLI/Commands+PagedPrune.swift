import AttentionIO
import Foundation
import Reproduction

/// `attention-io paged prune`: decode-time pruning policies on the paged KV cache, their exact
/// traffic and memory against their accuracy (Docs/Pruning.md).
extension CommandLineTool {
  static let pagedPruneOptions: [OptionSpec] = [
    .value("policy", "full|quest:K|streaming:S,W|h2o:B,W", "The policy of a single run, shown beside full (default quest:16)."),
    .flag("sweep", "Run every policy family at several budgets instead (see --budgets, --families)."),
    .value("budgets", "F1,F2,…", "Sweep budgets as fractions of the final context's pages (default 0.0625,0.125,0.25,0.5)."),
    .value("families", "quest,streaming,h2o", "Policy families of the sweep (default all three)."),
    .value("csv", "FILE", "Sweep: write one row per policy and budget as CSV (atomically; never over an existing file without --force)."),
    .value("svg", "FILE", "Sweep: write the plots (bytes read vs error, memory held vs error) as SVG (default: the CSV's name with .svg)."),
    .flag("force", "Overwrite the CSV and SVG files."),
    .value("prompt-len", "P", "Prompt tokens in the cache before decoding (default 4096)."),
    .value("steps", "T", "Decode steps (default 256)."),
    .value("block-size", "B", "Tokens per KV page (default 32; see Docs/Pruning.md for why not 16)."),
    .value("head-dim", "D", "Head dimension d (default 64)."),
    .value("query-heads", "HQ", "Query heads h_q (default 8)."),
    .value("kv-heads", "HKV", "KV heads h_kv; h_q must be a multiple (default 2: GQA with G = 4)."),
    .value("kv-reads", "per-query-head|per-kv-head", "Read a shared KV head once per query head (default) or once per KV head."),
    .value("splits", "S", "Split-KV partitions per work item (default 1)."),
    .value("mode", "count|execute", "count: kernels move no data (default); execute: they do the math, checked against float64."),
    .value("dtype", "fp32|fp16|bf16", "Storage type of Q, K, V, O (default fp16)."),
    .value("device", "PRESET|FILE.json", "Machine preset or device file (default a100-40gb)."),
    .value("inputs", "structured|normal|DIR", "structured (default): sinks, locality, heavy hitters; normal: independent normals; DIR: q.npy, k.npy, v.npy."),
    .value("seed", "S", "Seed of the inputs and of the scattered block order (default 0)."),
    .value("sinks", "N", "Structured inputs: attention-sink tokens (default 4; also S of the sweep's streaming policy)."),
    .value("heavy-hitters", "N", "Structured inputs: heavy-hitter tokens in the prompt (default 8)."),
    .value("locality", "λ", "Structured inputs: tokens over which the local logit decays by e (default 32)."),
    .value("sink-logit", "A", "Structured inputs: logit of a sink (default 8)."),
    .value("heavy-logit", "A", "Structured inputs: logit of a heavy hitter (default 6)."),
    .value("local-logit", "A", "Structured inputs: logit of the nearest key (default 6)."),
    .value("noise", "σ", "Structured inputs: noise on every q and k coordinate (default 0.3)."),
    .value("every", "N", "Single run: print every N-th step (default: about 16 rows)."),
    .value("format", "table|json", "Output format (default table)."),
    .value("show-step", "I", "Single run: also print step I's traffic by operand, for the policy and for full."),
  ]

  func pagedPrune(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "paged prune", abstract: "Decode-time sequence pruning on the paged KV cache: Quest page selection, StreamingLLM sinks + window, H2O heavy hitters.",
        usage: "[--policy P | --sweep [--csv FILE] [--svg FILE]] [--prompt-len P] [--steps T] [options]",
        options: Self.pagedPruneOptions,
        discussion: """
          A prompt of P tokens is in the paged cache; T decode steps follow. Every step's HBM reads and writes are \
          counted exactly (each equals its closed form); KV memory held is the resident pages; accuracy is the \
          output's relative error against full attention in float64 and the share of full attention's mass on the \
          tokens read (recall). Examples:
            attention-io paged prune --policy quest:16 --prompt-len 4096 --steps 256
            attention-io paged prune --sweep --csv prune.csv
          """))
      return
    }
    let command = "paged prune"
    let options = try ParsedOptions(command: command, arguments: arguments, specs: Self.pagedPruneOptions)
    let sweep = options.has("sweep")
    let force = options.has("force")
    if !sweep {
      for name in ["csv", "svg", "budgets", "families"] where options.string(name) != nil {
        throw CLIError.usage("\(command): --\(name) needs --sweep")
      }
    } else if options.string("policy") != nil {
      throw CLIError.usage("\(command): --policy and --sweep exclude each other")
    }
    // Output files are checked before any work.
    let csvPath = options.string("csv")
    var svgPath = options.string("svg")
    if svgPath == nil, let csvPath {
      let url = URL(fileURLWithPath: csvPath)
      svgPath = url.pathExtension.lowercased() == "csv" ? url.deletingPathExtension().appendingPathExtension("svg").path : csvPath + ".svg"
    }
    for path in [csvPath, svgPath].compactMap({ $0 }) where !force && FileManager.default.fileExists(atPath: path) {
      throw CLIError.runtime("\(path) already exists (pass --force to overwrite it)")
    }

    let format = try options.choice("format", [("table", "table"), ("json", "json")]) ?? "table"
    let seed = try options.uint64("seed") ?? 0
    let (inputs, request) = try Self.pruneInputsAndRequest(options, seed: seed)
    let progress = standardError
    if sweep {
      var fractions = PruningSweep.defaultFractions
      if let text = options.string("budgets") {
        fractions = try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
          guard let f = Double(part), f > 0, f <= 1 else {
            throw CLIError.usage("\(command): --budgets expects fractions in (0, 1] separated by commas, got '\(text)'")
          }
          return f
        }
      }
      let families = options.string("families").map { $0.split(separator: ",").map(String.init) } ?? PruningSweep.families
      if let bad = families.first(where: { !PruningSweep.families.contains($0) }) {
        throw CLIError.usage("\(command): unknown family '\(bad)' in --families (families: \(PruningSweep.families.joined(separator: ", ")))")
      }
      let sweepSpec = PruningSweep(request: request, fractions: fractions, families: families, sinks: try options.int("sinks", minimum: 0) ?? 4)
      let runs = try sweepSpec.specs().count
      progress("paged prune: sweeping \(runs) runs of \(request.promptLength) + \(request.steps) tokens (full attention in float64 first)\n")
      let rows = try sweepSpec.run(inputs: inputs) { done, total, result in
        progress("paged prune: [\(done)/\(total)] \(result.policy) done in \(NumberFormatting.seconds(result.wallSeconds))\n")
      }
      let full = rows[0].result
      if let csvPath { try Self.writeFile(Self.pruneCSV(rows, full: full), to: csvPath, force: force) }
      if let svgPath { try Self.writeFile(Self.pruneSVG(rows, full: full), to: svgPath, force: force) }
      if format == "json" {
        standardOutput(JSONValue.object([
          ("command", .string("paged prune")), ("problem", Self.pruneProblemJSON(request, inputs: inputs)),
          ("runs", .array(rows.map { row in
            var fields = Self.pruneRunSummaryJSON(row.result, full: full)
            fields.insert(contentsOf: [("family", .string(row.spec.family)), ("budgetFraction", .double(row.fraction)), ("budgetPages", .int(row.budgetPages))], at: 1)
            return .object(fields)
          })),
        ]).serialized(pretty: true) + "\n")
      } else {
        standardOutput(Self.pruneSweepTable(rows, full: full, inputs: inputs))
      }
      for path in [csvPath, svgPath].compactMap({ $0 }) { standardOutput("wrote \(path)\n") }
      return
    }

    let spec: PruningPolicySpec
    do {
      spec = try PruningPolicySpec(parsing: options.string("policy") ?? "quest:16")
    } catch let error as PagedKVError {
      throw CLIError.usage("\(command): \(error.description)")
    }
    let shown = try options.int("show-step")
    if let shown, shown > request.steps {
      throw CLIError.usage("\(command): --show-step must be at most --steps (\(request.steps)), got \(shown)")
    }
    let reference = try FullDecodeReference(inputs: inputs, request: request)
    let every = try options.int("every") ?? max(1, request.steps / 16)
    func report(_ name: String) -> (Int, Int) -> Void {
      { step, total in
        if step % max(1, total / 4) == 0 || step == total { progress("paged prune: \(name) step \(step)/\(total)\n") }
      }
    }
    let full = try PrunedDecodeRun.run(.full, request: request, inputs: inputs, reference: reference, progress: report("full"))
    let pruned = spec == .full ? full : try PrunedDecodeRun.run(spec, request: request, inputs: inputs, reference: reference, progress: report(spec.description))
    if format == "json" {
      standardOutput(Self.pruneRunJSON(pruned, full: full, inputs: inputs).serialized(pretty: true) + "\n")
      return
    }
    standardOutput(Self.pruneRunTable(pruned, full: full, inputs: inputs, every: every))
    if let shown {
      standardOutput(Self.pruneStepBreakdown(pruned, full: full, step: shown))
    }
  }

  static func writeFile(_ text: String, to path: String, force: Bool) throws {
    do {
      try AtomicFile.write(text, to: path, overwrite: force)
    } catch let error as AtomicFile.WriteError {
      throw CLIError.runtime(error.description)
    }
  }

  /// The inputs (structured, normal or NPY) and the run they feed.
  static func pruneInputsAndRequest(_ options: ParsedOptions, seed: UInt64) throws -> (DecodeInputs, PrunedDecodeRequest) {
    let command = options.command
    let source = options.string("inputs") ?? "structured"
    var npy: (q: NPYArray, k: NPYArray, v: NPYArray)?
    if source != "structured" && source != "normal" {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw CLIError.usage("\(command): --inputs must be structured, normal or a directory with q.npy, k.npy, v.npy; '\(source)' is none")
      }
      func load(_ name: String) throws -> NPYArray {
        let path = NPYInputs.path(source, name)
        do {
          return try NPY.read(path: path)
        } catch let error as NPYFileError {
          throw CLIError.usage(error.description)
        } catch {
          throw CLIError.usage("\(path): \(error)")
        }
      }
      npy = (try load("q.npy"), try load("k.npy"), try load("v.npy"))
    }
    // Head counts and tokens from NPY shapes: [N, d], [H, N, d] or [1, H, N, d].
    func heads(_ array: NPYArray, _ name: String) throws -> (heads: Int, tokens: Int, dimension: Int) {
      let s = array.shape
      switch s.count {
      case 2: return (1, s[0], s[1])
      case 3: return (s[0], s[1], s[2])
      case 4 where s[0] == 1: return (s[1], s[2], s[3])
      default: throw CLIError.usage("\(source)/\(name): shape \(s) is not [N, d], [H, N, d] or [1, H, N, d]")
      }
    }
    var queryHeads = try options.int("query-heads")
    var keyValueHeads = try options.int("kv-heads")
    var headDimension = try options.int("head-dim") ?? 64
    var available: Int?
    if let npy {
      let q = try heads(npy.q, "q.npy")
      let k = try heads(npy.k, "k.npy")
      let v = try heads(npy.v, "v.npy")
      guard k == v, q.tokens == k.tokens, q.dimension == k.dimension, q.heads % k.heads == 0 else {
        throw CLIError.usage(
          "\(source): q.npy \(npy.q.shape), k.npy \(npy.k.shape), v.npy \(npy.v.shape) must share N and d, K and V must match, and Q's heads must be a multiple of K's")
      }
      for (name, given, found) in [("query-heads", queryHeads, q.heads), ("kv-heads", keyValueHeads, k.heads)] where given != nil && given != found {
        throw CLIError.usage("\(command): --\(name) \(given!) disagrees with the NPY files (\(found))")
      }
      if let given = try options.int("head-dim"), given != q.dimension {
        throw CLIError.usage("\(command): --head-dim \(given) disagrees with the NPY files (\(q.dimension))")
      }
      (queryHeads, keyValueHeads, headDimension, available) = (q.heads, k.heads, q.dimension, q.tokens)
    }
    let hkv = keyValueHeads ?? (queryHeads == nil ? 2 : queryHeads!)
    let hq = queryHeads ?? (keyValueHeads == nil ? 8 : hkv)
    var steps = try options.int("steps") ?? 256
    var prompt = try options.int("prompt-len") ?? 4096
    if let available {
      if options.string("steps") == nil { steps = min(256, max(1, available / 4)) }
      if options.string("prompt-len") == nil { prompt = available - steps }
      guard prompt >= 1, prompt + steps <= available else {
        throw CLIError.usage("\(command): the NPY files hold \(available) tokens; --prompt-len \(prompt) + --steps \(steps) need \(prompt + steps)")
      }
    }
    guard prompt + steps <= PrunedDecodeRequest.maximumTokens else {
      throw CLIError.usage("\(command): --prompt-len + --steps must be at most \(PrunedDecodeRequest.maximumTokens), got \(prompt + steps)")
    }
    let configuration: PagedDecodeConfiguration
    do {
      configuration = try PagedDecodeConfiguration(
        blockSize: try options.int("block-size") ?? 32, headDimension: headDimension, queryHeads: hq, keyValueHeads: hkv,
        splits: try options.int("splits") ?? 1,
        keyValueReads: try options.choice("kv-reads", KeyValueReads.allCases.map { ($0.rawValue, $0) }) ?? .perQueryHead,
        dataType: try options.choice("dtype", ElementType.floatingPoint.map { ($0.rawValue, $0) }) ?? .fp16)
    } catch let error as PagedKVError {
      throw CLIError.usage("\(command): \(error.description)")
    }
    let request = PrunedDecodeRequest(
      promptLength: prompt, steps: steps, configuration: configuration, machine: try ProblemOptions.machine(options),
      mode: try options.choice("mode", ExecutionMode.allCases.map { ($0.rawValue, $0) }) ?? .count, seed: seed)
    let n = prompt + steps
    guard request.inputValues <= PrunedDecodeRequest.maximumInputValues else {
      throw CLIError.usage(
        "\(command): the run needs \(request.inputValues) input values ((h_q + 2·h_kv)·(P + T)·d); at most \(PrunedDecodeRequest.maximumInputValues) are simulated")
    }
    do {
      let inputs: DecodeInputs
      if let npy {
        // Keep the first n tokens of each head.
        func take(_ array: NPYArray, heads h: Int) -> [Float] {
          let total = array.values.count / h
          return (0..<h).flatMap { array.values[($0 * total)..<($0 * total + n * headDimension)] }
        }
        inputs = try DecodeInputs(
          tokenCount: n, headDimension: headDimension, queryHeads: hq, keyValueHeads: hkv, keys: take(npy.k, heads: hkv),
          values: take(npy.v, heads: hkv), queries: take(npy.q, heads: hq), origin: "npy(\(source))")
      } else if source == "normal" {
        inputs = try DecodeInputs.normal(tokenCount: n, headDimension: headDimension, queryHeads: hq, keyValueHeads: hkv, seed: seed)
      } else {
        var structure = StructuredDecodeInputs()
        structure.seed = seed
        structure.sinks = try options.int("sinks", minimum: 0) ?? structure.sinks
        structure.heavyHitters = try options.int("heavy-hitters", minimum: 0) ?? structure.heavyHitters
        structure.localityLength = try options.double("locality") ?? structure.localityLength
        structure.sinkLogit = try options.double("sink-logit") ?? structure.sinkLogit
        structure.heavyLogit = try options.double("heavy-logit") ?? structure.heavyLogit
        structure.localLogit = try options.double("local-logit") ?? structure.localLogit
        structure.noise = try options.double("noise") ?? structure.noise
        inputs = try structure.generate(
          tokenCount: n, promptLength: prompt, headDimension: headDimension, queryHeads: hq, keyValueHeads: hkv)
      }
      try request.validate(inputs)
      return (inputs, request)
    } catch let error as PagedKVError {
      throw CLIError.usage("\(command): \(error.description)")
    }
  }

  // MARK: Rendering

  static func pruneHeader(_ request: PrunedDecodeRequest, inputs: DecodeInputs) -> String {
    let c = request.configuration
    return "paged decode with pruning: prompt P=\(request.promptLength) + T=\(request.steps) steps, B=\(c.blockSize), d=\(c.headDimension), "
      + "h_q=\(c.queryHeads), h_kv=\(c.keyValueHeads) (\(c.keyValueReads.rawValue)), splits \(c.splits), \(c.dataType), "
      + "\(request.mode.rawValue) mode, \(request.machine.name)\n  inputs \(inputs.origin)\n"
  }

  static func pruneRunTable(_ run: PrunedDecodeResult, full: PrunedDecodeResult, inputs: DecodeInputs, every: Int) -> String {
    let g = NumberFormatting.grouped
    var out = pruneHeader(run.request, inputs: inputs)
    out += "  policy \(run.policy)" + (run.active ? "" : " (its budget covers the run: identical to full)") + "\n\n"
    var rows: [[String]] = [["step", "L", "read (full)", "read (\(run.policy))", "KV held (full)", "held (\(run.policy))", "rel. error", "recall"]]
    for (p, f) in zip(run.steps, full.steps) where p.step % every == 0 || p.step == 1 || p.step == run.steps.count {
      rows.append([
        String(p.step), String(p.contextLength), g(f.readBytes), g(p.readBytes), NumberFormatting.bytes(f.bytesHeld),
        NumberFormatting.bytes(p.bytesHeld), NumberFormatting.scientific(p.relativeError), NumberFormatting.fixed(p.recall, 4),
      ])
    }
    out += NumberFormatting.table(rows) + "\n"
    let exact = zip(run.steps, 0...).allSatisfy { step, _ in PrunedDecodeRun.closedForm(shape: step.shape, configuration: run.request.configuration).matches(step.ledger) }
    out += "  over the run    bytes read \(g(run.readBytes)) = \(percent(Double(run.readBytes) / Double(full.readBytes))) of full's \(g(full.readBytes)); "
      + "written \(g(run.writeBytes)) (full \(g(full.writeBytes)))\n"
    out += "  KV memory held  final \(NumberFormatting.bytes(run.finalBytesHeld)) (full \(NumberFormatting.bytes(full.finalBytesHeld))), "
      + "peak \(NumberFormatting.bytes(run.peakBytesHeld))\n"
    out += "  accuracy        relative error mean \(NumberFormatting.scientific(run.meanRelativeError)), max \(NumberFormatting.scientific(run.maxRelativeError)); "
      + "recall mean \(NumberFormatting.fixed(run.meanRecall, 4)), min \(NumberFormatting.fixed(run.minRecall, 4))\n"
    if run.movedTokens > 0 || run.steps.contains(where: { $0.evictedTokens > 0 }) {
      out += "  compaction      \(g(run.movedTokens)) tokens moved, \(g(run.copyBytes)) bytes copied; mean hole share before compaction \(percent(run.meanHoleShare))\n"
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

  static func pruneProblemJSON(_ request: PrunedDecodeRequest, inputs: DecodeInputs) -> JSONValue {
    let c = request.configuration
    return .object([
      ("promptLength", .int(request.promptLength)), ("steps", .int(request.steps)), ("blockSize", .int(c.blockSize)),
      ("headDim", .int(c.headDimension)), ("queryHeads", .int(c.queryHeads)), ("kvHeads", .int(c.keyValueHeads)),
      ("kvReads", .string(c.keyValueReads.rawValue)), ("splits", .int(c.splits)), ("dtype", .string(c.dataType.rawValue)),
      ("mode", .string(request.mode.rawValue)), ("machine", .string(request.machine.name)), ("inputs", .string(inputs.origin)),
      ("seed", .int(Int(truncatingIfNeeded: request.seed))),
    ])
  }

  static func pruneRunSummaryJSON(_ run: PrunedDecodeResult, full: PrunedDecodeResult) -> [(String, JSONValue)] {
    var fields: [(String, JSONValue)] = [
      ("policy", .string(run.policy)), ("active", .bool(run.active)), ("readBytes", .int(run.readBytes)),
      ("writeBytes", .int(run.writeBytes)), ("readVsFull", .double(Double(run.readBytes) / Double(full.readBytes))),
      ("memoryHeldBytes", .int(run.finalBytesHeld)), ("peakMemoryHeldBytes", .int(run.peakBytesHeld)),
      ("relativeErrorMean", .double(run.meanRelativeError)), ("relativeErrorMax", .double(run.maxRelativeError)),
      ("recallMean", .double(run.meanRecall)), ("recallMin", .double(run.minRecall)), ("tokensMoved", .int(run.movedTokens)),
      ("copyBytes", .int(run.copyBytes)), ("setupBytes", .int(run.setupLedger.hbmBytes)),
      ("closedFormMatches", .bool(run.steps.allSatisfy {
        PrunedDecodeRun.closedForm(shape: $0.shape, configuration: run.request.configuration).matches($0.ledger)
      })),
    ]
    if let e = run.maxKernelError { fields.append(("kernelMaxRelativeError", .double(e))) }
    return fields
  }

  static func pruneRunJSON(_ run: PrunedDecodeResult, full: PrunedDecodeResult, inputs: DecodeInputs) -> JSONValue {
    let steps: [JSONValue] = zip(run.steps, full.steps).map { p, f in
      .object([
        ("step", .int(p.step)), ("contextLength", .int(p.contextLength)), ("pagesRead", .int(p.shape.pagesRead)),
        ("readBytes", .int(p.readBytes)), ("writeBytes", .int(p.writeBytes)), ("memoryHeldBytes", .int(p.bytesHeld)),
        ("fullReadBytes", .int(f.readBytes)), ("fullMemoryHeldBytes", .int(f.bytesHeld)),
        ("relativeError", .double(p.relativeError)), ("recall", .double(p.recall)), ("tokensMoved", .int(p.shape.movedTokens)),
      ])
    }
    return .object([
      ("command", .string("paged prune")), ("problem", pruneProblemJSON(run.request, inputs: inputs)),
      ("run", .object(pruneRunSummaryJSON(run, full: full))), ("full", .object(pruneRunSummaryJSON(full, full: full))),
      ("steps", .array(steps)),
    ])
  }

  static func pruneStepBreakdown(_ run: PrunedDecodeResult, full: PrunedDecodeResult, step: Int) -> String {
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

  static let pruneCSVHeader = [
    "policy", "family", "budget_fraction", "budget_pages", "bytes_read", "bytes_read_per_step", "read_vs_full", "bytes_written",
    "memory_held_bytes", "peak_memory_held_bytes", "memory_vs_full", "relative_error_mean", "relative_error_max", "recall_mean",
    "recall_min", "tokens_moved", "copy_bytes",
  ]

  static func pruneCSV(_ rows: [PruningSweep.Row], full: PrunedDecodeResult) -> String {
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
    return CSV.text(header: pruneCSVHeader, rows: records)
  }

  static func pruneSweepTable(_ rows: [PruningSweep.Row], full: PrunedDecodeResult, inputs: DecodeInputs) -> String {
    var out = pruneHeader(full.request, inputs: inputs) + "\n"
    var table: [[String]] = [["policy", "budget", "read/step", "vs full", "KV held", "vs full", "rel. error", "recall", "moved"]]
    for row in rows {
      let r = row.result
      table.append([
        r.policy, row.spec == .full ? "all" : "\(NumberFormatting.fixed(row.fraction, 4)) (\(row.budgetPages) pages)",
        NumberFormatting.bytes(Int(r.meanReadBytesPerStep.rounded())), percent(Double(r.readBytes) / Double(full.readBytes)),
        NumberFormatting.bytes(r.finalBytesHeld), percent(Double(r.finalBytesHeld) / Double(full.finalBytesHeld)),
        NumberFormatting.scientific(r.meanRelativeError), NumberFormatting.fixed(r.meanRecall, 4),
        r.movedTokens > 0 ? NumberFormatting.grouped(r.movedTokens) : "–",
      ])
    }
    out += NumberFormatting.table(table)
    out += "\n  read/step and rel. error are means over the steps; KV held is after the last step (key bounds and score\n"
      + "  accumulators included); recall is the mean share of full attention's mass on the tokens read.\n"
    return out
  }

  /// Two panels side by side: bytes read per step vs error, and memory held vs error.
  static func pruneSVG(_ rows: [PruningSweep.Row], full: PrunedDecodeResult) -> String {
    let families = ["quest", "streaming", "h2o"].filter { f in rows.contains { $0.spec.family == f } }
    // A relative error of 0 (full) cannot sit on a log axis: it is drawn at the smallest error
    // shown divided by 10, and named so in the legend.
    let errors = rows.map(\.result.meanRelativeError).filter { $0 > 0 }
    let floor = (errors.min() ?? 1e-6) / 10
    func series(_ x: (PrunedDecodeResult) -> Double) -> [LinePlot.Series] {
      var lines = families.map { family in
        LinePlot.Series(family, points: rows.filter { $0.spec.family == family }.map { (x($0.result), max($0.result.meanRelativeError, floor)) })
      }
      lines.append(LinePlot.Series("full (error 0, drawn at the floor)", points: [(x(full), floor)], joined: false))
      return lines
    }
    func panel(_ title: String, _ label: String, _ x: @escaping (PrunedDecodeResult) -> Double) -> String {
      let lines = series(x)
      let xs = lines.flatMap { $0.points.map(\.x) }
      let ys = lines.flatMap { $0.points.map(\.y) }
      return LinePlot(
        title: title, x: PlotAxis(label, scale: .linear, values: xs).including(0),
        y: PlotAxis("mean relative error vs full attention", scale: .log(base: 10), values: ys), series: lines, legend: .topRight
      ).svg()
    }
    let left = panel("Bytes read per decode step vs error", "HBM bytes read per step (MB)") { $0.meanReadBytesPerStep / 1e6 }
    let right = panel("KV memory held vs error", "KV memory held after the last step (MB)") { Double($0.finalBytesHeld) / 1e6 }
    let shifted = right.replacingOccurrences(of: "<svg xmlns", with: "<svg x=\"680\" xmlns", options: .anchored)
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1360\" height=\"420\" viewBox=\"0 0 1360 420\">"
      + left + shifted + "</svg>\n"
  }
}
