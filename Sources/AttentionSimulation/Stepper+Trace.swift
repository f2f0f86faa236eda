import AttentionAlgorithms
import MemoryHierarchy

/// A recorded run of one head: every machine event in order, each with its step index, its
/// modelled time and a small snapshot of the machine right after it (resident tiles, SRAM in use,
/// the IO ledger so far, and the values of the resident m and ℓ tiles).
///
/// The trace is the story: the text, CSV, Chrome and HTML renderers, the `Stepper` and the
/// lessons all read these events, and nothing re-derives them. The trace's sums equal the
/// machine's ledger exactly (`eventTotals == ledger`).
///
/// Modelled time runs the steps one after another: a load or store takes bytes / HBM bandwidth,
/// a compute step takes FLOPs / the rate of its unit (matmul or other), and allocations take no
/// time. The total is therefore `memorySeconds + computeSeconds` of the roofline estimate (which
/// instead assumes memory and compute overlap perfectly and takes their maximum).
///
/// ```swift
/// let trace = try Trace.record(.flash, problem: problem, spec: .teaching)
/// for step in trace.steps where step.event.isTransfer { print(step.index, step.event) }
/// ```
public struct Trace: Hashable, Sendable {
  /// The algorithm that ran, for a registered kernel's trace; nil for other runs (decode steps).
  public let algorithm: AttentionAlgorithmKind?
  /// What ran, in one word for labels: the algorithm's CLI name, or `paged-decode`.
  public let name: String
  /// The pass recorded (a backward trace's forward pass ran first, unrecorded).
  public let pass: AttentionSchedule.Pass
  /// What ran, for headings: `FlashAttention forward (Algorithm 1)`.
  public let title: String
  /// The problem (one head of it is traced).
  public let problem: AttentionProblem
  /// The machine it ran on.
  public let spec: MachineSpec
  /// The blocks the run used.
  public let blocks: BlockSizes
  /// Execute mode records real values (m, ℓ, O); count mode only shapes.
  public let mode: ExecutionMode
  /// Every event, in order; `steps[k].index == k`.
  public let steps: [Step]
  /// The outer iterations (or phases) of the schedule, in order.
  public let sections: [Section]
  /// The machine's ledger at the end of the run: exactly a plain run's counts.
  public let ledger: IOLedger
  /// Execute mode: the output O as the run left it in HBM (N×d, row-major); empty in count mode.
  public let output: [Float]
  /// The peak SRAM bytes in use.
  public let peakSRAMBytes: Int
  /// The HBM tile grid of every tensor that a transfer touched, in tensor order.
  public let grids: [TileGrid]
  /// Block-sparse runs: the head's block mask.
  public let blockMask: BlockMask?

  /// The events alone.
  public var events: [MachineEvent] { steps.map(\.event) }

  /// Modelled time of the whole run (the end of the last step).
  public var totalSeconds: Double { steps.last?.endSeconds ?? 0 }

  /// The trace's sums: a ledger rebuilt from the events alone (elements and bytes per operand,
  /// FLOPs, transfer counts). Equal to `ledger` for every algorithm: the invariant the tests check.
  public var eventTotals: IOLedger {
    var totals = IOLedger()
    for step in steps {
      switch step.event {
      case let .load(t): totals.recordRead(t.tensor.operand, elements: t.elements, bytes: t.bytes)
      case let .store(t): totals.recordWrite(t.tensor.operand, elements: t.elements, bytes: t.bytes)
      case let .compute(_, kind, flops):
        switch kind {
        case .matmul: totals.matmulFLOPs += flops
        case .other: totals.otherFLOPs += flops
        }
      case .allocate, .free: break
      }
    }
    return totals
  }

  /// The modelled duration of one event on `spec`: bytes / HBM bandwidth for a transfer,
  /// FLOPs / the unit's rate for compute, zero for allocations.
  public static func modelledSeconds(of event: MachineEvent, on spec: MachineSpec) -> Double {
    switch event {
    case let .load(t), let .store(t): return Double(t.bytes) / spec.hbmBytesPerSecond
    case let .compute(_, kind, flops):
      return Double(flops) / (kind == .matmul ? spec.matmulFLOPsPerSecond : spec.otherFLOPsPerSecond)
    case .allocate, .free: return 0
    }
  }
}

extension Trace {
  /// One event of the run and the machine right after it.
  public struct Step: Hashable, Sendable {
    /// 0-based position in the trace.
    public let index: Int
    /// What the machine did.
    public let event: MachineEvent
    /// Modelled start time in seconds.
    public let startSeconds: Double
    /// Modelled duration in seconds (`Trace.modelledSeconds(of:on:)`).
    public let durationSeconds: Double
    /// The tiles resident in SRAM after the step, in allocation order.
    public let residents: [SRAMTile]
    /// SRAM bytes in use after the step.
    public let sramInUseBytes: Int
    /// The IO ledger after the step: every counter so far.
    public let ledger: IOLedger
    /// Execute mode: the values of every resident m or ℓ tile after the step.
    public let statistics: [TileValues]

    /// Modelled end time in seconds.
    public var endSeconds: Double { startSeconds + durationSeconds }
  }

  /// The values held by one resident tile of softmax statistics (m or ℓ, running or per block).
  public struct TileValues: Hashable, Sendable {
    public let tile: SRAMTile
    /// The HBM rows the tile last exchanged with (the query rows its values belong to), if any.
    public let rows: Range<Int>?
    /// One value per tile row (fp32; −∞ is a row that has seen no key yet).
    public let values: [Float]
  }

  /// An outer iteration (or phase) of the schedule: the steps `steps`, titled by the algorithm.
  /// The text trace draws the SRAM and the HBM tile grid at the end of each section.
  public struct Section: Hashable, Sendable {
    public let index: Int
    public let title: String
    /// The steps of the section; sections are contiguous and start where the previous one ends.
    public let steps: Range<Int>
  }
}

extension MachineEvent {
  /// Whether the event moves data between HBM and SRAM.
  public var isTransfer: Bool {
    switch self {
    case .load, .store: return true
    default: return false
    }
  }

  /// The transfer of a load or store.
  public var transfer: Transfer? {
    switch self {
    case let .load(t), let .store(t): return t
    default: return nil
    }
  }
}
