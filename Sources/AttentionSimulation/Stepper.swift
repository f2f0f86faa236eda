import AttentionAlgorithms
import MemoryHierarchy

/// Runs an attention algorithm one step at a time, forwards and backwards, and lets you inspect
/// the machine between steps: the resident tiles, the SRAM in use, every IO counter so far, and
/// the current m and ℓ values.
///
/// The stepper replays a recorded `Trace` (the run happens once, with an observer taking a small
/// snapshot after every event), so stepping back is free and stepping to the end gives exactly
/// the plain run's output and counts. Teaching problems are small; `Trace.record` refuses runs
/// longer than its step limit.
///
/// ```swift
/// var stepper = try Stepper(.flash, problem: problem, spec: .teaching)
/// while let step = stepper.step() {
///   if case .store = step.event { print(stepper.ledger.hbmWriteElements, stepper.statistics) }
/// }
/// ```
public struct Stepper: Sendable {
  /// The recorded run being stepped through.
  public let trace: Trace
  /// How many steps have been taken: 0 before the first, `trace.steps.count` at the end.
  public private(set) var position = 0

  /// Steps through an already recorded trace.
  public init(_ trace: Trace) { self.trace = trace }

  /// Records a run (see `Trace.record`) and stands before its first step.
  /// - Throws: the errors of `Trace.record`.
  public init(
    _ algorithm: AttentionAlgorithmKind, problem: AttentionProblem, spec: MachineSpec,
    blocks: BlockSizes? = nil, blockRule: BlockRule = .fit, mode: ExecutionMode = .execute,
    stepLimit: Int = Trace.defaultStepLimit
  ) throws {
    self.init(try Trace.record(
      algorithm, problem: problem, spec: spec, blocks: blocks, blockRule: blockRule, mode: mode, stepLimit: stepLimit))
  }

  // MARK: Moving

  /// Whether every step has been taken.
  public var isFinished: Bool { position == trace.steps.count }

  /// Takes the next step and returns it, or nil at the end.
  @discardableResult
  public mutating func step() -> Trace.Step? {
    guard position < trace.steps.count else { return nil }
    position += 1
    return trace.steps[position - 1]
  }

  /// Undoes the last step; returns false at the start.
  @discardableResult
  public mutating func stepBack() -> Bool {
    guard position > 0 else { return false }
    position -= 1
    return true
  }

  /// Moves to `position` steps taken (clamped to the trace).
  public mutating func seek(to position: Int) {
    self.position = min(max(position, 0), trace.steps.count)
  }

  /// Takes every remaining step.
  public mutating func runToEnd() { position = trace.steps.count }

  /// Steps to the end of the current section (outer iteration or phase) and returns it; nil when
  /// no section ends after the current position.
  @discardableResult
  public mutating func stepToSectionEnd() -> Trace.Section? {
    guard let section = trace.sections.first(where: { $0.steps.upperBound > position }) else { return nil }
    position = section.steps.upperBound
    return section
  }

  // MARK: Inspecting the machine

  /// The step just taken (nil before the first).
  public var current: Trace.Step? { position > 0 ? trace.steps[position - 1] : nil }

  /// The step the next `step()` takes (nil at the end).
  public var upcoming: Trace.Step? { position < trace.steps.count ? trace.steps[position] : nil }

  /// Tiles resident in SRAM now, in allocation order.
  public var residents: [SRAMTile] { current?.residents ?? [] }

  /// SRAM bytes in use now.
  public var sramInUseBytes: Int { current?.sramInUseBytes ?? 0 }

  /// Every counter so far (HBM elements and bytes per operand, FLOPs, transfers).
  public var ledger: IOLedger { current?.ledger ?? IOLedger() }

  /// The values of the resident m and ℓ tiles now (execute mode).
  public var statistics: [Trace.TileValues] { current?.statistics ?? [] }

  /// Modelled time so far, in seconds.
  public var elapsedSeconds: Double { current?.endSeconds ?? 0 }

  /// Reads and writes of every HBM tile so far.
  public var accessCounts: [Trace.TileAccessCounts] { trace.accessCounts(after: position) }
}
