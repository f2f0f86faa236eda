import Foundation

/// Deterministic number formatting for tables (no locale).
public enum NumberFormatting {
  /// 1234567 → "1,234,567".
  public static func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
      if i > 0, (digits.count - i) % 3 == 0 { out += "," }
      out.append(ch)
    }
    return value < 0 ? "-" + out : out
  }

  /// Bytes in decimal units: "4.40 GB", "163.8 KB".
  public static func bytes(_ value: Int) -> String {
    let v = Double(value)
    if v >= 1e9 { return String(format: "%.2f GB", v / 1e9) }
    if v >= 1e6 { return String(format: "%.2f MB", v / 1e6) }
    if v >= 1e3 { return String(format: "%.1f KB", v / 1e3) }
    return "\(value) B"
  }

  /// Seconds with a readable unit.
  public static func seconds(_ s: Double) -> String {
    if s >= 1 { return String(format: "%.3f s", s) }
    if s >= 1e-3 { return String(format: "%.3f ms", s * 1e3) }
    if s >= 1e-6 { return String(format: "%.3f µs", s * 1e6) }
    return String(format: "%.1f ns", s * 1e9)
  }

  /// A short scientific form: "3.1e-07".
  public static func scientific(_ x: Double) -> String { String(format: "%.2e", x) }

  /// Fixed decimals.
  public static func fixed(_ x: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", x) }

  /// Left-aligned first column, right-aligned others.
  public static func table(_ rows: [[String]], indent: String = "  ") -> String {
    guard let columns = rows.map(\.count).max() else { return "" }
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    var out = ""
    for row in rows {
      var line = indent
      for (i, cell) in row.enumerated() {
        let pad = String(repeating: " ", count: widths[i] - cell.count)
        line += i == 0 ? cell + pad : "  " + pad + cell
      }
      while line.hasSuffix(" ") { line.removeLast() }
      out += line + "\n"
    }
    return out
  }
}
