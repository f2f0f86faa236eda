import AttentionIO
import Foundation

extension CommandLineTool {
  static let sweepOptions: [OptionSpec] =
    ProblemOptions.specs + [
      .value("pass", "forward|backward|both", "Which passes to count (default forward)."),
      .value("patterns", "P1;P2;…", "Mask patterns separated by ';' (default: a gallery of every family)."),
      .flag("skip-empty-columns", "Do not load K_j, V_j for empty key-block columns."),
      .flag("show-masks", "Also draw each pattern's block mask (# computed, . skipped) for the first head."),
      .value("csv", "FILE", "Also write the table as CSV (atomically; never over an existing file without --force)."),
      .flag("force", "Overwrite the CSV file."),
      .value("format", "table|json", "Output format (default table)."),
      .value("max-memory", "BYTES", "Refuse a pattern whose estimated memory is above BYTES (K, M, G, T suffixes; default: the memory available now)."),
    ]

  /// `attention-io sparsity-sweep`: Proposition 4 made visible.
  func sparsitySweep(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "sparsity-sweep", abstract: "Block-sparse FlashAttention over mask patterns: density, HBM traffic, time and error vs dense.",
        usage: "--seq-len N --head-dim D [options]", options: Self.sweepOptions,
        discussion: """
          Execute mode (the default here) runs the real math and reports ‖O − O_dense‖/‖O_dense‖ against exact dense
          attention, on `local` inputs by default (queries attend mostly to nearby keys; on independent normal inputs
          every sparse mask is a poor approximation); count mode is instant and reports traffic only. Example:
            attention-io sparsity-sweep --seq-len 4096 --head-dim 64 --csv sweep.csv
          """))
      return
    }
    let options = try ParsedOptions(command: "sparsity-sweep", arguments: arguments, specs: Self.sweepOptions)
    let format = try options.choice("format", [("table", "table"), ("json", "json")]) ?? "table"
    var patterns = SparsitySweep.defaultPatterns
    if let text = options.string("patterns") {
      patterns = try text.split(separator: ";").map { try ProblemOptions.maskPattern(String($0), command: "sparsity-sweep") }
    }
    let csvPath = options.string("csv")
    let mode = try options.choice("mode", ExecutionMode.allCases.map { ($0.rawValue, $0) }) ?? .execute
    var problem = try ProblemOptions.problem(options)
    // Sparse masks approximate attention only when it has structure: the sweep's default inputs
    // are `local` (queries attend mostly to nearby keys), not independent normals.
    if options.string("input-distribution") == nil { problem.inputDistribution = .local(correlation: 0.95) }
    let base = SimulationRequest(
      algorithm: .blockSparse, pass: try options.choice("pass", AttentionPass.allCases.map { ($0.rawValue, $0) }) ?? .forward,
      problem: problem, machine: try ProblemOptions.machine(options),
      blocks: try ProblemOptions.blocks(options),
      blockRule: try options.choice("block-rule", BlockRule.allCases.map { ($0.rawValue, $0) }) ?? .fit,
      mode: mode, threads: try ProblemOptions.threads(options),
      sparsity: BlockSparsity(pattern: .dense, skipEmptyColumns: options.has("skip-empty-columns")))
    var request = base
    request.memoryLimitBytes = try ProblemOptions.memoryLimit(options)
    let line = progressLine("sparsity-sweep", unit: "elements read")
    defer { line?.finish() }
    if let line { request.progress = { line.update(done: $0, total: $1) } }
    // Every option is checked before the CSV file is looked at.
    if let csvPath, !options.has("force"), FileManager.default.fileExists(atPath: csvPath) {
      throw CLIError.runtime("\(csvPath) already exists (pass --force to overwrite it)")
    }
    let (blocks, rows) = try SparsitySweep.run(request, patterns: patterns)
    let header = ["pattern", "nonzero_blocks", "total_blocks", "density", "hbm_elements", "elements_minus_base", "estimated_ms", "error_vs_dense"]
    let records = rows.map { row in
      [
        row.pattern, String(row.nonzeroBlocks), String(row.totalBlocks), NumberFormatting.fixed(row.density, 4),
        String(row.hbmElements), String(row.elementsMinusBase), NumberFormatting.fixed(row.estimatedSeconds * 1e3, 4),
        row.relativeErrorVsDense.map { NumberFormatting.scientific($0) } ?? "",
      ]
    }
    if let csvPath {
      do {
        createOutputFolderIfMissing(for: csvPath)
        try AtomicFile.write(CSV.text(header: header, rows: records), to: csvPath, overwrite: options.has("force"))
      } catch let error as AtomicFile.WriteError {
        throw CLIError.runtime(error.description)
      }
    }
    if format == "json" {
      let items = rows.map { row -> JSONValue in
        var fields: [(String, JSONValue)] = [
          ("pattern", .string(row.pattern)), ("nonzeroBlocks", .int(row.nonzeroBlocks)), ("totalBlocks", .int(row.totalBlocks)),
          ("density", .double(row.density)), ("hbmElements", .int(row.hbmElements)), ("elementsMinusBase", .int(row.elementsMinusBase)),
          ("estimatedSeconds", .double(row.estimatedSeconds)),
        ]
        if let e = row.relativeErrorVsDense { fields.append(("relativeErrorVsDense", .double(e))) }
        return .object(fields)
      }
      standardOutput(JSONValue.object([
        ("blocks", .object([("rows", .int(blocks.queryBlockSize)), ("cols", .int(blocks.keyBlockSize))])), ("rows", .array(items)),
      ]).serialized(pretty: true) + "\n")
      return
    }
    standardOutput("block-sparse FlashAttention, \(base.pass.rawValue) pass, N=\(problem.sequenceLength), d=\(problem.headDimension), "
      + "\(problem.dataType), \(base.machine.name), blocks Br=\(blocks.queryBlockSize) Bc=\(blocks.keyBlockSize), \(mode.rawValue) mode"
      + (mode == .execute ? ", \(problem.inputDistribution) inputs" : "") + "\n\n")
    let table = [["pattern", "blocks", "density", "HBM elements", "minus base", "est. time", "error vs dense"]] + rows.map { row in
      [
        row.pattern, "\(row.nonzeroBlocks)/\(row.totalBlocks)", NumberFormatting.fixed(row.density, 3), NumberFormatting.grouped(row.hbmElements),
        NumberFormatting.grouped(row.elementsMinusBase), NumberFormatting.seconds(row.estimatedSeconds),
        row.relativeErrorVsDense.map { NumberFormatting.scientific($0) } ?? "–",
      ]
    }
    standardOutput(NumberFormatting.table(table, indent: ""))
    if options.has("show-masks") {
      for row in rows {
        standardOutput("\n\(row.pattern) (\(row.nonzeroBlocks) of \(row.totalBlocks) blocks)\n\(row.picture)\n")
      }
    }
  }
}
