import MemoryHierarchy
import TileKernels

/// Sets the masked entries of an S tile to −∞: the causal mask where the block crosses the
/// diagonal, the key-padding mask where it holds padded keys; `rows·columns` FLOPs for each mask
/// applied. Blocks with nothing to mask cost nothing.
func applyMasks(on machine: inout Machine, tile: SRAMTile, context: HeadContext, rows: Range<Int>, columns: Range<Int>) {
  let (r, c) = (rows.count, columns.count)
  if context.needsCausalMask(rowStart: rows.lowerBound, rows: r, columnStart: columns.lowerBound, columns: c) {
    machine.compute("S ← causal mask(S)", kind: .other, flops: r * c) { sram in
      TileMasks.applyCausal(sram[tile], ld: tile.columns, rows: r, columns: c, rowOffset: rows.lowerBound, columnOffset: columns.lowerBound)
    }
  }
  if context.needsPaddingMask(columnStart: columns.lowerBound, columns: c) {
    machine.compute("S ← key-padding mask(S)", kind: .other, flops: r * c) { sram in
      TileMasks.applyKeyPadding(sram[tile], ld: tile.columns, rows: r, columns: c, columnOffset: columns.lowerBound, validColumns: context.validKeys)
    }
  }
}
