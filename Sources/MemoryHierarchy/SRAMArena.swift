/// Where an on-chip tile lives.
public enum OnChipLevel: String, Sendable, Hashable, Codable {
  /// Shared memory: the paper's M.
  case sram
  /// The register file, where GPU kernels keep their accumulators (S, O, dK, dV). A machine
  /// whose spec has no register file puts these tiles in SRAM.
  case registers
}

/// One SM's on-chip SRAM (or its register file) as an arena: tiles are allocated from it, sized
/// in bytes by their element type, and released when a step is done. An allocation that does not
/// fit throws `MachineError.sramOverflow` (or `.registerOverflow`) with the tile, the bytes asked
/// for, the capacity and what is in use. Peak use is recorded.
///
/// In execute mode tile data lives in one flat `Float` buffer (values are kept in fp32 on chip;
/// the element type sets only the bytes charged against capacity).
public struct SRAMArena: Sendable {
  public let level: OnChipLevel
  public let capacityInBytes: Int
  public private(set) var inUseBytes: Int = 0
  public private(set) var peakBytes: Int = 0
  /// Live allocations, in allocation order.
  public private(set) var residents: [SRAMTile] = []
  /// fp32 working storage; empty in count mode.
  var storage: [Float]
  let storesData: Bool
  var nextTileID = 0
  /// The ids of the resident tiles: the transfer check walks these few integers, not
  /// `residents` (whose elements carry names), and memory stays O(live tiles) however many
  /// tiles a long run allocates.
  var liveIDs: [Int] = []

  init(level: OnChipLevel = .sram, capacityInBytes: Int, storesData: Bool) {
    self.level = level
    self.capacityInBytes = capacityInBytes
    self.storesData = storesData
    // Every element costs at least 1 byte (u8 masks), so `capacity` floats hold any set of live
    // tiles. The storage starts at `initialFloats` (or the capacity, if smaller) and grows only
    // when a tile lands past its end: simulated capacity costs no real memory, only the tiles in
    // use do. `alignmentSlack` more floats let the tiles start at a 64-byte boundary.
    let floats = storesData ? min(max(capacityInBytes, 0), Self.initialFloats) : 0
    storage = storesData ? Array(repeating: 0, count: floats + Self.alignmentSlack) : []
    // Tile offset 0 is the first 64-byte boundary of the buffer as allocated. The shift is an
    // index, fixed here (and when the storage grows), so a copy-on-write copy of the storage (a
    // snapshot of the machine) keeps every tile's data where its offset says, even if the new
    // buffer is aligned differently (it is then only slower, never wrong).
    alignmentShift = Self.shift(of: storage)
  }

  /// Floats of storage an execute-mode arena starts with: every preset's SRAM fits, so runs on
  /// them never grow it.
  static let initialFloats = 1 << 18

  /// Floats of slack before the first tile: offset 0 is the first 64-byte boundary of the storage.
  static let alignmentSlack = 16

  /// Index of tile offset 0 in `storage`. Tiles start at multiples of 16 floats from it when they
  /// can, so SIMD kernels never split a 64-byte load across two cache lines (split loads cost the
  /// GEMM a good part of its rate; Docs/Performance.md, "Measurements behind the kernels").
  private(set) var alignmentShift: Int

  /// The index of the first 64-byte boundary of `buffer`.
  static func shift(of buffer: [Float]) -> Int {
    buffer.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return 0 }
      let misalignment = Int(bitPattern: base) & 63
      return misalignment == 0 ? 0 : (64 - misalignment) / MemoryLayout<Float>.stride
    }
  }

  /// Makes the storage hold tile offsets `0..<floats`, keeping the data of live tiles.
  mutating func ensureStorage(_ floats: Int, limit: Int? = nil) {
    let have = storage.count - Self.alignmentSlack
    guard floats > have else { return }
    let limit = limit ?? max(capacityInBytes, 0)
    let target = min(max(floats, have > limit / 2 ? limit : 2 * have), limit)
    var grown = [Float](repeating: 0, count: target + Self.alignmentSlack)
    let newShift = Self.shift(of: grown)
    let oldShift = alignmentShift
    grown.withUnsafeMutableBufferPointer { destination in
      storage.withUnsafeBufferPointer { source in
        (destination.baseAddress! + newShift).update(from: source.baseAddress! + oldShift, count: have)
      }
    }
    storage = grown
    alignmentShift = newShift
  }

  /// Floats of guard zone after every tile in debug builds, none in release builds. The zone is
  /// filled with `guardPattern` when its tile is allocated, and `Machine.compute` checks it after
  /// every step, so a kernel that writes past the end of its tile fails in the tests instead of
  /// silently writing into the next tile. Release builds lay tiles out exactly as before.
  #if DEBUG
  static let guardFloats = 16
  #else
  static let guardFloats = 0
  #endif

  /// The bit pattern of a guard zone's floats (a quiet NaN no kernel produces by arithmetic).
  static let guardPattern: UInt32 = 0x7FC0_DEAD

  /// The resident tiles whose guard zone was written (always empty in release builds).
  func overrunTiles() -> [SRAMTile] {
    guard Self.guardFloats > 0, storesData else { return [] }
    return storage.withUnsafeBufferPointer { buffer in
      residents.filter { tile in
        let start = alignmentShift + tile.offset + tile.elementCount
        return (start..<start + Self.guardFloats).contains { buffer[$0].bitPattern != Self.guardPattern }
      }
    }
  }

  /// Whether a tile of `bytes` fits beside the resident tiles.
  func fits(bytes: Int) -> Bool { bytes <= capacityInBytes - inUseBytes }

  mutating func allocate(
    name: String, operand: Operand, rows: Int, columns: Int, elementType: ElementType
  ) throws -> SRAMTile {
    let elements = try SizeLimits.product("tile \(name) (rows × columns)", [rows, columns], unit: "elements")
    let bytes = try SizeLimits.product("tile \(name) (rows × columns × \(elementType.byteWidth) bytes)", [rows, columns, elementType.byteWidth])
    guard bytes <= capacityInBytes - inUseBytes else {
      let holders = residents.map { "\($0.name) \($0.bytes) B" }
      if level == .registers {
        throw MachineError.registerOverflow(
          tile: name, requestedBytes: bytes, capacityBytes: capacityInBytes, inUseBytes: inUseBytes, residentTiles: holders)
      }
      throw MachineError.sramOverflow(
        tile: name, requestedBytes: bytes, capacityBytes: capacityInBytes, inUseBytes: inUseBytes, residentTiles: holders)
    }
    // First fit in the float storage, scanning the residents in offset order: at a multiple of
    // 16 floats (64 bytes) when that fits, else anywhere (only u8-heavy plans near capacity).
    // In debug builds each tile is followed by its guard zone (`guardFloats`), which the storage
    // holds beyond the capacity.
    var offset = 0
    if storesData {
      let guardFloats = Self.guardFloats
      let footprint = elements + guardFloats
      let usable = max(capacityInBytes, 0) + guardFloats * (residents.count + 1)
      let sorted = residents.sorted(by: { $0.offset < $1.offset })
      func firstFit(alignment: Int) -> Int {
        var offset = 0
        for tile in sorted {
          if tile.offset - offset >= footprint { break }
          let end = max(offset, tile.offset + tile.elementCount + guardFloats)
          offset = (end + alignment - 1) / alignment * alignment
        }
        return offset
      }
      offset = firstFit(alignment: 16)
      if offset + footprint > usable { offset = firstFit(alignment: 1) }
      precondition(offset + footprint <= usable, "on-chip storage accounting is inconsistent")
      ensureStorage(offset + footprint, limit: usable)
      if guardFloats > 0 {
        let start = alignmentShift + offset + elements
        let pattern = Float(bitPattern: Self.guardPattern)
        storage.withUnsafeMutableBufferPointer { ($0.baseAddress! + start).update(repeating: pattern, count: guardFloats) }
      }
    }
    let tile = SRAMTile(
      id: nextTileID, name: name, operand: operand, rows: rows, columns: columns,
      elementType: elementType, offset: offset, level: level)
    nextTileID += 1
    liveIDs.append(tile.id)
    residents.append(tile)
    inUseBytes += bytes
    peakBytes = max(peakBytes, inUseBytes)
    return tile
  }

  /// Whether the tile with this id is allocated here and not freed.
  func isResident(_ id: Int) -> Bool { liveIDs.contains(id) }

  mutating func free(_ tile: SRAMTile) {
    guard let index = residents.firstIndex(where: { $0.id == tile.id }) else { return }
    residents.remove(at: index)
    if let slot = liveIDs.firstIndex(of: tile.id) { liveIDs.remove(at: slot) }
    inUseBytes -= tile.bytes
  }
}

/// A handle to a tile resident in SRAM: a row-major block of `rows × columns` elements.
/// Transfers may fill fewer rows or columns than the tile holds (ragged last blocks).
public struct SRAMTile: Hashable, Sendable, CustomStringConvertible {
  public let id: Int
  /// The name used in traces and error messages (`K_j`, `S_ij`).
  public let name: String
  public let operand: Operand
  public let rows: Int
  /// Also the leading dimension of the tile's storage.
  public let columns: Int
  public let elementType: ElementType
  /// Offset of element (0, 0) in the arena's float storage.
  public let offset: Int
  /// SRAM or the register file.
  public var level: OnChipLevel = .sram

  public var elementCount: Int { rows * columns }
  public var bytes: Int { elementCount * elementType.byteWidth }
  public var description: String { "\(name) [\(rows)×\(columns) \(elementType)]" }
}
