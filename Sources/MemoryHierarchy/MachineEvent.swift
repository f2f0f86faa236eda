/// One step of a run, as the machine saw it. Recording is off unless
/// `Machine.recordsEvents` is set; the trace's sums then equal the ledger exactly.
public enum MachineEvent: Hashable, Sendable {
  /// A tile was allocated in SRAM; `inUseBytes` is the occupancy after the allocation.
  case allocate(tile: SRAMTile, inUseBytes: Int)
  /// A tile was released.
  case free(tile: SRAMTile, inUseBytes: Int)
  /// HBM → SRAM: `tensor[rowRange, columnRange]` into `tile`.
  case load(transfer: Transfer)
  /// SRAM → HBM: `tile` into `tensor[rowRange, columnRange]`.
  case store(transfer: Transfer)
  /// On-chip arithmetic.
  case compute(label: String, kind: ComputeKind, flops: Int)

  /// A block transfer between a tensor and a tile.
  public struct Transfer: Hashable, Sendable {
    public let tensor: HBMTensor
    public let tile: SRAMTile
    public let rowRange: Range<Int>
    public let columnRange: Range<Int>
    public var elements: Int { rowRange.count * columnRange.count }
    public var bytes: Int { elements * tensor.elementType.byteWidth }
  }
}

/// Which compute unit an on-chip step uses in the cost model.
public enum ComputeKind: String, Hashable, Sendable, Codable {
  /// Tensor-core style matrix multiply (2 FLOPs per multiply-add).
  case matmul
  /// Everything else: exp, max, sum, rescale, masking.
  case other
}
