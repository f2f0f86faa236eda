import MemoryHierarchy

/// One elementwise kernel over N×N tensors: every input is read once and every output written
/// once, chunk by chunk through SRAM: as many whole rows as fit for all of them at once, or, when
/// not even one row fits, column chunks of one row. `flopsPerElement` FLOPs per element.
enum ElementwisePass {
  typealias Body = (Chunk) -> Void

  /// One chunk on chip: each tensor's tile, found by the tensor, and the chunk's rows and columns.
  struct Chunk {
    let sram: SRAMView
    let tensors: [HBMTensor]
    let onChip: [SRAMTile]
    let rows: Range<Int>
    let columns: Range<Int>

    /// The tile holding `tensor`'s chunk.
    subscript(_ tensor: HBMTensor) -> UnsafeMutablePointer<Float> {
      let index = tensors.firstIndex { $0.id == tensor.id } ?? 0
      return sram[onChip[index]]
    }

    /// The leading dimension of every tile of the chunk.
    var ld: Int { onChip.first?.columns ?? 0 }
  }

  static func run(
    on machine: inout Machine, inputs: [HBMTensor], outputs: [HBMTensor], label: String,
    flopsPerElement: Int, body: @escaping Body
  ) throws {
    let all = inputs + outputs
    let n = all[0].rows
    let width = all[0].columns
    let bytesPerColumn = all.reduce(0) { $0 + $1.elementType.byteWidth }
    let capacity = machine.spec.sramCapacityInBytes
    let rows: Int
    let columns: Int
    if width * bytesPerColumn <= capacity {
      (rows, columns) = (min(n, capacity / (width * bytesPerColumn)), width)
    } else if bytesPerColumn <= capacity {
      (rows, columns) = (1, capacity / bytesPerColumn)
    } else {
      throw AttentionError.noBlocksFit(minimumBytes: bytesPerColumn, capacityBytes: capacity, algorithm: label)
    }
    let tiles = try machine.allocate(all.map {
      TileRequest("\($0.name)_chunk", $0.operand, rows: rows, columns: columns, $0.elementType)
    })
    var row = 0
    while row < n {
      let rowRange = row..<min(n, row + rows)
      var column = 0
      while column < width {
        let columnRange = column..<min(width, column + columns)
        for (tensor, tile) in zip(inputs, tiles) { try machine.load(tensor, rows: rowRange, columns: columnRange, into: tile) }
        machine.compute(label, kind: .other, flops: flopsPerElement * rowRange.count * columnRange.count) { sram in
          body(Chunk(sram: sram, tensors: all, onChip: tiles, rows: rowRange, columns: columnRange))
        }
        for (tensor, tile) in zip(outputs, tiles.dropFirst(inputs.count)) {
          try machine.store(tile, into: tensor, rows: rowRange, columns: columnRange)
        }
        column += columnRange.count
      }
      row += rowRange.count
    }
    machine.free(tiles)
  }
}
