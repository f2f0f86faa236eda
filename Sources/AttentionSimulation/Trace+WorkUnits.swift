import AttentionAlgorithms
import MemoryHierarchy

/// One independent unit of a kernel's work: what a GPU would run as one thread block (CTA). It
/// lists the HBM loads and stores it issues, in order, so a launch model can walk the units of any
/// registered kernel without knowing which kernel it is.
public struct WorkUnit: Hashable, Sendable {
  /// The unit's position in launch order (0-based).
  public let index: Int
  /// What the unit does: the title of its trace section (or of the whole pass).
  public let title: String
  /// Its loads and stores, in issue order.
  public let transfers: [MachineEvent]

  /// Its HBM → SRAM transfers, in issue order.
  public var loads: [MachineEvent.Transfer] {
    transfers.compactMap { if case let .load(t) = $0 { return t } else { return nil } }
  }

  /// Its SRAM → HBM transfers, in issue order.
  public var stores: [MachineEvent.Transfer] {
    transfers.compactMap { if case let .store(t) = $0 { return t } else { return nil } }
  }

  /// Elements the unit reads and writes.
  public var traffic: TrafficCount {
    TrafficCount(readElements: loads.reduce(0) { $0 + $1.elements }, writeElements: stores.reduce(0) { $0 + $1.elements })
  }
}

extension Trace {
  /// The recorded pass cut into the work units its kernel's `workDecomposition` names: one unit
  /// for the whole head, or one per section (outer iteration or phase). Steps after the last
  /// section (freeing tiles) belong to the last unit. The units' traffic sums to the ledger.
  public var workUnits: [WorkUnit] {
    // A run that is not a registered kernel's is one unit.
    let decomposition = algorithm.map { KernelRegistry.kernel($0, pass: pass).workDecomposition } ?? .head
    var ranges: [(title: String, steps: Range<Int>)]
    switch decomposition {
    case .head:
      ranges = [(title, 0..<steps.count)]
    case .section:
      ranges = sections.map { ($0.title, $0.steps) }
      if ranges.isEmpty { ranges = [(title, 0..<steps.count)] }
      if let last = ranges.indices.last { ranges[last].steps = ranges[last].steps.lowerBound..<steps.count }
    }
    return ranges.enumerated().map { index, range in
      WorkUnit(index: index, title: range.title, transfers: steps[range.steps].map(\.event).filter(\.isTransfer))
    }
  }

  /// The work units of one head's `pass` of `algorithm`, in launch order (a count-mode trace cut
  /// by the kernel's work decomposition).
  /// - Throws: the errors of `record`.
  public static func workUnits(
    _ algorithm: AttentionAlgorithmKind, pass: AttentionSchedule.Pass, problem: AttentionProblem, spec: MachineSpec,
    blocks: BlockSizes? = nil, sparsity: BlockSparsity? = nil, stepLimit: Int = defaultStepLimit
  ) throws -> [WorkUnit] {
    try record(
      algorithm, pass: pass, problem: problem, spec: spec, blocks: blocks, mode: .count, stepLimit: stepLimit, sparsity: sparsity
    ).workUnits
  }
}
