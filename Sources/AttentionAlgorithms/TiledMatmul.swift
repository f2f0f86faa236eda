import MemoryHierarchy
import TileKernels

/// The three tiled matmuls that standard attention's kernels are made of, each one HBM round
/// trip with one N×N operand. Every loop keeps three tiles on chip: a Br×Bc block of the N×N
/// matrix (`square`), a Br×d block (`rowBlock`) and a Bc×d block (`columnBlock`), so
/// `StandardAttentionForward.matmulPlan` sizes all of them.
///
/// | kernel | loops | reads | writes |
/// |---|---|---|---|
/// | `scores`: X = α·A·Bᵀ (N×N out) | i: load A_i; j: load B_j | Nd + T_r·Nd | N² |
/// | `rowsTimes`: C = α·X·B | i: C_i = 0; j: load X_ij, B_j | N² + T_r·Nd | Nd |
/// | `columnsTimes`: C = α·Xᵀ·A | j: C_j = 0; i: load X_ij, A_i | N² + T_c·Nd | Nd |
///
/// `blockHook` runs on each N×N block while it is on chip (after the matmul in `scores`, before
/// it in the others): masks, dropout keep flags. Matmuls cost 2·r·c·d FLOPs per block.
enum TiledMatmul {
  typealias BlockHook = (inout Machine, SRAMTile, Range<Int>, Range<Int>) throws -> Void

  struct Tiles {
    let square: SRAMTile
    let rowBlock: SRAMTile
    let columnBlock: SRAMTile
  }

  static func blocks(_ n: Int, _ size: Int) -> [Range<Int>] {
    (0..<(n + size - 1) / size).map { $0 * size..<min(n, ($0 + 1) * size) }
  }

  /// X = α·A·Bᵀ, written block by block.
  static func scores(
    on machine: inout Machine, _ a: HBMTensor, _ b: HBMTensor, into x: HBMTensor, alpha: Float,
    blocks: BlockSizes, tiles: Tiles, label: String, blockHook: BlockHook? = nil
  ) throws {
    let d = a.columns
    let (s, ai, bj) = (tiles.square, tiles.rowBlock, tiles.columnBlock)
    for rows in Self.blocks(a.rows, blocks.queryBlockSize) {
      try machine.load(a, rows: rows, into: ai)
      for columns in Self.blocks(b.rows, blocks.keyBlockSize) {
        try machine.load(b, rows: columns, into: bj)
        machine.compute(label, kind: .matmul, flops: 2 * rows.count * columns.count * d) { sram in
          TileGEMM.multiplyTransposedB(
            a: sram[ai], lda: d, b: sram[bj], ldb: d, c: sram[s], ldc: s.columns,
            rows: rows.count, columns: columns.count, depth: d, alpha: alpha, accumulate: false)
        }
        try blockHook?(&machine, s, rows, columns)
        try machine.store(s, into: x, rows: rows, columns: columns)
      }
    }
  }

  /// C = α·X·B: for each row block of C, the row of X blocks times the column blocks of B.
  static func rowsTimes(
    on machine: inout Machine, _ x: HBMTensor, _ b: HBMTensor, into c: HBMTensor, alpha: Float,
    blocks: BlockSizes, tiles: Tiles, label: String, blockHook: BlockHook? = nil
  ) throws {
    let d = b.columns
    let (s, ci, bj) = (tiles.square, tiles.rowBlock, tiles.columnBlock)
    for rows in Self.blocks(x.rows, blocks.queryBlockSize) {
      zero(&machine, ci)
      for columns in Self.blocks(x.columns, blocks.keyBlockSize) {
        try machine.load(x, rows: rows, columns: columns, into: s)
        try blockHook?(&machine, s, rows, columns)
        try machine.load(b, rows: columns, into: bj)
        machine.compute(label, kind: .matmul, flops: 2 * rows.count * columns.count * d) { sram in
          TileGEMM.multiply(
            a: sram[s], lda: s.columns, b: sram[bj], ldb: d, c: sram[ci], ldc: d,
            rows: rows.count, columns: d, depth: columns.count, alpha: alpha, accumulate: true)
        }
      }
      try machine.store(ci, into: c, rows: rows)
    }
  }

  /// C = α·Xᵀ·A: for each column block of X, its blocks transposed times the row blocks of A.
  static func columnsTimes(
    on machine: inout Machine, _ x: HBMTensor, _ a: HBMTensor, into c: HBMTensor, alpha: Float,
    blocks: BlockSizes, tiles: Tiles, label: String, blockHook: BlockHook? = nil
  ) throws {
    let d = a.columns
    let (s, ai, cj) = (tiles.square, tiles.rowBlock, tiles.columnBlock)
    for columns in Self.blocks(x.columns, blocks.keyBlockSize) {
      zero(&machine, cj)
      for rows in Self.blocks(x.rows, blocks.queryBlockSize) {
        try machine.load(x, rows: rows, columns: columns, into: s)
        try blockHook?(&machine, s, rows, columns)
        try machine.load(a, rows: rows, into: ai)
        machine.compute(label, kind: .matmul, flops: 2 * rows.count * columns.count * d) { sram in
          TileGEMM.multiplyTransposedA(
            a: sram[s], lda: s.columns, b: sram[ai], ldb: d, c: sram[cj], ldc: d,
            rows: columns.count, columns: d, depth: rows.count, alpha: alpha, accumulate: true)
        }
      }
      try machine.store(cj, into: c, rows: columns)
    }
  }

  static func zero(_ machine: inout Machine, _ tile: SRAMTile) {
    machine.compute("\(tile.name) = 0", kind: .other, flops: 0) { sram in
      sram[tile].update(repeating: 0, count: tile.elementCount)
    }
  }

  /// A hook that multiplies an on-chip N×N block by the dropout keep flags of the same block,
  /// loaded from `mask` into `flags`, and by 1/(1 − p): `r·c` FLOPs.
  static func keepFlags(_ mask: HBMTensor?, flags: SRAMTile?, keepScale: Float) -> BlockHook? {
    guard let mask, let flags else { return nil }
    return { machine, block, rows, columns in
      try machine.load(mask, rows: rows, columns: columns, into: flags)
      machine.compute("·∘Z/(1−p)", kind: .other, flops: rows.count * columns.count) { sram in
        let (x, z, ld) = (sram[block], sram[flags], block.columns)
        for r in 0..<rows.count { for c in 0..<columns.count { x[r * ld + c] *= z[r * ld + c] * keepScale } }
      }
    }
  }
}
