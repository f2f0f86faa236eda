import AttentionIO
import Foundation
import Reproduction

extension CommandLineTool {
  static let reproduceOptions: [OptionSpec] = [
    .value("out", "DIR", "Directory for report.md, the CSVs and the SVG plots (required; created if missing)."),
    .flag("quick", "Reduced sizes (the test suite's): the same experiments and claims in seconds."),
    .flag("force", "Overwrite files a previous run left in DIR."),
    .value("threads", "T", "Threads for the independent simulations of each sweep (default: all cores)."),
  ]

  /// `attention-io reproduce --out DIR [--quick] [--force]`: runs every experiment of the paper
  /// reproduction and writes its files. One progress line per experiment goes to stderr; a summary
  /// goes to stdout. Existing files are an error (exit 1) before anything runs, unless `--force`.
  func reproduce(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "reproduce", abstract: "Reproduce the FlashAttention paper's IO claims: a report with tables, CSVs and SVG plots.",
        usage: "--out DIR [--quick] [--force] [--threads T]", options: Self.reproduceOptions,
        discussion: """
          Writes DIR/report.md (every claim of the paper beside the simulator's number and whether it holds), one CSV \
          per experiment (\(PaperReproduction.experimentNames.map { $0 + ".csv" }.joined(separator: ", "))) and the SVG plots \
          the report embeds. Count mode at the paper's sizes; a few seconds on two cores in a release build (--quick: about a second).
            attention-io reproduce --out /tmp/repro
          """))
      return
    }
    let options = try ParsedOptions(command: "reproduce", arguments: arguments, specs: Self.reproduceOptions)
    guard let directory = options.string("out"), !directory.isEmpty else {
      throw CLIError.usage("reproduce: --out DIR is required")
    }
    let threads = try ProblemOptions.threads(options)
    let force = options.has("force")
    do {
      try ReproductionOutput.prepare(directory: directory, files: PaperReproduction.fileNames, overwrite: force)
    } catch let error as ReproductionError {
      throw CLIError.runtime("reproduce: \(error.description)")
    }
    let run = ReproductionOptions(
      scale: options.has("quick") ? .quick : .full, threads: threads,
      commandLine: (["attention-io", "reproduce"] + arguments).map(Self.shellQuoted).joined(separator: " "))
    // One line as each experiment starts; past 2 s with the experiments done and the time left.
    let start = DispatchTime.now()
    var started = 0
    let count = PaperReproduction.experimentNames.count
    let output = try PaperReproduction.run(run) { line in
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
      var timing = ""
      if seconds >= ProgressLine.delay, started > 0 {
        let left = seconds / Double(started) * Double(count - started)
        timing = " (\(started) of \(count) done in \(ProgressLine.duration(seconds)), \(String(format: "%.2f", Double(started) / seconds)) experiments/s, about \(ProgressLine.duration(left)) left)"
      }
      started += 1
      standardError("reproduce: " + line + timing + "\n")
    }
    do {
      try output.write(to: directory, overwrite: force)
    } catch let error as ReproductionError {
      throw CLIError.runtime("reproduce: \(error.description)")
    }
    let claims = output.claims
    let held = claims.filter { $0.verdict == .holds }.count
    let partly = claims.filter { $0.verdict == .partly }.count
    standardOutput(
      "wrote \(output.files.count) files to \(directory) in \(NumberFormatting.fixed(output.seconds, 1)) s; "
        + "\(claims.count) claims: \(held) hold, \(partly) in part, \(claims.count - held - partly) do not. "
        + "See \((directory as NSString).appendingPathComponent("report.md"))\n")
  }

  /// An argument as a shell would need it written (for the report's command line).
  static func shellQuoted(_ argument: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    if !argument.isEmpty, argument.allSatisfy({ safe.contains($0) }) { return argument }
    return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
