import Foundation

/// Small Markdown and number helpers for the report (deterministic, no locale); fixed decimals and
/// digit grouping come from `NumberFormatting`.
enum Markdown {
  /// A pipe table; cells have their `|` escaped.
  static func table(_ header: [String], _ rows: [[String]], alignRight: Set<Int> = []) -> String {
    func line(_ cells: [String]) -> String {
      "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
    }
    let rule = "|" + header.indices.map { alignRight.contains($0) ? "---:|" : "---|" }.joined()
    return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
  }

  /// A signed value such as `+0.03` or `-1.02`.
  static func signed(_ x: Double, _ decimals: Int = 2) -> String { String(format: "%+.\(decimals)f", x) }

  /// The relative difference (ours − theirs)/theirs as a signed percentage: "+11.2%".
  static func percentDifference(_ ours: Double, _ theirs: Double) -> String {
    String(format: "%+.1f%%", (ours - theirs) / theirs * 100)
  }

  /// An exponent for prose: 2 → "2", −1 → "−1".
  static func exponent(_ x: Double) -> String {
    x == x.rounded() ? (x < 0 ? "−\(Int(-x))" : "\(Int(x))") : String(format: "%.2f", x)
  }
}
