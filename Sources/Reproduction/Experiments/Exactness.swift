import AttentionIO

/// Theorem 1 in execute mode: FlashAttention's forward and backward (Algorithms 1 and 4) computed
/// with real fp32 arithmetic on a small head, compared with float64 attention, and their counts
/// compared with count mode's.
public struct Exactness: Sendable {
  public var sequenceLength: Int
  public var headDimension: Int
  public var blocks: BlockSizes
  /// max|x − x_ref| / max|x_ref| per tensor (O, dQ, dK, dV).
  public var errors: [String: Double]
  /// Whether the execute-mode ledger equals the count-mode ledger.
  public var countsAgree: Bool
  public var sramBytes: Int

  public var maxRelativeError: Double { errors.values.max() ?? 0 }

  /// Runs one head with a small SRAM (so the loops take many blocks and the online softmax merges
  /// many times), fp32 storage so the only error is the arithmetic's.
  public static func run(scale: ReproductionScale) throws -> Exactness {
    let problem = try AttentionProblem(
      sequenceLength: scale.exactnessSequenceLength, headDimension: scale.exactnessHeadDimension, dataType: .fp32, seed: 7)
    let machine = MachineSpec.a100_40GB.withSRAMCapacity(scale.exactnessSRAMBytes).withRegisterFile(0)
    let execute = try Simulator.run(SimulationRequest(algorithm: .flash, pass: .both, problem: problem, machine: machine, mode: .execute))
    let count = try Simulator.run(SimulationRequest(algorithm: .flash, pass: .both, problem: problem, machine: machine, mode: .count))
    return Exactness(
      sequenceLength: problem.sequenceLength, headDimension: problem.headDimension, blocks: execute.pass(.forward)!.blocks,
      errors: execute.errors, countsAgree: execute.ledger == count.ledger, sramBytes: machine.sramCapacityInBytes)
  }

  /// Exact up to fp32 rounding: every tensor within 1e-4 of float64, and identical counts.
  public var holds: Bool { maxRelativeError < 1e-4 && countsAgree }
}
