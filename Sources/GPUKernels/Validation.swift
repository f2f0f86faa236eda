import GPUModel

/// One measured configuration: a row of a validation CSV (the columns of
/// `Docs/Validation/measure.py`, named after the Nsight Compute metrics).
public struct MeasuredConfiguration: Sendable {
  public var file: String
  public var line: Int
  public var gpu: String
  public var device: GPUDeviceSpec
  public var preset: any AttentionKernelPreset
  public var workload: AttentionWorkload
  public var kernels: Int?
  public var dramReadBytes: Int
  public var dramWriteBytes: Int
  public var l2ReadSectors: Int
  public var l2WriteSectors: Int?

  /// `fa2:forward:B:H:N:d:causal`, the notation of the measuring script.
  public var label: String {
    let w = workload
    return "\(preset.name):\(w.pass == .forward ? "fwd" : "fwdbwd"):\(w.batch):\(w.heads):\(w.sequenceLength):\(w.headDimension):\(w.causal ? 1 : 0)"
  }
}

public enum ValidationFile {
  /// The implementation names a measurement file uses, and the preset each means.
  public static let implementations: [(String, String)] = [
    ("sdpa-flash-fa2", "fa2"), ("fa2", "fa2"), ("explicit-pytorch", "pytorch-explicit"), ("pytorch-explicit", "pytorch-explicit"),
  ]

  /// The device preset a `gpu` column names (`NVIDIA H200 (132 SMs; 60 MiB L2)` → h200).
  public static func device(forGPU text: String) -> GPUDeviceSpec? {
    let upper = text.uppercased()
    if upper.contains("H200") { return .h200 }
    if upper.contains("H100") { return .h100SXM }
    if upper.contains("A100") { return upper.contains("80") ? .a100_80GB : .a100_40GB }
    if upper.contains("3090") { return .rtx3090 }
    if upper.contains("T4") { return .t4 }
    return GPUDeviceSpec.preset(named: text.lowercased())
  }

  /// Parses a measurement CSV. Errors name the file, the line and the column.
  public static func parse(_ text: String, file: String) throws -> [MeasuredConfiguration] {
    let records = try CSVRecords.parse(text, file: file)
    guard let header = records.first else { return [] }
    func column(_ name: String) throws -> Int {
      guard let index = header.fields.firstIndex(of: name) else {
        throw GPUModelError.invalid("\(file): the header has no column '\(name)'")
      }
      return index
    }
    let required = [
      "gpu", "implementation", "pass", "batch", "heads", "seq_len", "head_dim", "causal", "dram__bytes_read.sum",
      "dram__bytes_write.sum", "lts__t_sectors_srcunit_tex_op_read.sum",
    ]
    var index: [String: Int] = [:]
    for name in required { index[name] = try column(name) }
    let kernelsColumn = header.fields.firstIndex(of: "kernels")
    let writeColumn = header.fields.firstIndex(of: "lts__t_sectors_srcunit_tex_op_write.sum")
    var rows: [MeasuredConfiguration] = []
    for record in records.dropFirst() where !(record.fields.count == 1 && record.fields[0].isEmpty) {
      func text(_ name: String) throws -> String {
        let i = index[name]!
        guard i < record.fields.count else {
          throw GPUModelError.invalid("\(file):\(record.line): missing column '\(name)'")
        }
        return record.fields[i]
      }
      func integer(_ name: String) throws -> Int {
        let value = try text(name)
        if let whole = Int(value) { return whole }
        // ncu can print large counts as 1.5e9 or 123.0
        if let real = Double(value), real.isFinite, real >= 0, real < 9e18, real == real.rounded() { return Int(real) }
        throw GPUModelError.invalid("\(file):\(record.line): column '\(name)' is not a whole number: '\(value)'")
      }
      func optionalInteger(_ column: Int?) -> Int? {
        guard let column, column < record.fields.count else { return nil }
        return Int(record.fields[column]) ?? Double(record.fields[column]).map { Int($0) }
      }
      let gpu = try text("gpu")
      guard let device = device(forGPU: gpu) else {
        throw GPUModelError.invalid("\(file):\(record.line): unknown GPU '\(gpu)' (the device presets: \(GPUDeviceSpec.presets.map(\.name).joined(separator: ", ")))")
      }
      let implementation = try text("implementation")
      guard let presetName = implementations.first(where: { $0.0 == implementation })?.1, let preset = KernelPreset.named(presetName) else {
        throw GPUModelError.invalid("\(file):\(record.line): unknown implementation '\(implementation)' (known: \(implementations.map(\.0).joined(separator: ", ")))")
      }
      let passText = try text("pass")
      guard let pass = AttentionWorkload.Pass(rawValue: passText) ?? (passText == "fwd" ? .forward : passText == "fwdbwd" ? .forwardBackward : nil) else {
        throw GPUModelError.invalid("\(file):\(record.line): column 'pass' must be forward or forward+backward, got '\(passText)'")
      }
      let causal = try text("causal")
      guard ["0", "1", "true", "false"].contains(causal) else {
        throw GPUModelError.invalid("\(file):\(record.line): column 'causal' must be 0 or 1, got '\(causal)'")
      }
      let workload: AttentionWorkload
      do {
        workload = try AttentionWorkload(
          batch: try integer("batch"), heads: try integer("heads"), sequenceLength: try integer("seq_len"),
          headDimension: try integer("head_dim"), causal: causal == "1" || causal == "true", pass: pass)
      } catch let error as GPUModelError {
        throw GPUModelError.invalid("\(file):\(record.line): \(error.description)")
      }
      rows.append(MeasuredConfiguration(
        file: file, line: record.line, gpu: gpu, device: device, preset: preset, workload: workload,
        kernels: optionalInteger(kernelsColumn), dramReadBytes: try integer("dram__bytes_read.sum"),
        dramWriteBytes: try integer("dram__bytes_write.sum"), l2ReadSectors: try integer("lts__t_sectors_srcunit_tex_op_read.sum"),
        l2WriteSectors: optionalInteger(writeColumn)))
    }
    return rows
  }
}

/// One row of `attention-io validate`: a measurement beside the model's prediction.
public struct ValidationRow: Sendable {
  public var measured: MeasuredConfiguration
  public var predicted: GPUTrafficReport
  /// Seconds the model took for this row.
  public var modelSeconds: Double

  public init(measured: MeasuredConfiguration, predicted: GPUTrafficReport, modelSeconds: Double) {
    self.measured = measured
    self.predicted = predicted
    self.modelSeconds = modelSeconds
  }

  /// (predicted − measured) / measured; nil when the measurement is 0.
  public static func relativeError(predicted: Int, measured: Int) -> Double? {
    measured == 0 ? nil : Double(predicted - measured) / Double(measured)
  }

  public var dramReadError: Double? { Self.relativeError(predicted: predicted.dramReadBytes, measured: measured.dramReadBytes) }
  public var dramWriteError: Double? { Self.relativeError(predicted: predicted.dramWriteBytes, measured: measured.dramWriteBytes) }
  public var l2ReadError: Double? { Self.relativeError(predicted: predicted.total.readSectors, measured: measured.l2ReadSectors) }
}

/// Lines of a CSV file split into fields (RFC 4180 quoting), with their line numbers.
enum CSVRecords {
  struct Record {
    var line: Int
    var fields: [String]
  }

  static func parse(_ text: String, file: String) throws -> [Record] {
    var records: [Record] = []
    var fields: [String] = []
    var field = ""
    var quoted = false
    var line = 1
    var recordLine = 1
    var iterator = Array(text.unicodeScalars).makeIterator()
    var pending: Unicode.Scalar? = nil
    func next() -> Unicode.Scalar? {
      if let p = pending { pending = nil; return p }
      return iterator.next()
    }
    while let c = next() {
      if quoted {
        if c == "\"" {
          if let following = next() {
            if following == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = following }
          } else { quoted = false }
        } else {
          if c == "\n" { line += 1 }
          field.unicodeScalars.append(c)
        }
        continue
      }
      switch c {
      case "\"" where field.isEmpty: quoted = true
      case ",": fields.append(field); field = ""
      case "\r": continue
      case "\n":
        fields.append(field)
        records.append(Record(line: recordLine, fields: fields))
        fields = []
        field = ""
        line += 1
        recordLine = line
      default: field.unicodeScalars.append(c)
      }
    }
    if quoted { throw GPUModelError.invalid("\(file):\(recordLine): a quoted field is not closed") }
    if !field.isEmpty || !fields.isEmpty {
      fields.append(field)
      records.append(Record(line: recordLine, fields: fields))
    }
    return records
  }
}
