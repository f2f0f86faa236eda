import Benchmarks
import Foundation

extension CommandLineTool {
  static let benchOptions: [OptionSpec] = [
    .flag("json", "Print the report as JSON instead of a table."),
    .value("threads", "1|2", "Measure only this thread count (default: 1 and 2, alternated; the scaling check needs both)."),
    .flag("quick", "N=2048, d=64 only, 3 repetitions, plus the cache-effect check (well under a minute)."),
    .value("seq-len", "N[,N…]", "Custom sequence lengths instead of the full or quick set (no memory check)."),
    .value("head-dim", "D[,D…]", "Custom head dimensions (with --seq-len; default 64)."),
    .value("reps", "R", "Timed repetitions per case (default 5, 3 with --quick)."),
    .flag("kernels", "Only time each kernel of one forward inner step at N=2048, d=64 (or --seq-len/--head-dim), and the bare step."),
  ]

  func bench(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      standardOutput(helpText(
        command: "bench", abstract: "Time the execute-mode arithmetic, the accounting overhead and count mode.",
        usage: "[--json] [--threads 1|2] [--quick] [--kernels]", options: Self.benchOptions,
        discussion: """
          Run a release build: swift run -c release --build-path .build-native -Xswiftc -target-cpu -Xswiftc native \
          -Xswiftc -DTILEKERNELS_FMA attention-io bench on AVX2 CPUs with FMA, -DTILEKERNELS_AVX512 instead on \
          AVX-512 CPUs (the report's note says when the build's flag does not suit the CPU). The build path keeps \
          the flagged build apart from plain builds, which would otherwise rebuild each other. A target NOT met is \
          explained under the report. \
          FlashAttention and standard attention, forward and backward, in execute mode with fp32 data on the \
          a100-40gb machine model; GFLOP/s count 4·N²·d per head forward and 10·N²·d backward, and each is \
          compared with a 12-chain FMA peak sampled right before each timed run. The full run also checks the N=65536 \
          resident memory and takes about a minute; progress goes to stderr. See Docs/Performance.md.
          """))
      return
    }
    let options = try ParsedOptions(command: "bench", arguments: arguments, specs: Self.benchOptions)
    if options.has("kernels") {
      if options.has("quick") || options.string("threads") != nil {
        throw CLIError.usage("bench: --kernels times one thread at one size; it does not take --quick or --threads")
      }
      let n = try Self.sizes(options, "seq-len", limit: 131_072, why: "the largest --kernels sequence: it keeps ten N×d arrays") ?? [2048]
      let d = try Self.sizes(options, "head-dim", limit: 512, why: "the largest head the bench runs") ?? [64]
      guard n.count == 1, d.count == 1 else { throw CLIError.usage("bench: --kernels takes one --seq-len and one --head-dim") }
      let repetitions = try options.int("reps") ?? 7
      guard repetitions > 0 else { throw CLIError.usage("bench: --reps must be positive, got \(repetitions)") }
      let blocks = try HeadWorkload.defaultBlocks(sequenceLength: n[0], headDimension: d[0])
      let breakdown = KernelBreakdown.measure(sequenceLength: n[0], headDimension: d[0], blocks: blocks, repetitions: repetitions)
      standardOutput(options.has("json") ? breakdown.json().serialized(pretty: true) + "\n" : breakdown.table())
      return
    }
    var configuration = options.has("quick") ? BenchmarkConfiguration.quick : BenchmarkConfiguration.full
    var name = options.has("quick") ? "quick" : "full"
    if let threads = try options.int("threads") {
      guard threads == 1 || threads == 2 else { throw CLIError.usage("bench: --threads must be 1 or 2, got \(threads)") }
      configuration.threadCounts = [threads]
    }
    if let lengths = try Self.sizes(options, "seq-len", limit: 16384, why: "the largest table sequence: standard attention keeps N×N tensors") {
      if options.has("quick") { throw CLIError.usage("bench: --seq-len and --quick do not go together") }
      let dims = try Self.sizes(options, "head-dim", limit: 512, why: "the largest head the bench runs") ?? [64]
      configuration = BenchmarkConfiguration(
        sequenceLengths: lengths, headDimensions: dims, threadCounts: configuration.threadCounts, repetitions: 5,
        peakTrials: 2)
      name = "custom"
    } else if options.string("head-dim") != nil {
      throw CLIError.usage("bench: --head-dim needs --seq-len")
    }
    if let reps = try options.int("reps") {
      guard reps > 0 else { throw CLIError.usage("bench: --reps must be positive, got \(reps)") }
      configuration.repetitions = reps
    }
    let report = try BenchmarkSuite.run(configuration, name: name) { standardError("bench: \($0)\n") }
    standardOutput(options.has("json") ? report.json().serialized(pretty: true) + "\n" : report.table())
  }

  /// A comma-separated list of positive sizes, each at most `limit` (with `why` in the error).
  static func sizes(_ options: ParsedOptions, _ name: String, limit: Int, why: String) throws -> [Int]? {
    guard let text = options.string(name) else { return nil }
    return try text.split(separator: ",", omittingEmptySubsequences: false).map {
      guard let value = Int($0.trimmingCharacters(in: .whitespaces)), value > 0 else {
        throw CLIError.usage("bench: --\(name) expects comma-separated positive whole numbers, got '\(text)'")
      }
      guard value <= limit else { throw CLIError.usage("bench: --\(name) \(value) is more than \(limit) (\(why))") }
      return value
    }
  }
}
