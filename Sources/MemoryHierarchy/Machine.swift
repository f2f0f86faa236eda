/// A simulated GPU: tensors in HBM, tiles in one SM's SRAM, and the IO ledger that travels with
/// them.
///
/// Algorithms are written once against four operations, and run unchanged in both modes:
/// - `allocateTile` / `free`: SRAM capacity is an allocation, not a comment;
/// - `load(_:rows:columns:into:)`: HBM → SRAM, counted;
/// - `store(_:into:rows:columns:)`: SRAM → HBM, counted (and rounded to the tensor's precision);
/// - `compute(_:kind:flops:_:)`: on-chip arithmetic, counted; the body runs only in execute mode.
///
/// The ledger is updated only at the load/store boundary, so execute and count modes give the
/// same counts by construction.
public struct Machine: Sendable {
  public let spec: MachineSpec
  public let mode: ExecutionMode
  public private(set) var ledger = IOLedger()
  public private(set) var sram: SRAMArena
  /// The register file (capacity 0 when the spec has none: register tiles then go to SRAM).
  public private(set) var registers: SRAMArena
  public private(set) var tensors: [HBMTensor] = []
  /// Bytes of HBM tensors currently allocated, and the peak (the run's HBM footprint).
  public private(set) var hbmResidentBytes = 0
  public private(set) var peakHBMBytes = 0
  /// When set, every operation is appended to `events`.
  public var recordsEvents = false
  public private(set) var events: [MachineEvent] = []
  /// Called after every operation has taken effect, with the machine as it is then (for
  /// steppers and lessons that inspect tiles between steps). Off by default.
  public var observer: (@Sendable (MachineEvent, Machine) -> Void)?
  /// Called with the ledger every `stepsPerTick` operations (`executeStepsPerTick` in execute
  /// mode) for progress lines. Unlike
  /// `observer` it builds no events and does not stop count mode from replaying.
  public var tick: (@Sendable (IOLedger) -> Void)?
  var steps = 0
  /// Operations between calls of `tick` in count mode (a power of two).
  public static let stepsPerTick = 1 << 12
  /// Operations between calls of `tick` in execute mode, whose steps do tile arithmetic.
  public static let executeStepsPerTick = 1 << 6
  var hbmStorage: [[Float]] = []
  /// Index of each tensor's element 0 in its storage: the first 64-byte boundary, fixed when the
  /// tensor is placed (as in `SRAMArena`), so rows of 16·k floats never straddle cache lines
  /// and the SRAM copies run on aligned lines at both ends.
  var hbmShift: [Int] = []
  var hbmLive: [Bool] = []

  /// Floats of slack before each tensor's data in execute mode.
  static let hbmAlignmentSlack = 16

  public init(spec: MachineSpec, mode: ExecutionMode) {
    self.spec = spec
    self.mode = mode
    sram = SRAMArena(capacityInBytes: spec.sramCapacityInBytes, storesData: mode == .execute)
    registers = SRAMArena(level: .registers, capacityInBytes: spec.registerFileInBytes, storesData: mode == .execute)
  }

  /// Where a tile asked for at `level` goes: the register file only if the machine has one.
  public func placement(_ level: OnChipLevel) -> OnChipLevel {
    level == .registers && spec.registerFileInBytes > 0 ? .registers : .sram
  }

  /// Whether tiles and tensors hold data (execute mode).
  @inlinable public var executes: Bool { mode == .execute }

  // MARK: HBM

  /// Places a tensor in HBM. In execute mode its contents are `contents` rounded to
  /// `elementType` (or `fill` everywhere when `contents` is nil); in count mode nothing is
  /// stored. Placing inputs or initialising outputs is not HBM traffic: only transfers count.
  public mutating func allocateTensor(
    _ name: String, operand: Operand, rows: Int, columns: Int, elementType: ElementType,
    contents: [Float]? = nil, fill: Float = 0
  ) throws -> HBMTensor {
    guard rows >= 0, columns >= 0 else {
      throw MachineError.outOfBounds("tensor \(name) has negative shape \(rows)×\(columns)")
    }
    // Checked before anything uses the shape: HBMTensor.bytes and every count below are then
    // products that fit in 64 bits.
    _ = try SizeLimits.product("tensor \(name) (rows × columns × \(elementType.byteWidth) bytes)", [rows, columns, elementType.byteWidth])
    if executes {
      _ = try SizeLimits.product("tensor \(name) in execute mode (rows × columns × 4 bytes of fp32)", [rows, columns, 4])
    }
    let tensor = HBMTensor(
      id: tensors.count, name: name, operand: operand, rows: rows, columns: columns,
      elementType: elementType)
    var data: [Float] = []
    var shift = 0
    if executes {
      let count = rows * columns
      if let contents, contents.count != count {
        throw MachineError.outOfBounds(
          "tensor \(name) is \(rows)×\(columns) but \(contents.count) values were given")
      }
      let slack = Self.hbmAlignmentSlack
      data = [Float](unsafeUninitializedCapacity: count + slack) { buffer, initialized in
        let base = buffer.baseAddress!
        let misalignment = Int(bitPattern: base) & 63
        shift = misalignment == 0 ? 0 : (64 - misalignment) / MemoryLayout<Float>.stride
        base.initialize(repeating: 0, count: shift)
        (base + shift + count).initialize(repeating: 0, count: slack - shift)
        if let contents {
          contents.withUnsafeBufferPointer { (base + shift).initialize(from: $0.baseAddress!, count: count) }
          elementType.round(base + shift, count: count)
        } else {
          (base + shift).initialize(repeating: elementType.rounded(fill), count: count)
        }
        initialized = count + slack
      }
    }
    tensors.append(tensor)
    hbmStorage.append(data)
    hbmShift.append(shift)
    hbmLive.append(true)
    hbmResidentBytes += tensor.bytes
    peakHBMBytes = max(peakHBMBytes, hbmResidentBytes)
    return tensor
  }

  /// Releases a tensor's HBM (for footprint accounting); its handle must not be used again.
  public mutating func freeTensor(_ tensor: HBMTensor) {
    guard hbmLive[tensor.id] else { return }
    hbmLive[tensor.id] = false
    hbmStorage[tensor.id] = []
    hbmResidentBytes -= tensor.bytes
  }

  /// The contents of a tensor, row-major (empty in count mode, once freed, and for a tensor of
  /// another machine).
  public func contents(of tensor: HBMTensor) -> [Float] {
    guard tensor.id >= 0 && tensor.id < hbmStorage.count else { return [] }
    let storage = hbmStorage[tensor.id]
    guard !storage.isEmpty else { return [] }
    let start = hbmShift[tensor.id]
    return Array(storage[start..<(start + tensor.rows * tensor.columns)])
  }

  // MARK: SRAM

  /// Allocates a `rows × columns` tile in SRAM (or in the register file, for accumulators, when
  /// the machine has one). An accumulator that does not fit the register file is placed in SRAM
  /// instead, as a real kernel spills it; the tile's `level` says where it went.
  /// - Throws: `MachineError.sramOverflow` naming the tile, the bytes asked for, the capacity
  ///   and what is in use.
  public mutating func allocateTile(
    _ name: String, operand: Operand, rows: Int, columns: Int, elementType: ElementType, level: OnChipLevel = .sram
  ) throws -> SRAMTile {
    let (rows, columns) = (max(rows, 0), max(columns, 0))
    let tile: SRAMTile
    if placement(level) == .registers, registers.fits(bytes: rows * columns * elementType.byteWidth) {
      tile = try registers.allocate(name: name, operand: operand, rows: rows, columns: columns, elementType: elementType)
    } else {
      tile = try sram.allocate(name: name, operand: operand, rows: rows, columns: columns, elementType: elementType)
    }
    let inUse = tile.level == .sram ? sram.inUseBytes : registers.inUseBytes
    emit(.allocate(tile: tile, inUseBytes: inUse))
    return tile
  }

  /// Releases a tile.
  public mutating func free(_ tile: SRAMTile) {
    switch tile.level {
    case .sram: sram.free(tile)
    case .registers: registers.free(tile)
    }
    let inUse = tile.level == .sram ? sram.inUseBytes : registers.inUseBytes
    emit(.free(tile: tile, inUseBytes: inUse))
  }

  // MARK: Transfers

  /// Loads `tensor[rows, columns]` (all columns when nil) into the top-left of `tile`:
  /// adds rows·columns elements to the HBM reads of `tensor.operand`.
  public mutating func load(
    _ tensor: HBMTensor, rows: Range<Int>, columns: Range<Int>? = nil, into tile: SRAMTile
  ) throws {
    let columns = columns ?? 0..<tensor.columns
    try Self.checkTransfer(
      tensor, rows: rows, columns: columns, tile: tile, tensorIsLive: isLive(tensor), tileIsResident: isResident(tile))
    let elements = rows.count * columns.count
    ledger.recordRead(tensor.operand, elements: elements, bytes: elements * tensor.elementType.byteWidth)
    defer { emit(.load(transfer: .init(tensor: tensor, tile: tile, rowRange: rows, columnRange: columns))) }
    guard executes, elements > 0 else { return }
    let ld = tensor.columns
    let start = hbmShift[tensor.id]
    // Each side is reached through a mutable access to its stored property (a uniqueness check,
    // no retain): reading `hbmStorage[id]` or `sram.storage` into a local would retain and
    // release the array on every transfer, a measurable share of an execute-mode FlashAttention
    // step (Docs/Performance.md).
    func copy(from source: UnsafeMutableBufferPointer<Float>, into arena: inout SRAMArena) {
      let shift = arena.alignmentShift
      arena.storage.withUnsafeMutableBufferPointer { arena in
        let src = source.baseAddress! + start + rows.lowerBound * ld + columns.lowerBound
        let dst = arena.baseAddress! + shift + tile.offset
        if columns.count == ld && ld == tile.columns {
          // Whole rows into a tile as wide as the tensor: one contiguous copy.
          dst.update(from: src, count: elements)
          return
        }
        for r in 0..<rows.count {
          (dst + r * tile.columns).update(from: src + r * ld, count: columns.count)
        }
      }
    }
    hbmStorage[tensor.id].withUnsafeMutableBufferPointer { source in
      switch tile.level {
      case .sram: copy(from: source, into: &sram)
      case .registers: copy(from: source, into: &registers)
      }
    }
  }

  /// Stores the top-left of `tile` into `tensor[rows, columns]` (all columns when nil): adds
  /// rows·columns elements to the HBM writes of `tensor.operand`. Values are rounded to the
  /// tensor's precision as they land in HBM.
  public mutating func store(
    _ tile: SRAMTile, into tensor: HBMTensor, rows: Range<Int>, columns: Range<Int>? = nil
  ) throws {
    let columns = columns ?? 0..<tensor.columns
    try Self.checkTransfer(
      tensor, rows: rows, columns: columns, tile: tile, tensorIsLive: isLive(tensor), tileIsResident: isResident(tile))
    let elements = rows.count * columns.count
    ledger.recordWrite(tensor.operand, elements: elements, bytes: elements * tensor.elementType.byteWidth)
    defer { emit(.store(transfer: .init(tensor: tensor, tile: tile, rowRange: rows, columnRange: columns))) }
    guard executes, elements > 0 else { return }
    let ld = tensor.columns
    let type = tensor.elementType
    let start = hbmShift[tensor.id]
    func copy(from arena: inout SRAMArena, into target: UnsafeMutableBufferPointer<Float>) {
      let shift = arena.alignmentShift
      arena.storage.withUnsafeMutableBufferPointer { arena in
        let src = arena.baseAddress! + shift + tile.offset
        let dst = target.baseAddress! + start + rows.lowerBound * ld + columns.lowerBound
        if columns.count == ld && ld == tile.columns {
          // Whole rows from a tile as wide as the tensor: one contiguous copy.
          dst.update(from: src, count: elements)
          type.round(dst, count: elements)
          return
        }
        for r in 0..<rows.count {
          let row = dst + r * ld
          row.update(from: src + r * tile.columns, count: columns.count)
          type.round(row, count: columns.count)
        }
      }
    }
    hbmStorage[tensor.id].withUnsafeMutableBufferPointer { target in
      switch tile.level {
      case .sram: copy(from: &sram, into: target)
      case .registers: copy(from: &registers, into: target)
      }
    }
  }

  /// Whether `tensor` was allocated on this machine and not freed.
  func isLive(_ tensor: HBMTensor) -> Bool { tensor.id >= 0 && tensor.id < hbmLive.count && hbmLive[tensor.id] }

  /// Whether `tile` is allocated on its level and not freed.
  func isResident(_ tile: SRAMTile) -> Bool {
    tile.level == .sram ? sram.isResident(tile.id) : registers.isResident(tile.id)
  }

  /// Throws unless the transfer is in bounds and both ends exist. Static, with the two facts it
  /// needs from the machine passed in: as a method it made each load and store copy the whole
  /// machine struct (376 bytes) to call it, the largest cost of count mode.
  static func checkTransfer(
    _ tensor: HBMTensor, rows: Range<Int>, columns: Range<Int>, tile: SRAMTile, tensorIsLive: Bool,
    tileIsResident: Bool
  ) throws {
    guard tensorIsLive else {
      throw MachineError.outOfBounds("tensor \(tensor.name) was freed")
    }
    guard rows.lowerBound >= 0, rows.upperBound <= tensor.rows,
      columns.lowerBound >= 0, columns.upperBound <= tensor.columns
    else {
      throw MachineError.outOfBounds(
        "rows \(rows) × columns \(columns) of \(tensor)")
    }
    guard rows.count <= tile.rows, columns.count <= tile.columns else {
      throw MachineError.outOfBounds(
        "a \(rows.count)×\(columns.count) block of \(tensor.name) does not fit tile \(tile)")
    }
    guard tileIsResident else {
      throw MachineError.outOfBounds("tile \(tile.name) is not resident on chip")
    }
  }

  // MARK: Compute

  /// Runs an on-chip step: adds `flops` to the ledger (as matmul or other FLOPs) and, in execute
  /// mode, calls `body` with pointers to the resident tiles. In count mode `body` is skipped.
  public mutating func compute(
    _ label: String, kind: ComputeKind, flops: Int, _ body: (SRAMView) throws -> Void
  ) rethrows {
    switch kind {
    case .matmul: ledger.matmulFLOPs += flops
    case .other: ledger.otherFLOPs += flops
    }
    defer { emit(.compute(label: label, kind: kind, flops: flops)) }
    guard executes else { return }
    let (sramShift, registerShift) = (sram.alignmentShift, registers.alignmentShift)
    try sram.storage.withUnsafeMutableBufferPointer { arena in
      try registers.storage.withUnsafeMutableBufferPointer { file in
        try body(SRAMView(base: arena.baseAddress! + sramShift, registerBase: file.baseAddress.map { $0 + registerShift }))
      }
    }
    #if DEBUG
    if checksTileBounds {
      let overrun = tileOverruns()
      assert(overrun.isEmpty, "compute step '\(label)' wrote past the end of \(overrun.joined(separator: ", "))")
    }
    #endif
  }

  #if DEBUG
  /// Whether `compute` checks the tiles' guard zones after each step (debug builds only; a test
  /// that overruns a tile on purpose turns it off and reads `tileOverruns()`).
  var checksTileBounds = true
  #endif

  /// The on-chip tiles a compute step has written past the end of (their guard zones changed),
  /// by name; always empty in release builds, which have no guard zones.
  func tileOverruns() -> [String] {
    (sram.overrunTiles() + registers.overrunTiles()).map { "tile \($0.name) (\($0.elementCount) elements, \($0.level.rawValue))" }
  }

  /// Records an event and tells the observer, once the operation has taken effect. The event is
  /// built only when someone listens (building one retains its tile's and tensor's names).
  /// Inlined, so that with no listener the event's closure is never built (building it retains
  /// names: the largest cost of count mode when it is not).
  @inline(__always)
  mutating func emit(_ makeEvent: @autoclosure () -> MachineEvent) {
    if tick != nil { countStep() }
    guard recordsEvents || observer != nil else { return }
    let event = makeEvent()
    if recordsEvents { events.append(event) }
    if let observer { observer(event, self) }
  }

  /// Reads a tile's current values (execute mode; for tests and step-by-step lessons).
  public func values(of tile: SRAMTile, rows: Int? = nil, columns: Int? = nil) -> [Float] {
    guard executes else { return [] }
    let r = rows ?? tile.rows
    let c = columns ?? tile.columns
    var out: [Float] = []
    out.reserveCapacity(r * c)
    let storage = tile.level == .sram ? sram.storage : registers.storage
    let shift = tile.level == .sram ? sram.alignmentShift : registers.alignmentShift
    storage.withUnsafeBufferPointer { arena in
      let base = arena.baseAddress! + shift + tile.offset
      for i in 0..<r {
        for j in 0..<c { out.append(base[i * tile.columns + j]) }
      }
    }
    return out
  }

  /// Counts an operation for `tick`, and calls it every `stepsPerTick` (`executeStepsPerTick`).
  @inline(__always)
  mutating func countStep() {
    steps &+= 1
    if steps & ((executes ? Self.executeStepsPerTick : Self.stepsPerTick) - 1) == 0 { callTick() }
  }

  @inline(never)
  func callTick() { tick?(ledger) }

  /// Whether identical steps may be replayed instead of stepped: count mode, with no events
  /// recorded and no observer (so nothing could tell the difference but the clock).
  public var canReplay: Bool { mode == .count && !recordsEvents && observer == nil }

  /// Counts `times` more repetitions of steps whose ledger change was `delta`, without stepping
  /// them: count mode's shortcut for runs of identical inner iterations (same shapes, transfers
  /// in bounds by construction). Only when `canReplay`.
  /// - Throws: `MachineError.countOverflow` if a count would not fit in 64 bits,
  ///   `MachineError.outOfBounds` unless `canReplay` (execute mode, events or an observer).
  public mutating func replay(_ delta: IOLedger, times: Int) throws {
    guard canReplay else {
      throw MachineError.outOfBounds("replay needs count mode without recorded events or an observer")
    }
    guard times > 0 else { return }
    ledger.add(try delta.repeated(times))
  }

  /// Clears the recorded events (the ledger is kept).
  public mutating func clearEvents() { events.removeAll() }
}

/// Pointers to resident on-chip tiles, valid only inside a `Machine.compute` body.
public struct SRAMView {
  @usableFromInline let base: UnsafeMutablePointer<Float>
  @usableFromInline let registerBase: UnsafeMutablePointer<Float>?

  @inlinable init(base: UnsafeMutablePointer<Float>, registerBase: UnsafeMutablePointer<Float>?) {
    self.base = base
    self.registerBase = registerBase
  }

  /// The first element of `tile`; rows are `tile.columns` apart.
  @inlinable
  public subscript(tile: SRAMTile) -> UnsafeMutablePointer<Float> {
    (tile.level == .sram ? base : registerBase!) + tile.offset
  }
}
