import AttentionAlgorithms
import MemoryHierarchy

extension Trace {
  /// A tensor cut into the tiles its transfers used: the row and column boundaries of every load
  /// and store that touched it. Every transfer then covers whole cells, so "how often was this
  /// tile read" is a count per cell. Cells may differ in size (a ragged last block, or a softmax
  /// pass whose row chunks differ from the matmul blocks).
  public struct TileGrid: Hashable, Sendable {
    public let tensor: HBMTensor
    /// Ascending row boundaries, from 0 to `tensor.rows`.
    public let rowCuts: [Int]
    /// Ascending column boundaries, from 0 to `tensor.columns`.
    public let columnCuts: [Int]

    public var rowCount: Int { rowCuts.count - 1 }
    public var columnCount: Int { columnCuts.count - 1 }
    public var cellCount: Int { rowCount * columnCount }

    /// The flat indices (row-major) of the cells a block covers.
    public func cells(rows: Range<Int>, columns: Range<Int>) -> [Int] {
      var result: [Int] = []
      for r in 0..<rowCount where rowCuts[r] >= rows.lowerBound && rowCuts[r + 1] <= rows.upperBound {
        for c in 0..<columnCount where columnCuts[c] >= columns.lowerBound && columnCuts[c + 1] <= columns.upperBound {
          result.append(r * columnCount + c)
        }
      }
      return result
    }

    /// The cells of a transfer (empty when it is not this grid's tensor).
    public func cells(of transfer: MachineEvent.Transfer) -> [Int] {
      guard transfer.tensor.id == tensor.id, !transfer.rowRange.isEmpty, !transfer.columnRange.isEmpty else { return [] }
      return cells(rows: transfer.rowRange, columns: transfer.columnRange)
    }
  }

  /// How often each cell of a grid has been read (loaded) and written (stored).
  public struct TileAccessCounts: Hashable, Sendable {
    public let grid: TileGrid
    /// Loads per cell, row-major.
    public var reads: [Int]
    /// Stores per cell, row-major.
    public var writes: [Int]
  }

  /// The grids of the tensors that `steps` transfer, in tensor-id order.
  static func grids(of steps: [Step]) -> [TileGrid] {
    var tensors: [Int: HBMTensor] = [:]
    var rowCuts: [Int: Set<Int>] = [:]
    var columnCuts: [Int: Set<Int>] = [:]
    for step in steps {
      guard let t = step.event.transfer else { continue }
      let id = t.tensor.id
      tensors[id] = t.tensor
      rowCuts[id, default: [0, t.tensor.rows]].formUnion([t.rowRange.lowerBound, t.rowRange.upperBound])
      columnCuts[id, default: [0, t.tensor.columns]].formUnion([t.columnRange.lowerBound, t.columnRange.upperBound])
    }
    return tensors.sorted { $0.key < $1.key }.map { id, tensor in
      TileGrid(tensor: tensor, rowCuts: (rowCuts[id] ?? []).sorted(), columnCuts: (columnCuts[id] ?? []).sorted())
    }
  }

  /// Reads and writes per HBM tile after the first `stepCount` steps, one entry per grid.
  public func accessCounts(after stepCount: Int) -> [TileAccessCounts] {
    var counts = grids.map { TileAccessCounts(grid: $0, reads: Array(repeating: 0, count: $0.cellCount), writes: Array(repeating: 0, count: $0.cellCount)) }
    let index = Dictionary(uniqueKeysWithValues: grids.enumerated().map { ($1.tensor.id, $0) })
    for step in steps.prefix(max(0, stepCount)) {
      switch step.event {
      case let .load(t):
        guard let g = index[t.tensor.id] else { continue }
        for cell in grids[g].cells(of: t) { counts[g].reads[cell] += 1 }
      case let .store(t):
        guard let g = index[t.tensor.id] else { continue }
        for cell in grids[g].cells(of: t) { counts[g].writes[cell] += 1 }
      default: continue
      }
    }
    return counts
  }
}
