/// The named matrices and vectors that attention algorithms move between memory levels.
///
/// The IO ledger is keyed by operand, and `description` returns the paper's symbol, so reports
/// read like the paper: "K read 65 536 elements".
public enum Operand: Int, CaseIterable, Sendable, Hashable, Codable, CustomStringConvertible {
  case query
  case key
  case value
  case output
  case scores
  case probabilities
  case rowMax
  case rowSum
  case logSumExp
  case outputGradient
  case queryGradient
  case keyGradient
  case valueGradient
  case probabilitiesGradient
  case scoresGradient
  case gradientRowTerm
  case dropoutMask
  case blockTable
  case partialOutput
  case keySummary
  case other

  /// The paper's symbol.
  public var description: String {
    switch self {
    case .query: return "Q"
    case .key: return "K"
    case .value: return "V"
    case .output: return "O"
    case .scores: return "S"
    case .probabilities: return "P"
    case .rowMax: return "m"
    case .rowSum: return "ℓ"
    case .logSumExp: return "L"
    case .outputGradient: return "dO"
    case .queryGradient: return "dQ"
    case .keyGradient: return "dK"
    case .valueGradient: return "dV"
    case .probabilitiesGradient: return "dP"
    case .scoresGradient: return "dS"
    case .gradientRowTerm: return "D"
    case .dropoutMask: return "Z"
    case .blockTable: return "BT"
    case .partialOutput: return "Opart"
    case .keySummary: return "Ksum"
    case .other: return "other"
    }
  }

  /// An ASCII key for JSON and CSV (`"l"` for ℓ), stable for scripts.
  public var key: String {
    switch self {
    case .rowSum: return "l"
    default: return description
    }
  }
}
