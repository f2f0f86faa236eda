import AttentionIO
import Foundation

/// `simulate --kernel NAME`: the GPU model (launch order, CTAs per SM, the L2) for a real kernel.
enum GPUOptions {
  static var kernelNames: String { (["paper"] + KernelPreset.all.map(\.name)).joined(separator: "|") }

  static let specs: [OptionSpec] = [
    .value("kernel", kernelNames, "paper (default): the paper's two-level model. Otherwise a real kernel on a real GPU: its launch order, CTAs per SM and L2, with DRAM bytes as Nsight Compute counts them (Docs/GPUModel.md)."),
    .value("l2-between-kernels", "flush|keep", "GPU model: flush the L2 before each kernel, as Nsight Compute does (default), or keep it."),
    .value("csv", "FILE", "GPU model: also write one row per kernel, with Nsight Compute's metric names as columns."),
  ]

  /// Options of the GPU model that the paper model does not take.
  static func rejectWithPaperModel(_ options: ParsedOptions) throws {
    for name in ["l2-between-kernels", "csv"] where options.string(name) != nil {
      throw CLIError.usage("\(options.command): --\(name) needs --kernel \(KernelPreset.all.map(\.name).joined(separator: "|"))")
    }
  }

  /// Options of the paper model that a real kernel does not take.
  static let paperOnly = [
    "algorithm", "sram-bytes", "block-rows", "block-cols", "block-rule", "mode", "mask", "inputs", "output-dir",
    "valid-lengths", "dropout", "scale", "input-distribution", "seed", "register-bytes", "save-inputs", "max-memory",
    "check",
  ]

  static func workload(_ options: ParsedOptions) throws -> AttentionWorkload {
    let command = options.command
    for name in paperOnly where options.string(name) != nil || options.has(name) {
      throw CLIError.usage("\(command): --\(name) belongs to the paper model; a real kernel picks its own tiles and runs fp16 (drop --\(name) or use --kernel paper)")
    }
    guard let n = try options.int("seq-len") else { throw CLIError.usage("\(command): --seq-len is required") }
    guard let d = try options.int("head-dim") else { throw CLIError.usage("\(command): --head-dim is required") }
    let dtype = options.string("dtype") ?? "fp16"
    guard dtype == "fp16" || dtype == "bf16" else {
      throw CLIError.usage("\(command): the GPU kernel presets run fp16 or bf16, got --dtype \(dtype)")
    }
    let passText = options.string("pass") ?? "forward"
    let pass: AttentionWorkload.Pass
    switch passText {
    case "forward": pass = .forward
    case "both", "forward+backward": pass = .forwardBackward
    default: throw CLIError.usage("\(command): a real kernel's --pass is forward or both (the backward needs the forward's outputs), got '\(passText)'")
    }
    do {
      return try AttentionWorkload(
        batch: try options.int("batch") ?? 1, heads: try options.int("heads") ?? 1, sequenceLength: n, headDimension: d,
        causal: options.has("causal"), pass: pass)
    } catch let error as GPUModelError {
      throw CLIError.usage("\(command): \(error.description)")
    }
  }

  static func device(_ options: ParsedOptions) throws -> GPUDeviceSpec {
    let name = options.string("device") ?? "h100-sxm"
    if GPUDeviceSpec.preset(named: name) == nil, name.hasSuffix(".json") || FileManager.default.fileExists(atPath: name) {
      guard let data = FileManager.default.contents(atPath: name) else {
        throw CLIError.usage("\(options.command): cannot read device file '\(name)'")
      }
      let text = String(decoding: data, as: UTF8.self)
      guard GPUDeviceFile.isGPUFile(text) else {
        throw CLIError.usage("\(name): a device file of the paper model; the GPU model needs a GPU file with an \"l2\" object (Docs/Devices.md)")
      }
      do {
        return try GPUDeviceFile.parse(text)
      } catch let error as MachineError {
        throw CLIError.usage("\(name): \(error.description)")
      }
    }
    guard let device = GPUDeviceSpec.preset(named: name) else {
      throw CLIError.usage(
        "\(options.command): the GPU model needs a GPU preset (\(GPUDeviceSpec.presets.map(\.name).joined(separator: ", "))) or a GPU file (.json), got '\(name)'")
    }
    return device
  }

  static func preset(_ name: String, command: String) throws -> any AttentionKernelPreset {
    guard let preset = KernelPreset.named(name) else {
      throw CLIError.usage("\(command): unknown --kernel '\(name)' (\(kernelNames.replacingOccurrences(of: "|", with: ", ")))")
    }
    return preset
  }
}

extension CommandLineTool {
  func simulateGPU(_ options: ParsedOptions, kernel: String) throws {
    let preset = try GPUOptions.preset(kernel, command: options.command)
    let workload = try GPUOptions.workload(options)
    let device = try GPUOptions.device(options)
    let between = try options.choice("l2-between-kernels", L2BetweenKernels.allCases.map { ($0.rawValue, $0) }) ?? .flush
    let format = try options.choice("format", [("table", "table"), ("json", "json")]) ?? "table"
    let csvPath = options.string("csv")
    if let csvPath, FileManager.default.fileExists(atPath: csvPath), !options.has("force") {
      throw CLIError.usage("simulate: \(csvPath) exists (add --force to overwrite)")
    }
    let progress = progressLine("simulate --kernel \(kernel)", unit: "kernel‰")
    let report: GPUTrafficReport
    do {
      report = try GPUTrafficModel.run(
        preset: preset, workload: workload, device: device, betweenKernels: between, threads: try ProblemOptions.threads(options)
      ) { index, count, share in
        progress?.update(done: Int((Double(index) + share) * 1000), total: count * 1000)
      }
    } catch let error as GPUModelError {
      throw CLIError.runtime("simulate: \(error.description)")
    }
    progress?.finish()
    if let csvPath {
      createOutputFolderIfMissing(for: csvPath)
      do {
        try AtomicFile.write(GPUReportRendering.csv(report), to: csvPath, overwrite: true)
      } catch let error as AtomicFile.WriteError {
        throw CLIError.runtime("simulate: \(error.description)")
      }
    }
    if format == "json" {
      standardOutput(GPUReportRendering.json(report).serialized(pretty: true) + "\n")
    } else {
      standardOutput(GPUReportRendering.table(report))
    }
  }
}
