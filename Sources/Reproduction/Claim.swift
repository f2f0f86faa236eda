/// One of the paper's claims beside what the simulator measured.
public struct Claim: Hashable, Sendable {
  /// Whether the simulator's number supports the claim.
  public enum Verdict: String, Hashable, Sendable {
    /// The number agrees with the claim within its stated tolerance.
    case holds
    /// The shape of the claim holds but a number differs, for a reason the report gives.
    case partly
    /// The simulator's number contradicts the claim.
    case fails

    /// The cell shown in the report's table.
    public var label: String {
      switch self {
      case .holds: return "holds"
      case .partly: return "partly (see note)"
      case .fails: return "does not hold"
      }
    }
  }

  /// Where the claim is made: "Thm 2", "Fig. 2 left", …
  public var source: String
  public var statement: String
  /// The paper's number or form.
  public var paper: String
  /// The simulator's number.
  public var simulator: String
  public var verdict: Verdict
  /// The report section (an anchor) that explains it.
  public var section: String

  public init(source: String, statement: String, paper: String, simulator: String, verdict: Verdict, section: String) {
    self.source = source
    self.statement = statement
    self.paper = paper
    self.simulator = simulator
    self.verdict = verdict
    self.section = section
  }
}

/// A file an experiment produces, with its name inside the output directory.
public struct ReproductionFile: Hashable, Sendable {
  public var name: String
  public var contents: String

  public init(name: String, contents: String) {
    self.name = name
    self.contents = contents
  }
}

/// What one experiment contributes to the reproduction: its CSV, its figures, its claims and its
/// section of `report.md`.
public struct ExperimentReport: Sendable {
  /// The experiment's key, which is also its CSV's base name (`theorem2`).
  public var name: String
  public var title: String
  public var csv: CSVTable
  /// SVG files (name, markup).
  public var figures: [ReproductionFile]
  public var claims: [Claim]
  /// Markdown body of the report section (without its heading).
  public var section: String
  /// Wall-clock seconds the experiment took.
  public var seconds: Double
  /// A paragraph for the report's closing note, if the experiment has one.
  public var closingNote: String? = nil

  public var csvName: String { name + ".csv" }
}
