import AttentionIO
import Foundation

extension CommandLineTool {
  static let validateOptions: [OptionSpec] = [
    .value("measured", "FILE|DIR", "A measurement CSV (Docs/Validation/measure.py writes one), or a folder of them (default Docs/Validation)."),
    .value("l2-between-kernels", "flush|keep", "flush (default) matches Nsight Compute's cold L2 at every kernel."),
    .value("format", "table|json|csv", "Output format (default table)."),
    .value("kernel", "NAME", "Only the rows of this preset (fa2, pytorch-explicit)."),
    .value("device", "NAME", "Only the rows measured on this device preset (h100-sxm, h200, …)."),
    .value("threads", "T", "Kernels simulated side by side (default: all cores); results do not depend on it."),
  ]

  /// `attention-io validate`: the GPU model against Nsight Compute measurements.
  func validate(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "validate", abstract: "Compare the GPU model's DRAM and L2 traffic with Nsight Compute measurements.",
        usage: "[--measured FILE|DIR] [options]", options: Self.validateOptions,
        discussion: """
          Runs the GPU model (simulate --kernel) on every measured configuration and prints predicted, measured and \
          relative error for DRAM read bytes, DRAM write bytes and L2 read sectors, then the median and worst error of \
          each. Measure your own GPU with Docs/Validation/measure.py (Docs/GPUModel.md). Example:
            attention-io validate --measured Docs/Validation
          """))
      return
    }
    let options = try ParsedOptions(command: "validate", arguments: arguments, specs: Self.validateOptions)
    let between = try options.choice("l2-between-kernels", L2BetweenKernels.allCases.map { ($0.rawValue, $0) }) ?? .flush
    let format = try options.choice("format", [("table", "table"), ("json", "json"), ("csv", "csv")]) ?? "table"
    let threads = try options.int("threads") ?? ProcessInfo.processInfo.activeProcessorCount
    guard threads >= 1 else { throw CLIError.usage("validate: --threads must be at least 1, got \(threads)") }
    let path = options.string("measured") ?? "Docs/Validation"
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw CLIError.usage("validate: no measurements at '\(path)' (run from the repository root, or pass --measured FILE)")
    }
    var files = [path]
    if isDirectory.boolValue {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
      files = names.filter { $0.hasSuffix(".csv") && !$0.hasSuffix("-kernels.csv") }.sorted().map { (path as NSString).appendingPathComponent($0) }
      guard !files.isEmpty else { throw CLIError.usage("validate: no .csv files in '\(path)'") }
    }
    var measured: [MeasuredConfiguration] = []
    for file in files {
      guard let data = FileManager.default.contents(atPath: file) else { throw CLIError.runtime("validate: cannot read '\(file)'") }
      do {
        measured += try ValidationFile.parse(String(decoding: data, as: UTF8.self), file: file)
      } catch let error as GPUModelError {
        throw CLIError.usage("validate: \(error.description)")
      }
    }
    if let kernel = options.string("kernel") {
      _ = try GPUOptions.preset(kernel, command: "validate")
      measured = measured.filter { $0.preset.name == kernel }
    }
    if let device = options.string("device") {
      guard GPUDeviceSpec.preset(named: device) != nil else {
        throw CLIError.usage("validate: unknown --device '\(device)' (\(GPUDeviceSpec.presets.map(\.name).joined(separator: ", ")))")
      }
      measured = measured.filter { $0.device.name == device }
    }
    guard !measured.isEmpty else { throw CLIError.usage("validate: no measured rows left to compare") }
    let progress = progressLine("validate", unit: "row‰")
    var rows: [ValidationRow] = []
    for (index, row) in measured.enumerated() {
      let start = Date()
      do {
        let report = try GPUTrafficModel.run(
          preset: row.preset, workload: row.workload, device: row.device, betweenKernels: between, threads: threads
        ) {
          kernel, kernels, share in
          progress?.update(done: Int((Double(index) + (Double(kernel) + share) / Double(kernels)) * 1000), total: measured.count * 1000)
        }
        rows.append(ValidationRow(measured: row, predicted: report, modelSeconds: Date().timeIntervalSince(start)))
      } catch let error as GPUModelError {
        throw CLIError.runtime("validate: \(row.file):\(row.line): \(error.description)")
      }
    }
    progress?.finish()
    switch format {
    case "json": standardOutput(ValidationRendering.json(rows).serialized(pretty: true) + "\n")
    case "csv": standardOutput(ValidationRendering.csv(rows))
    default: standardOutput(ValidationRendering.table(rows))
    }
  }
}
