import AttentionIO
import Foundation

extension CommandLineTool {
  /// The problem flags `trace` shares with `simulate` (one head, so no batch or heads; always
  /// execute mode, so no mode or threads), with the trace's own defaults in their help.
  static let traceProblemOptions: [OptionSpec] = {
    let overrides = [
      "seq-len": "Sequence length N (default 16).",
      "head-dim": "Head dimension d (default 8).",
      "device": "Machine preset or a device file (default teaching: a 384-byte SRAM; see 'attention-io devices').",
      "sram-bytes": "Override the SRAM capacity (html with no problem or machine flags: N = 64 on 2,048 bytes, where FlashAttention wins).",
    ]
    let shared = ["seq-len", "head-dim", "dtype", "scale", "device", "sram-bytes", "register-bytes", "block-rows", "block-cols", "block-rule", "seed"]
    return shared.compactMap { name in
      guard let spec = ProblemOptions.specs.first(where: { $0.name == name }) else { return nil }
      guard let help = overrides[name] else { return spec }
      return OptionSpec(name: spec.name, kind: spec.kind, help: help)
    }
  }()

  static let traceOptions: [OptionSpec] =
    [
      .value(
        "algorithm", (Trace.traceableAlgorithms.map(\.rawValue) + PagedDecodeSimulator.traceNames).joined(separator: "|"),
        "Algorithm to trace (required)."),
      .value("pass", "forward|backward", "Which pass to record (default forward); backward runs the forward first, unrecorded."),
    ]
    + traceProblemOptions + [
      .value("mask", "PATTERN|FILE", "Block-sparse: the block mask (as in 'simulate'; default dense)."),
      .value("context-len", "L", "paged-decode, split-kv-decode: context length of every sequence, the new token included (default 40)."),
      .value("batch", "S", "paged-decode, split-kv-decode: sequences in the step (default 1)."),
      .value("block-size", "B", "paged-decode, split-kv-decode: tokens per KV block (default 8)."),
      .value("query-heads", "HQ", "paged-decode, split-kv-decode: query heads (default 1, or --kv-heads)."),
      .value("kv-heads", "HKV", "paged-decode, split-kv-decode: KV heads (default --query-heads)."),
      .value("splits", "S", "split-kv-decode: partitions of the context (default 2; paged-decode has 1)."),
      .flag("skip-empty-columns", "Block-sparse: do not load K_j, V_j for key-block columns with no nonzero block."),
      .value("format", "text|chrome|html|csv", "Output format (default text)."),
      .value("level", "summary|transfers|all", "text: which steps to list (default all; pictures after each outer iteration always)."),
      .value("compare", "ALGORITHM|none", "html, chrome: also trace this algorithm on the same problem (html default: standard, or flash for --algorithm standard; chrome default: none)."),
      .value("time-scale", "X", "chrome: multiply modelled time by X (default 1). Perfetto keeps whole nanoseconds; teaching traces last a few, so try 1000."),
      .value("out", "FILE", "Write to FILE (atomically) instead of standard output; a missing folder of FILE is created (one level)."),
      .flag("force", "With --out: overwrite FILE if it exists."),
    ]

  enum TraceFormat: String, CaseIterable { case text, chrome, html, csv }

  /// `attention-io trace`: one head of a small problem, every step, as text, Chrome trace JSON,
  /// a self-contained HTML animation or CSV.
  func trace(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "trace", abstract: "Record every step of one head's run as text, Chrome trace JSON, CSV or an animated HTML lesson.",
        usage: "--algorithm \(Trace.traceableAlgorithms.map(\.rawValue).joined(separator: "|")) [problem options] [--format text|chrome|html|csv] [--out FILE [--force]]",
        options: Self.traceOptions,
        discussion: """
          The run is executed with real math (so m and ℓ have values) on the teaching machine by default. Time is \
          modelled: a transfer takes bytes / HBM bandwidth, a compute step FLOPs / its rate, one after another. The \
          trace's sums equal the IO ledger exactly. Traces are for small problems: at most \(NumberFormatting.grouped(Trace.defaultStepLimit)) \
          steps (\(NumberFormatting.grouped(HTMLTraceDocument.stepLimit)) per algorithm for html). Every registered kernel \
          can be traced:
          \(Self.kernelList)
          Examples:
            attention-io trace --algorithm flash --format text
            attention-io trace --algorithm flash --format html --out flash.html
            attention-io trace --algorithm flash --pass backward --format html --out flash-backward.html
            attention-io trace --algorithm flash --format html --device teaching --out tiny-sram.html
            attention-io trace --algorithm standard --format chrome --time-scale 1000 --out standard.json
          """))
      return
    }
    var options = try ParsedOptions(command: "trace", arguments: arguments, specs: Self.traceOptions)
    if let name = options.string("algorithm"), PagedDecodeSimulator.traceNames.contains(name) {
      try traceDecode(options, name: name, arguments: arguments)
      return
    }
    let decodeOnly = ["context-len", "batch", "block-size", "query-heads", "kv-heads", "splits"]
    if let flag = decodeOnly.first(where: { options.string($0) != nil }) {
      throw CLIError.usage("trace: --\(flag) goes with --algorithm paged-decode or split-kv-decode")
    }
    // The trace's defaults: the teaching problem on the teaching machine. The HTML lesson with no
    // problem or machine flags is the first one a reader sees, so it gets a problem where
    // FlashAttention wins (N = 64 on a 2,048-byte SRAM); the tiny-SRAM reversal is one flag away
    // (`--device teaching`) and titled as such.
    var defaults: [String] = []
    let shapeFlags = ["seq-len", "head-dim", "device", "sram-bytes", "register-bytes", "block-rows", "block-cols", "block-rule", "dtype"]
    let firstLesson = options.string("format") == TraceFormat.html.rawValue && shapeFlags.allSatisfy { options.string($0) == nil }
    if options.string("seq-len") == nil { defaults += ["--seq-len", firstLesson ? "64" : "16"] }
    if options.string("head-dim") == nil { defaults += ["--head-dim", "8"] }
    if options.string("device") == nil { defaults += ["--device", "teaching"] }
    if firstLesson { defaults += ["--sram-bytes", "2048"] }
    if !defaults.isEmpty {
      options = try ParsedOptions(command: "trace", arguments: arguments + defaults, specs: Self.traceOptions)
    }
    let traceable = Trace.traceableAlgorithms.map { ($0.rawValue, $0) }
    guard let algorithm = try options.choice("algorithm", traceable) else {
      throw CLIError.usage("trace: --algorithm is required (\(traceable.map(\.0).joined(separator: " or ")))")
    }
    let output = try TraceOutput(options)
    let format = output.format
    let pass = try options.choice("pass", AttentionSchedule.Pass.allCases.map { ($0.rawValue, $0) }) ?? .forward
    let comparison = try compareAlgorithm(options, algorithm: algorithm, format: format)
    let sparsity = try ProblemOptions.sparsity(options, algorithm: algorithm, defaultPattern: .dense)

    let problem = try ProblemOptions.problem(options)
    let machine = try ProblemOptions.machine(options)
    let blocks = try ProblemOptions.blocks(options)
    let rule = try options.choice("block-rule", BlockRule.allCases.map { ($0.rawValue, $0) }) ?? .fit
    let limit = format == .html ? HTMLTraceDocument.stepLimit : Trace.defaultStepLimit
    func record(_ kind: AttentionAlgorithmKind) throws -> Trace {
      do {
        return try Trace.record(
          kind, pass: pass, problem: problem, spec: machine, blocks: blocks, blockRule: rule, mode: .execute, stepLimit: limit,
          memoryLimitBytes: HostMemory.availableBytes(), sparsity: KernelRegistry.algorithm(kind).usesBlockMask ? sparsity : nil)
      } catch let TraceError.tooManySteps(kind, steps, isLowerBound, limit) {
        // One number format in every refusal, and only advice that works: --format chrome only
        // when the run is known to fit its own limit.
        let g = NumberFormatting.grouped
        let takes = "\(kind.rawValue) takes \(isLowerBound ? "at least " : "")\(g(steps)) steps"
        var advice = "try a smaller problem (smaller --seq-len, or a larger --sram-bytes for bigger blocks)"
        if format == .html {
          let fitsOtherFormats = !isLowerBound
            ? steps <= Trace.defaultStepLimit
            : (try? Trace.record(
              kind, pass: pass, problem: problem, spec: machine, blocks: blocks, blockRule: rule, mode: .count,
              stepLimit: Trace.defaultStepLimit, sparsity: KernelRegistry.algorithm(kind).usesBlockMask ? sparsity : nil)) != nil
          if fitsOtherFormats {
            advice += ", or --format chrome, text or csv (up to \(g(Trace.defaultStepLimit)) steps)"
          }
          throw CLIError.runtime("trace: the HTML animation holds at most \(g(limit)) steps per algorithm, but \(takes); \(advice)")
        }
        throw CLIError.runtime(
          "trace: \(takes), more than the limit of \(g(limit)); \(advice); 'attention-io simulate' counts a run of any size without tracing it")
      } catch let error as TraceError {
        throw CLIError.runtime("trace: \(error.description)")
      }
    }
    var traces = [try record(algorithm)]
    if let comparison { traces.append(try record(comparison)) }

    try writeTraces(traces, output)
  }

  /// How and where a trace is written: `--format`, `--level`, `--time-scale`, `--out`, `--force`.
  struct TraceOutput {
    let format: TraceFormat
    let level: TraceText.Level
    let timeScale: Double
    let out: String?
    let force: Bool

    init(_ options: ParsedOptions) throws {
      format = try options.choice("format", TraceFormat.allCases.map { ($0.rawValue, $0) }) ?? .text
      level = try options.choice("level", TraceText.Level.allCases.map { ($0.rawValue, $0) }) ?? .all
      if options.string("level") != nil, format != .text { throw CLIError.usage("trace: --level applies to --format text only") }
      timeScale = try options.double("time-scale") ?? 1
      if options.string("time-scale") != nil {
        guard format == .chrome else { throw CLIError.usage("trace: --time-scale applies to --format chrome only") }
        guard timeScale > 0 else { throw CLIError.usage("trace: --time-scale must be positive, got \(timeScale)") }
      }
      out = options.string("out")
      force = options.has("force")
      if force, out == nil { throw CLIError.usage("trace: --force goes with --out FILE") }
    }
  }

  /// Renders `traces` as `output` says: to standard output, or atomically to a file.
  func writeTraces(_ traces: [Trace], _ output: TraceOutput) throws {
    let (format, level, timeScale, out, force) = (output.format, output.level, output.timeScale, output.out, output.force)
    let text: String
    switch format {
    case .text: text = TraceText.render(traces[0], level: level)
    case .csv: text = TraceCSV.render(traces[0])
    case .chrome: text = TraceChrome.json(traces, timeScale: timeScale).serialized(pretty: false) + "\n"
    case .html:
      do {
        text = try HTMLTraceDocument.render(traces)
      } catch let error as HTMLTraceDocument.RenderError {
        throw CLIError.runtime("trace: \(error.description)")
      }
    }
    guard let out else {
      standardOutput(text)
      return
    }
    do {
      createOutputFolderIfMissing(for: out)
      try AtomicFile.write(text, to: out, overwrite: force)
    } catch let error as AtomicFile.WriteError {
      throw CLIError.runtime("trace: \(error.description)")
    }
    let steps = traces.map { "\($0.name) \(NumberFormatting.grouped($0.steps.count)) steps" }.joined(separator: ", ")
    standardOutput("wrote \(out) (\(format.rawValue), \(steps), \(NumberFormatting.bytes(text.utf8.count)))\n")
  }

  /// One line per registered kernel: the `--algorithm` and `--pass` that trace it, and its title.
  static var kernelList: String {
    let kernels = KernelRegistry.kernels.map { kernel in
      ("--algorithm \(kernel.algorithm.rawValue) --pass \(kernel.pass.rawValue)", kernel.title)
    }
    let decode = [
      ("--algorithm paged-decode", "PagedAttention decode step (vLLM paged_attention_v1)"),
      ("--algorithm split-kv-decode", "split-KV decode step (Flash-Decoding, vLLM paged_attention_v2)"),
    ]
    return (kernels + decode).map { "  " + $0.0.padding(toLength: 47, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
  }

  /// `trace --algorithm paged-decode|split-kv-decode`: one decode step of a small batch, on the
  /// teaching machine with a 2,048-byte SRAM unless told otherwise (the block-table chunk alone
  /// takes 256 bytes).
  func traceDecode(_ options: ParsedOptions, name: String, arguments: [String]) throws {
    let attentionOnly = ["seq-len", "register-bytes", "block-rows", "block-cols", "block-rule", "pass", "mask", "compare"]
    if let flag = attentionOnly.first(where: { options.string($0) != nil }) ?? (options.has("skip-empty-columns") ? "skip-empty-columns" : nil) {
      throw CLIError.usage("trace: --\(flag) does not apply to --algorithm \(name) (its flags: --context-len, --batch, --block-size, --head-dim, --query-heads, --kv-heads, --splits)")
    }
    let output = try TraceOutput(options)
    let split = name == PagedDecodeSimulator.traceNames[1]
    let splits = try options.int("splits") ?? (split ? 2 : 1)
    if split && splits < 2 { throw CLIError.usage("trace: split-kv-decode needs --splits of at least 2, got \(splits)") }
    if !split && splits != 1 { throw CLIError.usage("trace: paged-decode has one partition; use --algorithm split-kv-decode for --splits \(splits)") }
    let contextLength = try options.int("context-len") ?? 40
    let batch = try options.int("batch") ?? 1
    for (flag, value) in [("context-len", contextLength), ("batch", batch)] where value <= 0 {
      throw CLIError.usage("trace: --\(flag) must be positive, got \(value)")
    }
    let queryHeads = try options.int("query-heads") ?? options.int("kv-heads") ?? 1
    let configuration: PagedDecodeConfiguration
    do {
      configuration = try PagedDecodeConfiguration(
        blockSize: try options.int("block-size") ?? 8, headDimension: try options.int("head-dim") ?? 8, queryHeads: queryHeads,
        keyValueHeads: try options.int("kv-heads") ?? queryHeads, splits: splits,
        dataType: try options.choice("dtype", ElementType.floatingPoint.map { ($0.rawValue, $0) }) ?? .fp16,
        scale: try options.double("scale").map(Float.init))
    } catch let error as PagedKVError {
      throw CLIError.usage("trace: \(error.description)")
    }
    let blocks = BlockTable.blocksNeeded(tokens: contextLength, blockSize: configuration.blockSize)
    let limit = output.format == .html ? HTMLTraceDocument.stepLimit : Trace.defaultStepLimit
    // Each block of each sequence is at least a load of K_j and of V_j: refuse runs past the
    // limit before placing anything.
    let minimum = SizeLimits.saturatingProduct(SizeLimits.saturatingProduct(batch, blocks), 2 * configuration.workItemsPerSequence)
    if minimum > limit {
      throw CLIError.runtime("trace: \(name) takes at least \(NumberFormatting.grouped(minimum)) steps, more than the limit of \(NumberFormatting.grouped(limit)); try a smaller --context-len or --batch")
    }
    var decodeOptions = options
    if options.string("device") == nil && options.string("sram-bytes") == nil {
      decodeOptions = try ParsedOptions(command: "trace", arguments: arguments + ["--device", "teaching", "--sram-bytes", "2048"], specs: Self.traceOptions)
    }
    let machine = try ProblemOptions.machine(decodeOptions)
    let request = PagedDecodeRequest(
      contextLengths: Array(repeating: contextLength, count: batch), configuration: configuration, machine: machine, mode: .execute,
      seed: try options.uint64("seed") ?? 0)
    let trace: Trace
    do {
      trace = try PagedDecodeSimulator.trace(request, stepLimit: limit)
    } catch let error as TraceError {
      throw CLIError.runtime("trace: \(error.description)")
    } catch let error as PagedKVError {
      throw CLIError.usage("trace: \(error.description)")
    }
    try writeTraces([trace], output)
  }

  /// The second algorithm of an html or chrome trace, if any.
  func compareAlgorithm(_ options: ParsedOptions, algorithm: AttentionAlgorithmKind, format: TraceFormat) throws -> AttentionAlgorithmKind? {
    let choices: [(String, AttentionAlgorithmKind?)] = Trace.traceableAlgorithms.map { ($0.rawValue, $0) } + [("none", nil)]
    guard let text = options.string("compare") else {
      guard format == .html else { return nil }
      return algorithm == .standard ? .flash : .standard
    }
    guard format == .html || format == .chrome else {
      throw CLIError.usage("trace: --compare applies to --format html and chrome only")
    }
    guard let match = choices.first(where: { $0.0 == text }) else {
      throw CLIError.usage("trace: --compare must be one of \(choices.map(\.0).joined(separator: ", ")); got '\(text)'")
    }
    if match.1 == algorithm { return nil }
    return match.1
  }

}
