import AttentionIO
import Foundation

/// Options shared by every command that describes one attention problem on one machine.
enum ProblemOptions {
  static let specs: [OptionSpec] = [
    .value("seq-len", "N", "Sequence length N (required)."),
    .value("head-dim", "D", "Head dimension d (required)."),
    .value("batch", "B", "Batch size (default 1)."),
    .value("heads", "H", "Heads per batch entry (default 1)."),
    .value("dtype", "fp32|fp16|bf16", "Data type of Q, K, V, O, S, P in HBM (default fp16; statistics stay fp32)."),
    .value("scale", "T", "Softmax scale τ in S = τQKᵀ (default 1/√d)."),
    .flag("causal", "Causal mask: query i sees keys 0…i."),
    .value("valid-lengths", "L1,L2,…", "Key-padding mask: valid keys per batch entry (one length per batch entry)."),
    .value("dropout", "P", "Dropout probability p in [0, 1) (default 0)."),
    .value("device", "PRESET|FILE.json", "Machine preset or a device file (default a100-40gb; see 'attention-io devices')."),
    .value("sram-bytes", "BYTES", "Override the SRAM capacity per SM (the paper's M, in bytes)."),
    .value("register-bytes", "BYTES", "Override the register file per SM, where accumulators live; 0: the paper's model, every tile in SRAM. An accumulator that does not fit is placed in SRAM."),
    .value("block-rows", "BR", "Query block size Br (with --block-cols; the matmul tiles for standard)."),
    .value("block-cols", "BC", "Key block size Bc (with --block-rows)."),
    .value("block-rule", "fit|paper", "Default blocks: largest of the paper's proportions that fit (fit, default) or the literal paper rule."),
    .value("mode", "count|execute", "count: shapes only (fast); execute: real math, checked against float64 (default count)."),
    .value("seed", "S", "Seed of the random inputs (default 0)."),
    .value("input-distribution", "normal|local[:RHO]", "Random inputs of execute mode: independent normals (default) or keys drifting along the sequence with queries near their own key (local, ρ = 0.95)."),
    .value("threads", "T", "Threads for execute mode (default: all cores)."),
  ]

  static func machine(_ options: ParsedOptions) throws -> MachineSpec {
    var spec = MachineSpec.a100_40GB
    if let device = options.string("device") {
      if let preset = MachineSpec.preset(named: device) {
        spec = preset
      } else if device.hasSuffix(".json") || FileManager.default.fileExists(atPath: device) {
        guard let data = FileManager.default.contents(atPath: device) else {
          throw CLIError.usage("\(options.command): cannot read device file '\(device)'")
        }
        do {
          spec = try DeviceFile.parse(String(decoding: data, as: UTF8.self))
        } catch let error as MachineError {
          throw CLIError.usage("\(device): \(error.description)")
        }
      } else {
        throw CLIError.usage(
          "\(options.command): unknown device '\(device)' (presets: \(MachineSpec.presets.map(\.name).joined(separator: ", ")); or a .json device file)")
      }
    }
    if let bytes = try options.int("sram-bytes") { spec = spec.withSRAMCapacity(bytes) }
    if let bytes = try options.int("register-bytes", minimum: 0) { spec = spec.withRegisterFile(bytes) }
    try spec.validate()
    return spec
  }

  /// `--max-memory BYTES` (with an optional K, M, G or T suffix, powers of 1024), else the
  /// memory the system has available now: the most a run may use.
  static func memoryLimit(_ options: ParsedOptions) throws -> Int {
    guard let text = options.string("max-memory") else { return HostMemory.availableBytes() }
    let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
    var digits = Substring(text)
    var unit = 1
    if let last = digits.last?.uppercased().first, let factor = units[last] {
      unit = factor
      digits = digits.dropLast()
    }
    guard let value = Int(digits), value > 0 else {
      throw CLIError.usage("\(options.command): --max-memory expects a positive number of bytes (optionally with K, M, G or T), got '\(text)'")
    }
    let (bytes, overflow) = value.multipliedReportingOverflow(by: unit)
    return overflow ? Int.max : bytes
  }

  static func problem(_ options: ParsedOptions) throws -> AttentionProblem {
    guard let n = try options.int("seq-len") else { throw CLIError.usage("\(options.command): --seq-len is required") }
    guard let d = try options.int("head-dim") else { throw CLIError.usage("\(options.command): --head-dim is required") }
    let dtype = try options.choice("dtype", ElementType.floatingPoint.map { ($0.rawValue, $0) }) ?? .fp16
    var scale: Float?
    if let s = try options.double("scale") { scale = Float(s) }
    var validLengths: [Int]?
    if let text = options.string("valid-lengths") {
      validLengths = try text.split(separator: ",", omittingEmptySubsequences: false).map {
        guard let value = Int($0.trimmingCharacters(in: .whitespaces)) else {
          throw CLIError.usage("\(options.command): --valid-lengths expects comma-separated whole numbers, got '\(text)'")
        }
        return value
      }
    }
    var distribution = InputDistribution.normal
    if let text = options.string("input-distribution") {
      guard let parsed = InputDistribution(parsing: text) else {
        throw CLIError.usage("\(options.command): --input-distribution must be normal, local or local:RHO with 0 ≤ RHO < 1; got '\(text)'")
      }
      distribution = parsed
    }
    do {
      var problem = try AttentionProblem(
        batch: try options.int("batch") ?? 1, heads: try options.int("heads") ?? 1, sequenceLength: n, headDimension: d,
        dataType: dtype, scale: scale, seed: try options.uint64("seed") ?? 0, causal: options.has("causal"),
        validLengths: validLengths, dropoutProbability: Float(try options.double("dropout") ?? 0))
      problem.inputDistribution = distribution
      return problem
    } catch let error as AttentionError {
      throw CLIError.usage("\(options.command): \(error.description)")
    }
  }

  static func blocks(_ options: ParsedOptions) throws -> BlockSizes? {
    let rows = try options.int("block-rows")
    let cols = try options.int("block-cols")
    switch (rows, cols) {
    case (nil, nil): return nil
    case let (r?, c?): return BlockSizes(queryBlockSize: r, keyBlockSize: c)
    default: throw CLIError.usage("\(options.command): --block-rows and --block-cols go together")
    }
  }

  /// `--mask` and `--skip-empty-columns`, which only block-sparse runs take. Without `--mask`, a
  /// block-sparse run uses `defaultPattern`, or is refused when there is none.
  static func sparsity(
    _ options: ParsedOptions, algorithm: AttentionAlgorithmKind, defaultPattern: BlockMaskPattern? = nil
  ) throws -> BlockSparsity? {
    let text = options.string("mask")
    guard KernelRegistry.algorithm(algorithm).usesBlockMask else {
      if text != nil || options.has("skip-empty-columns") {
        throw CLIError.usage("\(options.command): --mask and --skip-empty-columns need --algorithm block-sparse")
      }
      return nil
    }
    guard let pattern = try text.map({ try maskPattern($0, command: options.command) }) ?? defaultPattern else {
      throw CLIError.usage("\(options.command): --algorithm block-sparse needs --mask PATTERN or --mask FILE")
    }
    return BlockSparsity(pattern: pattern, skipEmptyColumns: options.has("skip-empty-columns"))
  }

  /// A pattern name, or the path of a mask file.
  static func maskPattern(_ text: String, command: String) throws -> BlockMaskPattern {
    if let pattern = try? BlockMaskPattern(parsing: text) { return pattern }
    if FileManager.default.fileExists(atPath: text) {
      guard let data = FileManager.default.contents(atPath: text) else { throw CLIError.usage("\(text): cannot read the mask file") }
      do {
        return .explicit(try BlockMaskFile.parse(String(decoding: data, as: UTF8.self)))
      } catch let error as BlockMaskFile.ParseError {
        throw CLIError.usage("\(text): \(error.description)")
      }
    }
    do {
      return try BlockMaskPattern(parsing: text)
    } catch let error as AttentionError {
      throw CLIError.usage("\(command): \(error.description)")
    }
  }

  static func mode(_ options: ParsedOptions) throws -> ExecutionMode {
    try options.choice("mode", ExecutionMode.allCases.map { ($0.rawValue, $0) }) ?? .count
  }

  static func threads(_ options: ParsedOptions) throws -> Int {
    try options.int("threads") ?? ProcessInfo.processInfo.activeProcessorCount
  }
}

extension CommandLineTool {
  static let simulateOptions: [OptionSpec] =
    [
      .value("algorithm", KernelRegistry.names.joined(separator: "|"), "Algorithm (required): " + KernelRegistry.algorithms.map { "\($0.kind.rawValue), \($0.displayName)" }.joined(separator: "; ") + " (block-sparse with --mask)."),
      .value("pass", "forward|backward|both", "Which pass (default forward); backward runs the forward it needs and reports it separately."),
    ] + ProblemOptions.specs + [
      .value("mask", "PATTERN|FILE", "Block-sparse mask: dense, causal, local:W, strided:S, butterfly, random:DENSITY, global-local:G,W, sinks-window:S,W, topk:K, or a 0/1 mask file (Docs/BlockSparse.md)."),
      .flag("skip-empty-columns", "Block-sparse: do not load K_j, V_j for key-block columns with no nonzero block."),
      .value("inputs", "DIR", "Execute mode: read q.npy, k.npy, v.npy (and do.npy) from DIR instead of seeded normals."),
      .value("output-dir", "DIR", "Execute mode: write o.npy (and dq.npy, dk.npy, dv.npy) as float32 into DIR (created if missing)."),
      .value("save-inputs", "DIR", "Execute mode: write the seeded inputs q.npy, k.npy, v.npy (and do.npy) as float32 into DIR (created if missing), ready for --inputs."),
      .flag("force", "Overwrite existing files in --output-dir and --save-inputs."),
      .value("format", "table|json", "Output format (default table)."),
      .value("max-memory", "BYTES", "Refuse a run whose estimated memory is above BYTES (K, M, G, T suffixes; default: the memory available now)."),
      .value("check", "full|sampled|none", "Execute mode: compare every row with float64 attention (full), a seeded sample of 256 query rows (sampled), or nothing (default: full while N·N·d ≤ 2^31, else sampled)."),
    ] + GPUOptions.specs

  func simulate(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "simulate", abstract: "Simulate one attention run on a machine model and print its exact HBM traffic.",
        usage: "--algorithm \(KernelRegistry.names.joined(separator: "|")) --seq-len N --head-dim D [options]", options: Self.simulateOptions,
        discussion: """
          Counts are exact integers per operand; totals are over batch × heads. Count mode simulates one head and \
          multiplies; execute mode runs every head with real fp32 math and reports the max relative error against \
          float64 attention. Example:
            attention-io simulate --algorithm flash --seq-len 1024 --head-dim 64 --batch 64 --heads 16
          With --kernel fa1|fa2|fa3|pytorch-explicit, a real implementation's kernels run on a real GPU's model \
          (launch order, CTAs per SM, the L2) and the report gives DRAM bytes as Nsight Compute counts them \
          (Docs/GPUModel.md):
            attention-io simulate --kernel fa2 --device h200 --seq-len 1024 --head-dim 64 --batch 64 --heads 16
          """))
      return
    }
    let options = try ParsedOptions(command: "simulate", arguments: arguments, specs: Self.simulateOptions)
    if let kernel = options.string("kernel"), kernel != "paper" {
      try simulateGPU(options, kernel: kernel)
      return
    }
    try GPUOptions.rejectWithPaperModel(options)
    guard let algorithm = try options.choice("algorithm", KernelRegistry.algorithms.map { ($0.kind.rawValue, $0.kind) }) else {
      let names = KernelRegistry.names
      throw CLIError.usage("simulate: --algorithm is required (\(names.dropLast().joined(separator: ", ")) or \(names.last ?? ""))")
    }
    let pass = try options.choice("pass", AttentionPass.allCases.map { ($0.rawValue, $0) }) ?? .forward
    let format = try options.choice("format", [("table", "table"), ("json", "json")]) ?? "table"
    let problem = try ProblemOptions.problem(options)
    let mode = try ProblemOptions.mode(options)
    let outputDirectory = options.string("output-dir")
    let saveDirectory = options.string("save-inputs")
    if (options.string("inputs") != nil || outputDirectory != nil) && mode != .execute {
      throw CLIError.usage("simulate: --inputs and --output-dir need --mode execute")
    }
    if saveDirectory != nil, mode != .execute || options.string("inputs") != nil {
      throw CLIError.usage("simulate: --save-inputs needs --mode execute and no --inputs (it writes the seeded inputs)")
    }
    // Every option is checked before any file or directory is read or created.
    var request = SimulationRequest(
      algorithm: algorithm, pass: pass, problem: problem,
      machine: try ProblemOptions.machine(options), blocks: try ProblemOptions.blocks(options),
      blockRule: try options.choice("block-rule", BlockRule.allCases.map { ($0.rawValue, $0) }) ?? .fit,
      mode: mode, threads: try ProblemOptions.threads(options), inputs: nil, keepOutputs: outputDirectory != nil,
      sparsity: try ProblemOptions.sparsity(options, algorithm: algorithm))
    request.memoryLimitBytes = try ProblemOptions.memoryLimit(options)
    request.check = try options.choice("check", CheckMode.allCases.map { ($0.rawValue, $0) })
    if request.check != nil && mode != .execute { throw CLIError.usage("simulate: --check needs --mode execute") }
    var rank = problem.headCount == 1 ? 2 : 4
    var filesNote: [String] = []
    if let directory = options.string("inputs") {
      (request.inputs, rank) = try NPYInputs.read(directory: directory, problem: problem, backward: pass.includesBackward)
      filesNote.append("read \(NPYInputs.inputNames(backward: pass.includesBackward).joined(separator: ", ")) from \(directory)")
    }
    if let outputDirectory { try NPYInputs.checkOutputDirectory(outputDirectory, backward: pass.includesBackward, force: options.has("force")) }
    if let saveDirectory {
      try NPYInputs.checkOutputDirectory(saveDirectory, files: NPYInputs.inputNames(backward: pass.includesBackward), force: options.has("force"))
      request.inputs = NPYInputs.seeded(problem: problem, backward: pass.includesBackward)
    }
    let line = progressLine("simulate", unit: "elements read")
    if let line { request.progress = { line.update(done: $0, total: $1) } }
    let result: SimulationResult
    do {
      defer { line?.finish() }
      result = try Simulator.run(request)
    }
    if let saveDirectory, let inputs = request.inputs {
      try NPYInputs.write(inputs, directory: saveDirectory, problem: problem, rank: rank, force: options.has("force"))
      filesNote.append("wrote \(NPYInputs.inputNames(backward: pass.includesBackward).joined(separator: ", ")) to \(saveDirectory)")
    }
    if let outputDirectory, let outputs = result.outputs {
      try NPYInputs.write(outputs, directory: outputDirectory, problem: problem, rank: rank, force: options.has("force"))
      filesNote.append("wrote \(NPYInputs.outputNames(backward: pass.includesBackward).joined(separator: ", ")) to \(outputDirectory)")
    }
    if format == "json" {
      standardOutput(SimulationReport.json(result).serialized(pretty: true) + "\n")
    } else {
      standardOutput(SimulationReport.table(result))
    }
    // Which files were read and written, on stderr so that stdout stays one table or JSON document;
    // a failed check says so instead, in its one error line.
    if !filesNote.isEmpty && !result.checkFailed { standardError("simulate: " + filesNote.joined(separator: "; ") + "\n") }
    if result.checkFailed {
      throw CLIError.runtime(
        "simulate: check failed: \(result.nonFiniteOutputs) output values are NaN or infinite where float64 attention is finite")
    }
  }

  func devices(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(command: "devices", abstract: "List the machine presets.", usage: "[--format table|json]",
        options: [.value("format", "table|json", "Output format (default table).")]))
      return
    }
    let options = try ParsedOptions(command: "devices", arguments: arguments, specs: [.value("format", "table|json", "")])
    let format = try options.choice("format", [("table", "table"), ("json", "json")]) ?? "table"
    if format == "json" {
      standardOutput(JSONValue.array(MachineSpec.presets.map(DeviceFile.json(for:))).serialized(pretty: true) + "\n")
      return
    }
    var rows: [[String]] = [["preset", "SRAM/SM", "SMs", "HBM", "HBM GB/s", "matmul TFLOP/s", "other TFLOP/s"]]
    for spec in MachineSpec.presets {
      rows.append([
        spec.name, NumberFormatting.grouped(spec.sramCapacityInBytes) + " B", String(spec.streamingMultiprocessors),
        NumberFormatting.bytes(spec.hbmCapacityInBytes), NumberFormatting.fixed(spec.hbmBytesPerSecond / 1e9, 0),
        NumberFormatting.fixed(spec.matmulFLOPsPerSecond / 1e12, 1), NumberFormatting.fixed(spec.otherFLOPsPerSecond / 1e12, 1),
      ])
    }
    standardOutput(NumberFormatting.table(rows, indent: ""))
  }
}
