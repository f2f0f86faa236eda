/// A small command-line parser (no dependency): `--name value`, `--name=value` and boolean
/// `--flag` options, declared once per command so `--help` and errors come from the same
/// declarations.
struct OptionSpec: Sendable {
  enum Kind: Sendable { case value(placeholder: String), flag }
  let name: String
  let kind: Kind
  let help: String

  static func value(_ name: String, _ placeholder: String, _ help: String) -> OptionSpec {
    OptionSpec(name: name, kind: .value(placeholder: placeholder), help: help)
  }

  static func flag(_ name: String, _ help: String) -> OptionSpec {
    OptionSpec(name: name, kind: .flag, help: help)
  }

  var usage: String {
    switch kind {
    case let .value(placeholder): return "--\(name) \(placeholder)"
    case .flag: return "--\(name)"
    }
  }
}

/// Errors that end a command. Usage errors exit 2, runtime errors exit 1; both print one line.
enum CLIError: Error, Equatable {
  case usage(String)
  case runtime(String)

  var exitCode: Int32 {
    switch self {
    case .usage: return 2
    case .runtime: return 1
    }
  }

  var message: String {
    switch self {
    case let .usage(m), let .runtime(m): return m
    }
  }
}

/// Parsed options of one command.
struct ParsedOptions {
  private(set) var values: [String: String] = [:]
  private(set) var flags: Set<String> = []
  let command: String

  init(command: String, arguments: [String], specs: [OptionSpec]) throws {
    self.command = command
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      guard argument.hasPrefix("--"), argument.count > 2 else {
        throw CLIError.usage("\(command): unexpected argument '\(argument)' (options start with --; see 'attention-io \(command) --help')")
      }
      var name = String(argument.dropFirst(2))
      var inlineValue: String?
      if let eq = name.firstIndex(of: "=") {
        inlineValue = String(name[name.index(after: eq)...])
        name = String(name[..<eq])
      }
      guard let spec = specs.first(where: { $0.name == name }) else {
        throw CLIError.usage("\(command): unknown option '--\(name)' (see 'attention-io \(command) --help')")
      }
      switch spec.kind {
      case .flag:
        if inlineValue != nil { throw CLIError.usage("\(command): option '--\(name)' takes no value") }
        flags.insert(name)
      case .value:
        let value: String
        if let inlineValue {
          value = inlineValue
        } else {
          guard index < arguments.count else { throw CLIError.usage("\(command): option '--\(name)' needs a value") }
          value = arguments[index]
          index += 1
        }
        if values[name] != nil { throw CLIError.usage("\(command): option '--\(name)' is given twice") }
        values[name] = value
      }
    }
  }

  func has(_ flag: String) -> Bool { flags.contains(flag) }

  func string(_ name: String) -> String? { values[name] }

  /// An integer option; nil when absent. `minimum` rejects zero or negative sizes.
  func int(_ name: String, minimum: Int? = 1) throws -> Int? {
    guard let text = values[name] else { return nil }
    guard let value = Int(text) else {
      throw CLIError.usage("\(command): --\(name) expects a whole number, got '\(text)'")
    }
    if let minimum, value < minimum {
      throw CLIError.usage("\(command): --\(name) must be at least \(minimum), got \(value)")
    }
    return value
  }

  func uint64(_ name: String) throws -> UInt64? {
    guard let text = values[name] else { return nil }
    guard let value = UInt64(text) else {
      throw CLIError.usage("\(command): --\(name) expects a non-negative whole number, got '\(text)'")
    }
    return value
  }

  func double(_ name: String) throws -> Double? {
    guard let text = values[name] else { return nil }
    guard let value = Double(text), value.isFinite else {
      throw CLIError.usage("\(command): --\(name) expects a number, got '\(text)'")
    }
    return value
  }

  /// An option whose value must be one of `choices`.
  func choice<T>(_ name: String, _ choices: [(String, T)]) throws -> T? {
    guard let text = values[name] else { return nil }
    guard let match = choices.first(where: { $0.0 == text }) else {
      throw CLIError.usage("\(command): --\(name) must be one of \(choices.map(\.0).joined(separator: ", ")); got '\(text)'")
    }
    return match.1
  }
}

/// Help text for a command from its declarations.
func helpText(command: String, abstract: String, usage: String, options: [OptionSpec], discussion: String = "") -> String {
  let width = min(36, (options.map { $0.usage.count }.max() ?? 0) + 4)
  var text = "\(abstract)\n\nUSAGE: attention-io \(command) \(usage)\n\nOPTIONS:\n"
  for option in options {
    let left = "  " + option.usage
    let pad = left.count < width ? String(repeating: " ", count: width - left.count) : "\n" + String(repeating: " ", count: width)
    text += left + pad + option.help + "\n"
  }
  text += "  --help, -h" + String(repeating: " ", count: max(1, width - 12)) + "Show this help.\n"
  if !discussion.isEmpty { text += "\n" + discussion + "\n" }
  return text
}
