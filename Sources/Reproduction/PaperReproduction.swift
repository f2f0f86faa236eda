import AttentionIO
import Dispatch
import Foundation

/// The paper-reproduction experiments behind `attention-io reproduce`: each of the
/// FlashAttention paper's IO claims (Theorems 2 and 5, Propositions 3 and 4, Figure 2, Table 21)
/// run on the simulator, written as one CSV per experiment, SVG plots and a `report.md` that puts
/// every claim beside the simulator's number.
///
/// ```swift
/// let output = try PaperReproduction.run(ReproductionOptions(scale: .quick)) { print($0) }
/// try output.write(to: "/tmp/repro", overwrite: false)
/// ```
public enum PaperReproduction {
  /// The experiments in the order they run; each name is also its CSV's base name.
  public static let experimentNames = [
    "theorem2", "proposition3", "proposition4", "theorem5", "figure2-left", "figure2-middle", "figure2-right", "table21",
  ]

  /// Every file a run writes, in the order it writes them (report last).
  public static var fileNames: [String] {
    experimentNames.map { $0 + ".csv" } + ["figure2-gpu.csv"] + [
      "theorem2-sequence-length.svg", "theorem2-sram-size.svg", "theorem2-head-dimension.svg", "proposition3.svg", "proposition4.svg",
      "theorem5-sequence-length.svg", "theorem5-sram-size.svg", "theorem5-head-dimension.svg", "figure2-middle.svg",
      "figure2-right.svg", "table21.svg", "report.md",
    ]
  }

  /// Runs every experiment.
  /// - Parameter progress: called with one line as each experiment starts.
  /// - Throws: the first simulation error (none is expected: every size is checked to fit).
  public static func run(_ options: ReproductionOptions, progress: (String) -> Void = { _ in }) throws -> ReproductionOutput {
    let scale = options.scale
    let batch = SimulationBatch(threads: options.threads)
    let start = DispatchTime.now()
    var reports: [ExperimentReport] = []
    let titles = [
      "theorem2": "forward HBM traffic over N, M and d (Theorem 2) and an execute-mode check (Theorem 1)",
      "proposition3": "traffic / 4Nd as M grows to Nd (Proposition 3)",
      "proposition4": "block-sparse traffic vs density at N = \(scale.sparseSequenceLength) (Proposition 4)",
      "theorem5": "backward HBM traffic over N, M and d (Theorem 5)",
      "figure2-left": "GPT-2 medium forward + backward: HBM GB, GFLOPs, runtime (Figure 2 left), and on the a100-40gb GPU model",
      "figure2-middle": "block size 64 … 512 vs HBM and runtime (Figure 2 middle)",
      "figure2-right": "block-sparse runtime vs % nonzero blocks (Figure 2 right)",
      "table21": "peak HBM footprint over N (Table 21)",
    ]
    for (index, name) in experimentNames.enumerated() {
      progress("[\(index + 1)/\(experimentNames.count)] \(name): \(titles[name] ?? name)")
      let begin = DispatchTime.now()
      func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - begin.uptimeNanoseconds) / 1e9 }
      switch name {
      case "theorem2":
        let sweep = try IOSweep.run(pass: .forward, scale: scale, batch: batch)
        let exactness = try Exactness.run(scale: scale)
        reports.append(sweep.report(exactness: exactness, seconds: elapsed()))
      case "theorem5":
        reports.append(try IOSweep.run(pass: .backward, scale: scale, batch: batch).report(exactness: nil, seconds: elapsed()))
      case "proposition3": reports.append(try Proposition3.run(scale: scale, batch: batch).report(seconds: elapsed()))
      case "proposition4": reports.append(try Proposition4.run(scale: scale, batch: batch).report(seconds: elapsed()))
      case "figure2-left":
        reports.append(try Figure2Left.run(scale: scale, batch: batch).report(seconds: elapsed()))
        // The same workload on the GPU model, reported as its own section after Figure 2 left.
        let gpuBegin = DispatchTime.now()
        let gpu = try Figure2GPU.run(scale: scale, threads: options.threads)
        reports.append(gpu.report(seconds: Double(DispatchTime.now().uptimeNanoseconds - gpuBegin.uptimeNanoseconds) / 1e9))
      case "figure2-middle": reports.append(try Figure2Middle.run(scale: scale, batch: batch).report(seconds: elapsed()))
      case "figure2-right": reports.append(try Figure2Right.run(scale: scale, batch: batch).report(seconds: elapsed()))
      case "table21": reports.append(try Table21.run(scale: scale, batch: batch).report(seconds: elapsed()))
      default: preconditionFailure("unknown experiment \(name)")
      }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let report = ReportDocument(experiments: reports, options: options, seconds: seconds).markdown
    var files = reports.map { ReproductionFile(name: $0.csvName, contents: $0.csv.text) }
    files += reports.flatMap(\.figures)
    files.append(ReproductionFile(name: "report.md", contents: report))
    return ReproductionOutput(experiments: reports, files: files, seconds: seconds)
  }
}

/// How to run the reproduction.
public struct ReproductionOptions: Sendable {
  public var scale: ReproductionScale
  /// Threads for the independent simulations of a sweep.
  public var threads: Int
  /// The command line shown in the report (how to run it again).
  public var commandLine: String

  public init(scale: ReproductionScale = .full, threads: Int = ProcessInfo.processInfo.activeProcessorCount, commandLine: String = "attention-io reproduce --out DIR") {
    self.scale = scale
    self.threads = threads
    self.commandLine = commandLine
  }
}

/// Everything a run produced.
public struct ReproductionOutput: Sendable {
  public var experiments: [ExperimentReport]
  /// The files to write: CSVs, SVGs and `report.md`.
  public var files: [ReproductionFile]
  /// Wall-clock seconds of the whole run.
  public var seconds: Double

  /// Every claim, in report order.
  public var claims: [Claim] { experiments.flatMap(\.claims) }

  public func experiment(_ name: String) -> ExperimentReport? { experiments.first { $0.name == name } }

  /// Writes every file into `directory` (created if missing), each atomically.
  /// - Parameter overwrite: when false, an existing file is an error and nothing is written.
  /// - Throws: `ReproductionError` naming the first file that exists or cannot be written.
  ///
  /// The set is written under a marker: `incompleteMarker` lists the files before the first is
  /// written and is removed after the last, so a run interrupted half way leaves a set that the
  /// next run recognises as its own and replaces without `--force`.
  public func write(to directory: String, overwrite: Bool) throws {
    let names = files.map(\.name)
    try Self.prepare(directory: directory, files: names, overwrite: overwrite)
    let marker = (directory as NSString).appendingPathComponent(Self.incompleteMarker)
    let unfinished = Self.unfinishedFiles(directory: directory)
    do {
      try AtomicFile.write(names.joined(separator: "\n") + "\n", to: marker, overwrite: true)
      for file in files {
        let path = (directory as NSString).appendingPathComponent(file.name)
        try AtomicFile.write(file.contents, to: path, overwrite: overwrite || unfinished.contains(file.name))
      }
    } catch let error as AtomicFile.WriteError {
      throw ReproductionError.cannotWrite(error.description)
    }
    try? FileManager.default.removeItem(atPath: marker)
  }

  /// The hidden file that marks a set as being written (it lists the set's files).
  public static let incompleteMarker = ".attention-io-incomplete"

  /// The files an interrupted write left in `directory`: those its marker lists.
  public static func unfinishedFiles(directory: String) -> Set<String> {
    let marker = (directory as NSString).appendingPathComponent(incompleteMarker)
    guard let text = try? String(contentsOfFile: marker, encoding: .utf8) else { return [] }
    return Set(text.split(whereSeparator: \.isNewline).map(String.init))
  }

  /// Creates `directory` if needed and checks that none of `files` exists in it (unless
  /// `overwrite`), before any experiment runs.
  public static func prepare(directory: String, files: [String], overwrite: Bool) throws {
    let manager = FileManager.default
    var isDirectory: ObjCBool = false
    if manager.fileExists(atPath: directory, isDirectory: &isDirectory) {
      guard isDirectory.boolValue else { throw ReproductionError.notADirectory(directory) }
    } else {
      do {
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
      } catch {
        throw ReproductionError.cannotWrite("cannot create directory \(directory): \(error.localizedDescription)")
      }
    }
    guard !overwrite else { return }
    // Files an interrupted write of the same set left behind are not the user's: replaced.
    let unfinished = unfinishedFiles(directory: directory)
    let existing = files.filter {
      !unfinished.contains($0) && manager.fileExists(atPath: (directory as NSString).appendingPathComponent($0))
    }
    if let first = existing.first {
      throw ReproductionError.exists(path: (directory as NSString).appendingPathComponent(first), others: existing.count - 1)
    }
  }
}

/// Why the output could not be written; each prints as one line.
public enum ReproductionError: Error, Equatable, CustomStringConvertible {
  case exists(path: String, others: Int)
  case notADirectory(String)
  case cannotWrite(String)

  public var description: String {
    switch self {
    case let .exists(path, others):
      let more = others > 0 ? " (and \(others) more of its files)" : ""
      return "\(path) already exists\(more); pass --force to overwrite"
    case let .notADirectory(path): return "\(path) exists and is not a directory"
    case let .cannotWrite(reason): return reason
    }
  }
}
