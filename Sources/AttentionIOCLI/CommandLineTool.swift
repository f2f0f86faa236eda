import AttentionIO
import Foundation

/// The `attention-io` tool. `run` returns the exit code: 0 on success, 2 for usage errors
/// (unknown command or option, unparsable value, zero or negative size, unknown name), 1 for
/// runtime errors (such as an SRAM overflow). Errors print exactly one line to stderr.
public struct CommandLineTool {
  /// Where output goes; tests capture it.
  public var standardOutput: (String) -> Void
  public var standardError: (String) -> Void
  /// Whether long runs (over about 2 s) write a progress line to `standardError`. The
  /// executable turns it on; captured runs (tests) keep stderr to the one error line.
  public var showsProgress: Bool

  public init(
    standardOutput: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) },
    standardError: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
    showsProgress: Bool = false
  ) {
    self.standardOutput = standardOutput
    self.standardError = standardError
    self.showsProgress = showsProgress
  }

  struct Command: Sendable {
    let name: String
    let abstract: String
    let run: @Sendable (CommandLineTool, [String]) throws -> Void
  }

  static let commands: [Command] = [
    Command(name: "demo", abstract: "Watch FlashAttention move tiles, then compare it with standard attention at GPT-2-medium scale.") {
      try $0.demo($1)
    },
    Command(name: "simulate", abstract: "Simulate one attention run and print its exact HBM traffic, FLOPs and time estimate.") {
      try $0.simulate($1)
    },
    Command(name: "sparsity-sweep", abstract: "Block-sparse FlashAttention over mask patterns: IO saved against accuracy lost.") {
      try $0.sparsitySweep($1)
    },
    Command(name: "trace", abstract: "Record every step of a run as text, Chrome trace JSON, CSV or an animated HTML lesson.") {
      try $0.trace($1)
    },
    Command(name: "paged", abstract: "PagedAttention: paged decode through block tables, and the KV-cache memory experiments.") {
      try $0.paged($1)
    },
    Command(name: "reproduce", abstract: "Reproduce the FlashAttention paper's IO claims: a report with tables, CSVs and SVG plots.") {
      try $0.reproduce($1)
    },
    Command(name: "bench", abstract: "Benchmark the execute-mode arithmetic, the accounting overhead and count mode (release build).") {
      try $0.bench($1)
    },
    Command(name: "validate", abstract: "Compare the GPU model's DRAM and L2 traffic with Nsight Compute measurements.") {
      try $0.validate($1)
    },
    Command(name: "devices", abstract: "List the machine presets and their numbers.") { try $0.devices($1) },
  ]

  static var rootHelp: String {
    var text = """
      attention-io: simulate the GPU memory hierarchy for attention and count every element moved \
      between HBM and SRAM exactly.

      USAGE: attention-io <command> [options]

      COMMANDS:

      """
    for command in commands {
      text += "  " + command.name.padding(toLength: 16, withPad: " ", startingAt: 0) + command.abstract + "\n"
    }
    text += "\nRun 'attention-io <command> --help' (or -h) for a command's options; 'attention-io --version' for the version.\n"
    return text
  }

  /// The tool's version, printed by `attention-io --version`.
  public static let version = "0.9.0"

  /// Runs the tool with `arguments` (without the program name) and returns the exit code.
  public func run(_ arguments: [String]) -> Int32 {
    guard let first = arguments.first else {
      standardOutput(Self.rootHelp)
      return 0
    }
    if first == "--version" || first == "-V" {
      standardOutput("attention-io \(Self.version)\n")
      return 0
    }
    if first == "--help" || first == "-h" || first == "help" {
      if first == "help", arguments.count > 1 { return run([arguments[1], "--help"]) }
      standardOutput(Self.rootHelp)
      return 0
    }
    guard let command = Self.commands.first(where: { $0.name == first }) else {
      fail("unknown command '\(first)' (commands: \(Self.commands.map(\.name).joined(separator: ", ")))")
      return 2
    }
    do {
      // `-h` is `--help` for every command and subcommand.
      try command.run(self, arguments.dropFirst().map { $0 == "-h" ? "--help" : $0 })
      return 0
    } catch let error as CLIError {
      fail(error.message)
      return error.exitCode
    } catch let error as AttentionError {
      let code: Int32
      switch error {
      case .invalidProblem, .invalidBlocks: code = 2
      case .blocksDoNotFit, .noBlocksFit: code = 1
      }
      fail(error.description)
      return code
    } catch let error as SizeLimitError {
      fail(error.description)
      return Self.exitCode(error)
    } catch let error as MachineError {
      fail(error.description)
      switch error {
      case .invalidSpecification, .countOverflow: return 2
      default: return 1
      }
    } catch {
      fail(String(describing: error))
      return 1
    }
  }

  /// Exit 2 for a size no machine could hold, 1 for a resource this run would exceed.
  static func exitCode(_ error: SizeLimitError) -> Int32 { error.kind == .unrepresentable ? 2 : 1 }

  /// Prints `error: message` as exactly one line: line breaks in the message (from an option
  /// value or a file) are shown as `\n`.
  func fail(_ message: String) {
    standardError("error: \(Self.oneLine(message))\n")
  }

  /// `text` with every line break (LF, CR, CRLF, and the Unicode ones) written as `\n`.
  static func oneLine(_ text: String) -> String {
    guard text.contains(where: \.isNewline) else { return text }
    return text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).joined(separator: "\\n")
  }
}
