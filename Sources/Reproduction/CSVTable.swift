import Reports

/// A CSV file: a header row and data rows, rendered with RFC 4180 quoting (fields holding a comma,
/// a quote or a line break are quoted, quotes doubled) and `\n` line ends.
public struct CSVTable: Hashable, Sendable {
  public var header: [String]
  public private(set) var rows: [[String]] = []

  public init(header: [String]) { self.header = header }

  /// Appends a row.
  /// - Precondition: the row has as many fields as the header.
  public mutating func append(_ row: [String]) {
    precondition(row.count == header.count, "CSV row has \(row.count) fields, the header \(header.count)")
    rows.append(row)
  }

  /// The file's text (quoting by `Reports.CSV`).
  public var text: String { CSV.text(header: header, rows: rows) }
}
