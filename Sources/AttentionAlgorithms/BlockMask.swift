/// A block mask M ∈ {0,1}^{T_r × T_c} over a schedule's (Br × Bc) blocks (FlashAttention §3.3):
/// element (k, l) of S is kept iff M[⌊k/Br⌋, ⌊l/Bc⌋] = 1; the others are −∞.
public struct BlockMask: Hashable, Sendable, CustomStringConvertible {
  public let rowBlocks: Int
  public let columnBlocks: Int
  /// Row-major keep flags.
  public internal(set) var kept: [Bool]

  /// A mask with every block set to `value`.
  public init(rowBlocks: Int, columnBlocks: Int, value: Bool = false) {
    self.rowBlocks = rowBlocks
    self.columnBlocks = columnBlocks
    kept = Array(repeating: value, count: rowBlocks * columnBlocks)
  }

  /// A mask from rows of flags (all rows must have the same length).
  public init(rows: [[Bool]]) {
    rowBlocks = rows.count
    columnBlocks = rows.first?.count ?? 0
    kept = rows.flatMap { $0 }
  }

  public subscript(i: Int, j: Int) -> Bool {
    get { kept[i * columnBlocks + j] }
    set { kept[i * columnBlocks + j] = newValue }
  }

  public var totalBlocks: Int { rowBlocks * columnBlocks }
  public var nonzeroBlocks: Int { kept.reduce(0) { $0 + ($1 ? 1 : 0) } }
  /// s, the fraction of nonzero blocks.
  public var density: Double { totalBlocks == 0 ? 0 : Double(nonzeroBlocks) / Double(totalBlocks) }

  /// Whether key block column j has no nonzero block.
  public func isColumnEmpty(_ j: Int) -> Bool { !(0..<rowBlocks).contains { self[$0, j] } }

  /// One line per block row: `#` for a kept block, `.` for an empty one.
  public var description: String {
    (0..<rowBlocks).map { i in String((0..<columnBlocks).map { self[i, $0] ? "#" : "." }) }.joined(separator: "\n")
  }
}

/// A summary of a block mask for reports.
public struct BlockMaskSummary: Hashable, Sendable {
  public let pattern: String
  public let nonzeroBlocks: Int
  public let totalBlocks: Int
  public var density: Double { totalBlocks == 0 ? 0 : Double(nonzeroBlocks) / Double(totalBlocks) }

  public init(pattern: String, nonzeroBlocks: Int, totalBlocks: Int) {
    self.pattern = pattern
    self.nonzeroBlocks = nonzeroBlocks
    self.totalBlocks = totalBlocks
  }
}

/// Block-sparse settings of a run (`--mask`, `--skip-empty-columns`).
public struct BlockSparsity: Hashable, Sendable {
  public var pattern: BlockMaskPattern
  /// Skip loading K_j, V_j (and writing dK_j, dV_j) for key-block columns with no nonzero
  /// block. The literal Algorithm 5 (the default) loads them anyway.
  public var skipEmptyColumns: Bool

  public init(pattern: BlockMaskPattern, skipEmptyColumns: Bool = false) {
    self.pattern = pattern
    self.skipEmptyColumns = skipEmptyColumns
  }
}
