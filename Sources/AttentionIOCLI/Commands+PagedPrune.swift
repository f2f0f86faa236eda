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
      if let csvPath { try Self.writeFile(PruningReportRendering.csv(rows, full: full), to: csvPath, force: force) }
      if let svgPath { try Self.writeFile(PruningSweepPlot.svg(rows, full: full), to: svgPath, force: force) }
      if format == "json" {
        standardOutput(PruningReportRendering.sweepJSON(rows, full: full, request: request, inputs: inputs).serialized(pretty: true) + "\n")
      } else {
        standardOutput(PruningReportRendering.sweepTable(rows, full: full, inputs: inputs))
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
      standardOutput(PruningReportRendering.runJSON(pruned, full: full, inputs: inputs).serialized(pretty: true) + "\n")
      return
    }
    standardOutput(PruningReportRendering.runTable(pruned, full: full, inputs: inputs, every: every))
    if let shown {
      standardOutput(PruningReportRendering.stepBreakdown(pruned, full: full, step: shown))
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
}
