import AttentionAlgorithms
import GPUModel
import MemoryHierarchy

/// Any traced kernel's work units as a `GPUKernel`: one CTA per unit, one step per load or store,
/// each tensor in its own buffer of global memory (row-major, as the simulated HBM holds it). The
/// launch model walks it as it walks the real kernels' presets, so the paper model's kernels can be
/// run through a GPU's L2 without knowing which kernel they are.
public struct WorkUnitKernel: GPUKernel {
  public let name: String
  public let resources: CTAResources
  let units: [WorkUnit]
  /// Each tensor's base address, by tensor id.
  let addresses: [Int: Int]

  /// The units of `trace`. `resources` decide CTAs per SM (default: 128 threads of 128 registers and
  /// the trace's peak SRAM as shared memory).
  public init(_ trace: Trace, resources: CTAResources? = nil) {
    name = trace.title
    units = trace.workUnits
    self.resources = resources ?? CTAResources(threads: 128, registersPerThread: 128, sharedMemoryBytes: trace.peakSRAMBytes)
    var memory = GlobalMemory()
    var addresses: [Int: Int] = [:]
    for grid in trace.grids {
      let tensor = grid.tensor
      addresses[tensor.id] = memory.allocate(bytes: max(1, tensor.rows * tensor.columns * tensor.elementType.byteWidth))
    }
    self.addresses = addresses
  }

  public var blockCount: Int { units.count }

  public func stepCount(ofBlock block: Int) -> Int { units[block].transfers.count }

  public func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let event = units[block].transfers[step]
    guard let t = event.transfer else { return }
    let width = t.tensor.elementType.byteWidth
    let base = addresses[t.tensor.id] ?? 0
    accesses.append(GlobalAccess(
      address: base + (t.rowRange.lowerBound * t.tensor.columns + t.columnRange.lowerBound) * width,
      rowBytes: t.columnRange.count * width, rowStride: t.tensor.columns * width, rows: t.rowRange.count,
      kind: event.isLoad ? .read : .write))
  }
}

extension MachineEvent {
  /// Whether the event is a load.
  public var isLoad: Bool {
    if case .load = self { return true }
    return false
  }
}
