import Foundation
import AttentionAlgorithms

/// The block-mask file format of `--mask FILE`: one line per block row of 0s and 1s (1 = the
/// block is computed), optionally separated by spaces; blank lines and lines starting with `#`
/// are ignored; every row has the same length. Example for a 3×3 causal block mask:
///
/// ```
/// # causal, 3 × 3 blocks
/// 1 0 0
/// 1 1 0
/// 1 1 1
/// ```
public enum BlockMaskFile {
  /// One-line errors that name the line.
  public struct ParseError: Error, Equatable, CustomStringConvertible {
    public let line: Int
    public let reason: String
    public var description: String { "line \(line): \(reason)" }
  }

  public static func parse(_ text: String) throws -> BlockMask {
    var rows: [[Bool]] = []
    // Any line ending (LF, CRLF, CR): "\r\n" is one Character, so split on newlines, not on "\n".
    for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") { continue }
      var row: [Bool] = []
      for character in line where character != " " && character != "\t" && character != "\r" {
        switch character {
        case "0": row.append(false)
        case "1": row.append(true)
        default:
          let shown = character.unicodeScalars.map { $0.properties.generalCategory == .control ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
          throw ParseError(line: index + 1, reason: "unexpected character '\(shown)' (expected 0 or 1)")
        }
      }
      if let first = rows.first, first.count != row.count {
        throw ParseError(line: index + 1, reason: "\(row.count) blocks, but the first row has \(first.count)")
      }
      rows.append(row)
    }
    guard !rows.isEmpty else { throw ParseError(line: 1, reason: "no block rows") }
    return BlockMask(rows: rows)
  }

  /// The file text of a mask.
  public static func text(_ mask: BlockMask) -> String {
    (0..<mask.rowBlocks).map { i in (0..<mask.columnBlocks).map { mask[i, $0] ? "1" : "0" }.joined(separator: " ") }
      .joined(separator: "\n") + "\n"
  }
}
