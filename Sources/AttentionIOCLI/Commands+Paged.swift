import AttentionIO
import Foundation

/// `attention-io paged decode | waste | share`: PagedAttention's decode step with exact counts,
/// and vLLM's KV-memory experiments (Docs/Paged.md).
extension CommandLineTool {
  static let pagedAbstract = "PagedAttention: paged decode through block tables, and the KV-cache memory experiments."

  static var pagedHelp: String {
    """
    \(pagedAbstract)

    USAGE: attention-io paged <subcommand> [options]

    SUBCOMMANDS:
      decode      One decode step through block tables: exact HBM traffic per operand, closed form, time.
      waste       vLLM Figure 2: how much KV memory holds token states under Orca-style and paged allocators.
      share       vLLM Figure 15: KV blocks saved by sharing in parallel sampling and beam search.
      prune       Decode-time pruning (Quest, StreamingLLM, H2O): bytes read and KV held against error and recall.

    Run 'attention-io paged <subcommand> --help' for its options.

    """
  }

  func paged(_ arguments: [String]) throws {
    guard let sub = arguments.first, sub != "--help", sub != "-h", sub != "help" else {
      standardOutput(Self.pagedHelp)
      return
    }
    let rest = Array(arguments.dropFirst())
    switch sub {
    case "decode": try pagedDecode(rest)
    case "waste": try pagedWaste(rest)
    case "share": try pagedShare(rest)
    case "prune": try pagedPrune(rest)
    default:
      throw CLIError.usage("paged: unknown subcommand '\(sub)' (subcommands: decode, waste, share, prune)")
    }
  }

  // MARK: decode

  /// Before a decode step runs: the blocks it walks (every sequence's blocks, per work item)
  /// within the step budget, and in execute mode the K/V pool (fp32, with the contiguous copies
  /// of the float64 check) within the memory limit.
  static func checkPagedDecodeSize(
    batch: Int, blocksPerSequence: Int, configuration: PagedDecodeConfiguration, mode: ExecutionMode, memoryLimit: Int
  ) throws {
    let blocks = SizeLimits.saturatingProduct(SizeLimits.saturatingProduct(batch, blocksPerSequence), configuration.workItemsPerSequence)
    guard blocks <= SimulationLimits.maximumBlockSteps else {
      throw SizeLimitError(
        kind: .resource, quantity: "the KV blocks to walk (batch × ⌈L/B⌉ × work items)", value: blocks == Int.max ? "more than 2^63" : "\(blocks)",
        limit: "\(SimulationLimits.maximumBlockSteps) steps (about ten minutes)", hint: "lower --batch or --context-len")
    }
    guard mode == .execute else { return }
    let tokens = SizeLimits.saturatingProduct(SizeLimits.saturatingProduct(batch, blocksPerSequence), configuration.blockSize)
    let perToken = SizeLimits.saturatingProduct(SizeLimits.saturatingProduct(configuration.keyValueHeads, configuration.headDimension), 4 * 2 * 3)
    let estimate = SizeLimits.saturatingProduct(tokens, perToken)
    guard estimate <= memoryLimit else {
      throw SizeLimitError(
        kind: .resource, quantity: "the estimated memory of this execute-mode decode step (K/V pool in fp32 and its checks)",
        value: estimate == Int.max ? "more than 2^63 bytes" : "\(estimate) bytes (\(SizeLimits.scientific(Double(estimate))))",
        limit: "\(memoryLimit) bytes (\(SizeLimits.scientific(Double(memoryLimit))))", hint: "lower --batch or --context-len, or use count mode")
    }
  }

  static let pagedDecodeOptions: [OptionSpec] = [
    .value("context-len", "L", "Context length L of every sequence, the new token included (required)."),
    .value("batch", "S", "Sequences decoded in the step (default 1)."),
    .value("block-size", "B", "Tokens per KV block (required; vLLM's default is 16)."),
    .value("head-dim", "D", "Head dimension d (required)."),
    .value("query-heads", "HQ", "Query heads h_q (default 1, or --kv-heads when only that is given)."),
    .value("kv-heads", "HKV", "KV heads h_kv; h_q must be a multiple (default: --query-heads, i.e. MHA)."),
    .value("kv-reads", "per-query-head|per-kv-head", "GQA/MQA: read a shared KV head once per query head (vLLM's legacy kernel, default) or once per KV head."),
    .value("splits", "S", "Split-KV partitions (Flash-Decoding / PagedAttention v2); 1 = no split (default)."),
    .value("mode", "count|execute", "count: shapes only; execute: real math checked against float64 contiguous attention (default count)."),
    .value("dtype", "fp32|fp16|bf16", "Data type of Q, K, V, O in HBM (default fp16; partials and logsumexp stay fp32)."),
    .value("scale", "T", "Softmax scale τ (default 1/√d)."),
    .value("device", "PRESET|FILE.json", "Machine preset or device file (default a100-40gb)."),
    .value("sram-bytes", "BYTES", "Override the SRAM capacity per SM."),
    .value("seed", "S", "Seed of the inputs and of the scattered block order (default 0)."),
    .value("format", "table|json", "Output format (default table)."),
    .value("max-memory", "BYTES", "Execute mode: refuse a step whose estimated memory is above BYTES (K, M, G, T suffixes; default: the memory available now)."),
  ]

  func pagedDecode(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "paged decode", abstract: "One PagedAttention decode step: every sequence writes its new token's K/V and attends to its whole context through its block table.",
        usage: "--context-len L [--batch S] --block-size B --head-dim D [--query-heads HQ --kv-heads HKV] [--splits S] [--mode count|execute] [options]",
        options: Self.pagedDecodeOptions,
        discussion: """
          Counts are exact: q, every K and V block in full (⌈L/B⌉·B tokens, padding included), block-table entries \
          (int32, 4 bytes), O, the new token's K/V write, and with --splits the fp32 partial outputs and logsumexps \
          written and read back. Example:
            attention-io paged decode --context-len 1000 --block-size 16 --head-dim 128 --query-heads 32 --kv-heads 8
          """))
      return
    }
    let options = try ParsedOptions(command: "paged decode", arguments: arguments, specs: Self.pagedDecodeOptions)
    guard let contextLength = try options.int("context-len") else { throw CLIError.usage("paged decode: --context-len is required") }
    guard let blockSize = try options.int("block-size") else {
      throw CLIError.usage("paged decode: --block-size is required (vLLM's default is 16)")
    }
    guard let headDimension = try options.int("head-dim") else { throw CLIError.usage("paged decode: --head-dim is required") }
    let batch = try options.int("batch") ?? 1
    guard batch <= PagedDecodeSimulator.maximumPoolBlocks else {
      throw CLIError.usage("paged decode: --batch must be at most \(PagedDecodeSimulator.maximumPoolBlocks), got \(batch)")
    }
    let blocksPerSequence = BlockTable.blocksNeeded(tokens: contextLength, blockSize: blockSize)
    guard blocksPerSequence <= PagedDecodeSimulator.maximumPoolBlocks else {
      throw CLIError.usage(
        "paged decode: --context-len \(contextLength) needs \(blocksPerSequence) blocks of \(blockSize); at most \(PagedDecodeSimulator.maximumPoolBlocks) are simulated")
    }
    let givenQueryHeads = try options.int("query-heads")
    let givenKeyValueHeads = try options.int("kv-heads")
    let queryHeads = givenQueryHeads ?? givenKeyValueHeads ?? 1
    let keyValueHeads = givenKeyValueHeads ?? queryHeads
    let reads = try options.choice("kv-reads", KeyValueReads.allCases.map { ($0.rawValue, $0) }) ?? .perQueryHead
    let splits = try options.int("splits") ?? 1
    let mode = try options.choice("mode", ExecutionMode.allCases.map { ($0.rawValue, $0) }) ?? .count
    let dtype = try options.choice("dtype", ElementType.allCases.map { ($0.rawValue, $0) }) ?? .fp16
    let format = try options.choice("format", [("table", "table"), ("json", "json")]) ?? "table"
    let seed = try options.uint64("seed") ?? 0
    let scale = try options.double("scale").map(Float.init)
    let machine = try ProblemOptions.machine(options)
    let configuration: PagedDecodeConfiguration
    do {
      configuration = try PagedDecodeConfiguration(
        blockSize: blockSize, headDimension: headDimension, queryHeads: queryHeads, keyValueHeads: keyValueHeads,
        splits: splits, keyValueReads: reads, dataType: dtype, scale: scale)
    } catch let error as PagedKVError {
      throw CLIError.usage("paged decode: \(error.description)")
    }
    try Self.checkPagedDecodeSize(
      batch: batch, blocksPerSequence: blocksPerSequence, configuration: configuration, mode: mode,
      memoryLimit: try ProblemOptions.memoryLimit(options))
    let result = try PagedDecodeSimulator.run(PagedDecodeRequest(
      contextLengths: Array(repeating: contextLength, count: batch), configuration: configuration, machine: machine,
      mode: mode, seed: seed))
    if format == "json" {
      standardOutput(PagedReportRendering.decodeJSON(result).serialized(pretty: true) + "\n")
    } else {
      standardOutput(PagedReportRendering.decodeTable(result))
    }
  }

  // MARK: waste

  static let pagedWasteOptions: [OptionSpec] = [
    .value("workload", "sharegpt|alpaca", "Synthetic request stream with ShareGPT's or Alpaca's mean lengths (required)."),
    .value("seed", "S", "Seed of the stream (default 0)."),
    .value("requests", "R", "Requests in the stream (default 1000)."),
    .value("block-size", "B", "Run paged with this block size only (default: the three Orca variants and B = 1, 2, 4, …, 256)."),
    .value("rate", "λ", "Poisson arrival rate in requests/s (default 4 for sharegpt, 150 for alpaca: both memory-bound)."),
    .value("format", "table|json", "Output format (default table)."),
  ]

  func pagedWaste(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "paged waste", abstract: "vLLM Figure 2: the share of KV memory holding token states under contiguous (Orca) and paged allocators.",
        usage: "--workload sharegpt|alpaca [--seed S] [--requests R] [--block-size B] [--format table|json]",
        options: Self.pagedWasteOptions,
        discussion: """
          Capacity: OPT-13B on A100-40GB, 12 GiB at 800 KiB per token = 15,728 token slots. Shares are of that \
          capacity, averaged over the iterations in which a request waits for memory, weighted by modelled \
          iteration time. See Docs/Paged.md. Example:
            attention-io paged waste --workload sharegpt --seed 0
          """))
      return
    }
    let options = try ParsedOptions(command: "paged waste", arguments: arguments, specs: Self.pagedWasteOptions)
    guard let workload = try options.choice("workload", Workload.allCases.map { ($0.rawValue, $0) }) else {
      throw CLIError.usage("paged waste: --workload is required (sharegpt or alpaca)")
    }
    let format = try options.choice("format", [("table", "table"), ("json", "json")]) ?? "table"
    let capacity = ServingCostModel.opt13BOnA100.tokenCapacity
    var policies = KVAllocatorPolicy.all
    if let b = try options.int("block-size") {
      guard b <= capacity else { throw CLIError.usage("paged waste: --block-size must be at most \(capacity), got \(b)") }
      policies = [.orcaMax, .orcaPow2, .orcaOracle, .paged(blockSize: b)]
    }
    let rate = try options.double("rate")
    if let rate, rate <= 0 { throw CLIError.usage("paged waste: --rate must be positive, got \(rate)") }
    let experiment: MemoryWasteExperiment
    do {
      experiment = try MemoryWasteExperiment(
        workload: workload, requestCount: try options.int("requests") ?? 1000, rate: rate,
        seed: try options.uint64("seed") ?? 0, policies: policies)
    } catch let error as PagedKVError {
      throw CLIError.usage("paged waste: \(error.description)")
    }
    let report = try experiment.run()
    if format == "json" {
      standardOutput(PagedReportRendering.wasteJSON(report).serialized(pretty: true) + "\n")
    } else {
      standardOutput(PagedReportRendering.wasteTable(report))
    }
  }

  // MARK: share

  static let pagedShareOptions: [OptionSpec] = [
    .value("workload", "alpaca|sharegpt", "Request stream (default alpaca, as in vLLM Figure 15)."),
    .value("seed", "S", "Seed (default 0)."),
    .value("requests", "R", "Requests (default 1000)."),
    .value("block-size", "B", "Tokens per block (default 16)."),
    .value("format", "table|json", "Output format (default table)."),
  ]

  func pagedShare(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "paged share", abstract: "vLLM Figure 15: KV blocks saved by sharing, for parallel sampling (2/4/6 outputs) and beam search (width 2/4/6).",
        usage: "[--workload alpaca|sharegpt] [--seed S] [--requests R] [--block-size B] [--format table|json]",
        options: Self.pagedShareOptions,
        discussion: """
          Saving = 1 − (blocks held with sharing)/(blocks without), summed over every iteration of every request; \
          the sharing is done by the KV cache manager (fork, copy-on-write, free). Example:
            attention-io paged share --workload alpaca
          """))
      return
    }
    let options = try ParsedOptions(command: "paged share", arguments: arguments, specs: Self.pagedShareOptions)
    let workload = try options.choice("workload", Workload.allCases.map { ($0.rawValue, $0) }) ?? .alpaca
    let format = try options.choice("format", [("table", "table"), ("json", "json")]) ?? "table"
    let requestCount = try options.int("requests") ?? 1000
    let blockSize = try options.int("block-size") ?? KVCacheConfiguration.defaultBlockSize
    let seed = try options.uint64("seed") ?? 0
    let experiment: SharingExperiment
    do {
      experiment = try SharingExperiment(workload: workload, requestCount: requestCount, blockSize: blockSize, seed: seed)
    } catch let error as PagedKVError {
      throw CLIError.usage("paged share: \(error.description)")
    }
    let line = progressLine("paged share", unit: "requests")
    let results: [SharingExperiment.Result]
    do {
      defer { line?.finish() }
      results = try experiment.run { line?.update(done: $0, total: $1) }
    }
    if format == "json" {
      standardOutput(PagedReportRendering.shareJSON(results, experiment: experiment).serialized(pretty: true) + "\n")
    } else {
      standardOutput(PagedReportRendering.shareTable(results, experiment: experiment))
    }
  }
}
