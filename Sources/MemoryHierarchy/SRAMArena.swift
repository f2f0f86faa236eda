/// One SM's on-chip SRAM as an arena: tiles are allocated from it, sized in bytes by their
/// element type, and released when a step is done. An allocation that does not fit throws
/// `MachineError.sramOverflow` with the tile, the bytes asked for, the capacity and what is in
/// use. Peak use is recorded.
///
/// In execute mode tile data lives in one flat `Float` buffer (values are kept in fp32 on chip;
/// the element type sets only the bytes charged against capacity).
public struct SRAMArena: Sendable {
  public let capacityInBytes: Int
  public private(set) var inUseBytes: Int = 0
  public private(set) var peakBytes: Int = 0
  /// Live allocations, in allocation order.
  public private(set) var residents: [SRAMTile] = []
  /// fp32 working storage; empty in count mode.
  var storage: [Float]
  let storesData: Bool
  var nextTileID = 0

  init(capacityInBytes: Int, storesData: Bool) {
    self.capacityInBytes = capacityInBytes
    self.storesData = storesData
    // Every element costs at least 2 bytes, so capacity/2 floats hold any set of live tiles.
    storage = storesData ? Array(repeating: 0, count: max(capacityInBytes / 2, 0)) : []
  }

  mutating func allocate(
    name: String, operand: Operand, rows: Int, columns: Int, elementType: ElementType
  ) throws -> SRAMTile {
    let elements = rows * columns
    let bytes = elements * elementType.byteWidth
    guard bytes <= capacityInBytes - inUseBytes else {
      throw MachineError.sramOverflow(
        tile: name, requestedBytes: bytes, capacityBytes: capacityInBytes, inUseBytes: inUseBytes,
        residentTiles: residents.map { "\($0.name) \($0.bytes) B" })
    }
    // First fit in the float storage; residents are kept sorted by offset for this search.
    var offset = 0
    var insertAt = residents.count
    if storesData {
      let sorted = residents.enumerated().sorted { $0.element.offset < $1.element.offset }
      for (_, tile) in sorted {
        if tile.offset - offset >= elements { break }
        offset = max(offset, tile.offset + tile.elementCount)
      }
      insertAt = residents.count
      precondition(offset + elements <= storage.count, "SRAM storage accounting is inconsistent")
    }
    let tile = SRAMTile(
      id: nextTileID, name: name, operand: operand, rows: rows, columns: columns,
      elementType: elementType, offset: offset)
    nextTileID += 1
    residents.insert(tile, at: insertAt)
    inUseBytes += bytes
    peakBytes = max(peakBytes, inUseBytes)
    return tile
  }

  mutating func free(_ tile: SRAMTile) {
    guard let index = residents.firstIndex(where: { $0.id == tile.id }) else { return }
    residents.remove(at: index)
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

  public var elementCount: Int { rows * columns }
  public var bytes: Int { elementCount * elementType.byteWidth }
  public var description: String { "\(name) [\(rows)×\(columns) \(elementType)]" }
}
