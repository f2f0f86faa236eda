import AttentionIO
import Foundation

/// Theorems 2 and 5: HBM traffic of standard attention and FlashAttention over N (fixed d, M),
/// over M (fixed N, d) and over d (fixed N, M), one pass at a time, with fitted log-log slopes.
///
/// Every point is one count-mode simulation of one head (batch 1, 1 head, fp16, no mask), and is
/// compared with the pass's closed form.
public struct IOSweep: Sendable {
  /// Which parameter a sweep varies; raw values are the CSV's `experiment` column.
  public enum Axis: String, CaseIterable, Sendable {
    case sequenceLength = "sequence-length"
    case sramSize = "sram-size"
    case headDimension = "head-dimension"

    var symbol: String {
      switch self {
      case .sequenceLength: return "N"
      case .sramSize: return "M"
      case .headDimension: return "d"
      }
    }
  }

  /// One simulated point.
  public struct Point: Sendable {
    public var axis: Axis
    public var sequenceLength: Int
    public var headDimension: Int
    /// M in elements of the data type (SRAM bytes / 2 for fp16).
    public var sramElements: Int
    public var algorithm: AttentionAlgorithmKind
    /// HBM elements moved by the pass (one head).
    public var elements: Int
    public var closedFormElements: Int
    public var matchesClosedForm: Bool
    public var blocks: BlockSizes

    /// T_c of the pass.
    public var keyBlockCount: Int { blocks.keyBlockCount(sequenceLength) }

    /// The swept value.
    public var x: Int {
      switch axis {
      case .sequenceLength: return sequenceLength
      case .sramSize: return sramElements
      case .headDimension: return headDimension
      }
    }
  }

  /// A fitted exponent and, when the paper states one, the expected value.
  public struct Fit: Sendable {
    public var axis: Axis
    public var algorithm: AttentionAlgorithmKind
    public var slope: Double
    public var expected: Double?
    /// The points fitted (the window away from the edges).
    public var points: [Point]
    /// Why the window is what it is.
    public var window: String

    /// |slope − expected| ≤ 0.1.
    public var holds: Bool { expected.map { abs(slope - $0) <= 0.1 } ?? true }
  }

  public var pass: AttentionSchedule.Pass
  public var points: [Point]
  public var fits: [Fit]

  /// Whether every point equals its closed form exactly.
  public var allMatchClosedForm: Bool { points.allSatisfy(\.matchesClosedForm) }

  public func fit(_ axis: Axis, _ algorithm: AttentionAlgorithmKind) -> Fit? {
    fits.first { $0.axis == axis && $0.algorithm == algorithm }
  }

  /// The exponents the paper's Θ-bounds give: standard Θ(Nd + N²) (2 in N, 0 in M; no claim in
  /// d), FlashAttention Θ(N²d²/M) (2 in N, −1 in M, 2 in d).
  static func expectedSlope(_ axis: Axis, _ algorithm: AttentionAlgorithmKind) -> Double? {
    switch (axis, algorithm) {
    case (.sequenceLength, _): return 2
    case (.sramSize, .standard): return 0
    case (.sramSize, _): return -1
    case (.headDimension, .flash): return 2
    default: return nil
    }
  }

  /// Runs the three sweeps of one pass.
  public static func run(pass: AttentionSchedule.Pass, scale: ReproductionScale, batch: SimulationBatch) throws -> IOSweep {
    let d = scale.headDimension
    let defaultM = scale.machine.sramCapacityInBytes / 2
    let dSweepM = scale.headDimensionSweepMachine.sramCapacityInBytes / 2
    var specs: [(Axis, Int, Int, Int)] = []  // axis, N, d, M
    for n in scale.sequenceLengths { specs.append((.sequenceLength, n, d, defaultM)) }
    let ms = pass == .forward ? scale.forwardSRAMElements : scale.backwardSRAMElements
    for m in ms { specs.append((.sramSize, scale.sramSweepSequenceLength, d, m)) }
    for dd in scale.headDimensions { specs.append((.headDimension, scale.headDimensionSweepSequenceLength, dd, dSweepM)) }

    var requests: [(Axis, SimulationRequest)] = []
    for (axis, n, dd, m) in specs {
      for algorithm in [AttentionAlgorithmKind.standard, .flash] {
        let problem = try AttentionProblem(sequenceLength: n, headDimension: dd, dataType: .fp16)
        requests.append((axis, SimulationRequest(
          algorithm: algorithm, pass: pass == .forward ? .forward : .backward, problem: problem,
          machine: Self.oneMemory(scale.machine, elements: m), mode: .count)))
      }
    }
    let results = try batch.run(requests.map(\.1))
    var points: [Point] = []
    for ((axis, request), result) in zip(requests, results) {
      let passResult = result.pass(pass)!
      points.append(Point(
        axis: axis, sequenceLength: request.problem.sequenceLength, headDimension: request.problem.headDimension,
        sramElements: request.machine.sramCapacityInBytes / 2, algorithm: request.algorithm,
        elements: passResult.ledger.hbmElements, closedFormElements: passResult.closedForm.totalElements,
        matchesClosedForm: passResult.matchesClosedForm, blocks: passResult.blocks))
    }
    var fits: [Fit] = []
    for axis in Axis.allCases {
      for algorithm in [AttentionAlgorithmKind.standard, .flash] {
        let all = points.filter { $0.axis == axis && $0.algorithm == algorithm }
        let (window, reason) = fitWindow(all, axis: axis, algorithm: algorithm)
        guard window.count >= 2 else { continue }
        let line = LineFit.logLog(window.map { (x: Double($0.x), y: Double($0.elements)) })
        fits.append(Fit(axis: axis, algorithm: algorithm, slope: line.slope, expected: expectedSlope(axis, algorithm), points: window, window: reason))
      }
    }
    return IOSweep(pass: pass, points: points, fits: fits)
  }

  /// The theorems' machine: one on-chip memory of M elements (fp16) holding every tile, as in the
  /// paper's model, so no separate register file.
  static func oneMemory(_ machine: MachineSpec, elements m: Int) -> MachineSpec {
    machine.withSRAMCapacity(2 * m).withRegisterFile(0)
  }

  /// The points a slope is fitted over, and why.
  ///
  /// - FlashAttention: blocks and passes both at least 8 (Bc ≥ 8 and T_c ≥ 8). With fewer passes
  ///   the ceiling ⌈N/Bc⌉ and the one-off 2Nd (or 4Nd) term dominate; with tiny blocks the whole
  ///   number of rows that fit (1, 2, 3 …) rounds M/d coarsely.
  /// - Standard attention over M: M ≥ 8d², the paper's regime d² ≪ M (where its block rule also
  ///   fits). Below it the tiled matmuls' re-reads of K and V, 2·T_r·Nd with T_r ≈ 2Nd/M, exceed
  ///   the N² terms, which the paper's "load by blocks" convention assumes away.
  /// - Otherwise every point.
  static func fitWindow(_ points: [Point], axis: Axis, algorithm: AttentionAlgorithmKind) -> ([Point], String) {
    // Kernels that stream blocks past a resident block (not square matmul tiles) re-read per pass.
    if KernelRegistry.kernel(algorithm, pass: .forward).blockShape != .square {
      return (points.filter { $0.keyBlockCount >= 8 && $0.blocks.keyBlockSize >= 8 }, "points with Bc ≥ 8 and T_c ≥ 8")
    }
    if axis == .sramSize {
      return (points.filter { $0.sramElements >= 8 * $0.headDimension * $0.headDimension }, "M ≥ 8d²")
    }
    return (points, "all points")
  }
}
