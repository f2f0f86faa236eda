import AttentionIO

/// The sizes the experiments run at. `full` is the reproduction the report documents (count mode
/// at the paper's sizes, about half a minute on two cores in a release build); `quick` keeps
/// every experiment and claim but shrinks the sweeps so the tests run in seconds in a debug build.
public struct ReproductionScale: Sendable {
  public var name: String

  // Theorems 2 and 5: sweeps over N, M and d.
  /// d of the N and M sweeps.
  public var headDimension: Int
  /// The machine of the N sweep (its SRAM is the fixed M).
  public var machine: MachineSpec
  /// N of the N sweep.
  public var sequenceLengths: [Int]
  /// N of the M sweep.
  public var sramSweepSequenceLength: Int
  /// M (elements) of the forward M sweep, from the smallest SRAM that holds 1×1 tiles up to Nd.
  public var forwardSRAMElements: [Int]
  /// M (elements) of the backward M sweep (its 1×1 plan is about twice the forward's).
  public var backwardSRAMElements: [Int]
  /// N of the d sweep.
  public var headDimensionSweepSequenceLength: Int
  /// d of the d sweep.
  public var headDimensions: [Int]
  /// The machine of the d sweep (its SRAM is the fixed M).
  public var headDimensionSweepMachine: MachineSpec

  // Proposition 3.
  /// N values whose traffic/4Nd is followed as M grows to Nd.
  public var proposition3SequenceLengths: [Int]
  /// M/(Nd) values of that sweep, each a power of two ≤ 1.
  public var proposition3Fractions: [Double]

  // Proposition 4 and Figure 2 right.
  public var sparseSequenceLength: Int
  /// Densities of the random block masks.
  public var densities: [Double]
  /// Batch and heads of Figure 2 right (the benchmark setting of the paper's App. E: 16 × 8).
  public var sparseBatch: Int
  public var sparseHeads: Int

  // Figure 2 left: the key-padding run of the NeurIPS caption draws one valid length per batch entry.
  public var figure2Batch: Int

  // Table 21.
  public var footprintSequenceLengths: [Int]

  // Theorem 1 (execute mode).
  public var exactnessSequenceLength: Int
  public var exactnessHeadDimension: Int
  /// A small SRAM, so the execute-mode run takes several key blocks and merges them.
  public var exactnessSRAMBytes: Int

  // The paper's Figure 2 on a real GPU (the GPU model): batch of the GPT-2 medium workload.
  public var gpuFigure2Batch: Int = 64

  /// Powers of two and the midpoints 1.5·2^k between them, from `lower` to `upper`.
  static func geometric(from lower: Int, to upper: Int) -> [Int] {
    var values: [Int] = []
    var x = 1
    while x <= upper {
      if x >= lower { values.append(x) }
      if x * 3 / 2 >= lower, x * 3 / 2 <= upper, x >= 2 { values.append(x * 3 / 2) }
      x *= 2
    }
    return values.sorted()
  }

  static func powersOfTwo(from lower: Int, to upper: Int) -> [Int] {
    var values: [Int] = []
    var x = lower
    while x <= upper {
      values.append(x)
      x *= 2
    }
    return values
  }

  /// The reproduction at the paper's sizes.
  public static let full = ReproductionScale(
    name: "full", headDimension: 64, machine: .a100_40GB,
    sequenceLengths: powersOfTwo(from: 256, to: 16384),
    sramSweepSequenceLength: 4096,
    forwardSRAMElements: geometric(from: 1024, to: 4096 * 64),
    backwardSRAMElements: geometric(from: 2048, to: 4096 * 64),
    headDimensionSweepSequenceLength: 8192, headDimensions: powersOfTwo(from: 16, to: 512), headDimensionSweepMachine: .a100_40GB,
    proposition3SequenceLengths: [1024, 4096, 16384],
    proposition3Fractions: [1.0 / 64, 1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0 / 2, 1],
    sparseSequenceLength: 4096, densities: [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
    sparseBatch: 16, sparseHeads: 8,
    figure2Batch: 64,
    footprintSequenceLengths: powersOfTwo(from: 128, to: 65536),
    exactnessSequenceLength: 256, exactnessHeadDimension: 64, exactnessSRAMBytes: 16 * 1024)

  /// Reduced sizes for tests: the same experiments and claims, seconds in a debug build.
  public static let quick = ReproductionScale(
    name: "quick", headDimension: 32, machine: MachineSpec.a100_40GB.withSRAMCapacity(16 * 1024),
    sequenceLengths: powersOfTwo(from: 128, to: 2048),
    sramSweepSequenceLength: 512,
    forwardSRAMElements: geometric(from: 1024, to: 512 * 32),
    backwardSRAMElements: geometric(from: 2048, to: 512 * 32),
    headDimensionSweepSequenceLength: 2048, headDimensions: powersOfTwo(from: 16, to: 256),
    headDimensionSweepMachine: MachineSpec.a100_40GB.withSRAMCapacity(64 * 1024),
    proposition3SequenceLengths: [512, 2048],
    proposition3Fractions: [1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0 / 2, 1],
    sparseSequenceLength: 4096, densities: [0, 0.1, 0.25, 0.5, 0.75, 1],
    sparseBatch: 16, sparseHeads: 8,
    figure2Batch: 64,
    footprintSequenceLengths: powersOfTwo(from: 128, to: 4096),
    exactnessSequenceLength: 64, exactnessHeadDimension: 16, exactnessSRAMBytes: 2 * 1024,
    gpuFigure2Batch: 1)
}
