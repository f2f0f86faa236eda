import MemoryHierarchy

/// Tile sizes of a schedule: Br query rows by Bc key rows.
public struct BlockSizes: Hashable, Sendable, CustomStringConvertible {
  /// Br: rows of Q (and O, ℓ, m) per block.
  public var queryBlockSize: Int
  /// Bc: rows of K and V per block.
  public var keyBlockSize: Int

  public init(queryBlockSize: Int, keyBlockSize: Int) {
    self.queryBlockSize = queryBlockSize
    self.keyBlockSize = keyBlockSize
  }

  public var description: String { "Br=\(queryBlockSize), Bc=\(keyBlockSize)" }

  /// T_r = ⌈N/Br⌉.
  public func queryBlockCount(_ n: Int) -> Int { n / queryBlockSize + (n % queryBlockSize == 0 ? 0 : 1) }
  /// T_c = ⌈N/Bc⌉.
  public func keyBlockCount(_ n: Int) -> Int { n / keyBlockSize + (n % keyBlockSize == 0 ? 0 : 1) }

  /// The paper's rule (FlashAttention Algorithm 1, line 1): Bc = ⌈M/4d⌉, Br = min(⌈M/4d⌉, d),
  /// with M the SRAM size in elements.
  public static func paperRule(sramElements m: Int, headDimension d: Int) -> BlockSizes {
    // ⌈m / 4d⌉ without overflow for any m, d ≥ 1 (4d saturates: the quotient is then 0 or 1).
    let (fourD, overflow) = d.multipliedReportingOverflow(by: 4)
    let divisor = overflow ? Int.max : max(fourD, 1)
    let bc = max(1, m / divisor + (m % divisor == 0 ? 0 : 1))
    return BlockSizes(queryBlockSize: min(bc, d), keyBlockSize: bc)
  }

  /// These blocks clamped to N: a block larger than the sequence holds no more rows, so the
  /// schedule and its counts are unchanged, and only the SRAM that is really used is allocated.
  public func clamped(to n: Int) -> BlockSizes {
    BlockSizes(queryBlockSize: min(queryBlockSize, n), keyBlockSize: min(keyBlockSize, n))
  }
}

/// How default block sizes are chosen (`--block-rule`).
public enum BlockRule: String, CaseIterable, Sendable, Hashable {
  /// The largest blocks of the paper's proportions that fit the SRAM together with every other
  /// tile the schedule keeps on chip (the default). See `Docs/BlockSizes.md`.
  case fit
  /// The paper's literal rule Bc = ⌈M/4d⌉, Br = min(⌈M/4d⌉, d); it can overflow the SRAM (it
  /// needs roughly M ≥ 8d²), which is then a clear error.
  case paper
}

/// One tile a schedule keeps in SRAM at the same time as the others of its plan.
public struct TileRequest: Hashable, Sendable {
  public var name: String
  public var operand: Operand
  public var rows: Int
  public var columns: Int
  public var elementType: ElementType
  /// SRAM, or the register file for accumulators (SRAM on machines without one).
  public var level: OnChipLevel

  public init(_ name: String, _ operand: Operand, rows: Int, columns: Int, _ elementType: ElementType, level: OnChipLevel = .sram) {
    self.name = name
    self.operand = operand
    self.rows = rows
    self.columns = columns
    self.elementType = elementType
    self.level = level
  }

  public var bytes: Int { rows * columns * elementType.byteWidth }
}

extension Machine {
  /// Allocates every tile of a plan, in order, and returns the handles.
  public mutating func allocate(_ plan: [TileRequest]) throws -> [SRAMTile] {
    try plan.map { try allocate($0) }
  }

  /// Allocates one tile of a plan.
  public mutating func allocate(_ request: TileRequest) throws -> SRAMTile {
    try allocateTile(
      request.name, operand: request.operand, rows: request.rows, columns: request.columns, elementType: request.elementType,
      level: request.level)
  }

  /// Frees tiles in reverse order of allocation.
  public mutating func free(_ tiles: [SRAMTile]) {
    for tile in tiles.reversed() { free(tile) }
  }
}

/// Checks whether a plan fits a capacity by allocating it on an empty count-mode machine, so the
/// error is exactly the one a run would raise.
func checkFits(_ plan: [TileRequest], spec: MachineSpec) throws {
  var machine = Machine(spec: spec, mode: .count)
  _ = try machine.allocate(plan)
}

/// The bytes of a plan that land in SRAM on `spec` (register tiles too, if it has no register file).
func sramBytes(_ plan: [TileRequest], spec: MachineSpec) -> Int {
  plan.filter { $0.level == .sram || spec.registerFileInBytes == 0 }.reduce(0) { $0 + $1.bytes }
}

/// Whether a plan fits a machine: its SRAM tiles in the SRAM and its accumulators in the register
/// file (everything in the SRAM on a machine without one). With `allowingSpills`, accumulators
/// that do not fit the register file may go to the SRAM, as they do at run time.
func fits(_ plan: [TileRequest], spec: MachineSpec, allowingSpills: Bool = false) -> Bool {
  guard let placed = try? TilePlacement.place(plan, spec: spec) else { return false }
  return allowingSpills || !placed.contains(where: \.spilled)
}

/// Where one tile of a plan lives on a machine: the level it asked for and the level it got.
public struct TilePlacement: Hashable, Sendable {
  public var tile: TileRequest
  /// SRAM or registers: where the tile is placed.
  public var level: OnChipLevel

  public init(tile: TileRequest, level: OnChipLevel) {
    self.tile = tile
    self.level = level
  }

  /// An accumulator that asked for the register file of a machine that has one, but did not fit
  /// it and was placed in SRAM (a spill).
  public var spilled: Bool { tile.level == .registers && level == .sram }

  /// Allocates a plan on an empty count-mode machine and reports where each tile went.
  /// - Throws: `MachineError.sramOverflow` when the plan does not fit even with spills.
  public static func place(_ plan: [TileRequest], spec: MachineSpec) throws -> [TilePlacement] {
    var machine = Machine(spec: spec, mode: .count)
    let tiles = try machine.allocate(plan)
    return zip(plan, tiles).map { request, tile in
      var placed = TilePlacement(tile: request, level: tile.level)
      if request.level == .registers, spec.registerFileInBytes == 0 { placed.tile.level = .sram }
      return placed
    }
  }
}
