/// A transposed copy of a tile that a schedule multiplies as Bᵀ many times in a row: K_j for
/// every S = Q_i·K_jᵀ of FlashAttention's inner loop (and V_j for dP = dO_i·V_jᵀ).
///
/// `TileGEMM.multiplyTransposedB` transposes its B panel by panel on every call; with the same
/// B for all T_r query blocks, transposing once and calling `TileGEMM.multiply` saves T_r − 1
/// transposes per block (the shuffles of an 8×8 transpose compete with the FMAs for the same
/// port). The copy is kernel scratch, like the GEMM's stack panel: a simulation keeps K_j in its
/// SRAM tile row-major and counts nothing for this copy. It is 64-byte aligned, so the GEMM's
/// 64-byte loads never straddle cache lines. Created disabled (count mode), it allocates nothing.
///
/// ```swift
/// var keysT = TransposedTileCache(rows: bc, columns: d, enabled: true)
/// defer { keysT.deallocate() }
/// let kT = keysT.transposed(kj, ld: d, rows: c, block: j)  // transposes only when j changes
/// TileGEMM.multiply(a: qi, lda: d, b: kT, ldb: bc, c: s, ldc: bc, rows: r, columns: c, depth: d, alpha: tau, accumulate: false)
/// ```
public struct TransposedTileCache {
  /// Rows and columns of the source tile; the copy is columns × rows with leading dimension
  /// `rows`.
  public let rows: Int
  public let columns: Int
  @usableFromInline let storage: UnsafeMutableRawPointer?
  /// The block whose tile the copy holds (nil before the first call).
  @usableFromInline var block: Int?

  public init(rows: Int, columns: Int, enabled: Bool = true) {
    precondition(rows >= 0 && columns >= 0, "TransposedTileCache: negative size")
    self.rows = rows
    self.columns = columns
    storage = enabled && rows * columns > 0
      ? UnsafeMutableRawPointer.allocate(byteCount: rows * columns * MemoryLayout<Float>.stride, alignment: 64) : nil
    block = nil
  }

  /// The transpose (columns × `validRows`, leading dimension `rows`) of the `validRows` ×
  /// columns tile at `source`, recomputed when `block` differs from the previous call's. Columns
  /// of the copy past `validRows` hold stale values and must not be read.
  ///
  /// - Precondition: the cache is enabled; `validRows ≤ rows`; `ld ≥ columns`.
  @inlinable
  public mutating func transposed(_ source: UnsafePointer<Float>, ld: Int, rows validRows: Int, block: Int) -> UnsafeMutablePointer<Float> {
    precondition(validRows <= rows, "TransposedTileCache: \(validRows) rows do not fit \(rows)")
    let copy = storage!.assumingMemoryBound(to: Float.self)
    if block != self.block {
      TileGEMM.transpose(source, ld: ld, rows: validRows, columns: columns, into: copy, ldt: rows)
      self.block = block
    }
    return copy
  }

  /// Frees the copy (call once, when the schedule is done).
  public func deallocate() { storage?.deallocate() }
}
