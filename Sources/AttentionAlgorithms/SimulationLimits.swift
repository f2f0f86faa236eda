import Foundation
import MemoryHierarchy

/// The sizes a run may have, checked before anything is allocated or simulated, with
/// overflow-checked arithmetic. A size no machine could hold (past 64 bits or
/// `SizeLimits.maximumBytes`) is `SizeLimitError.unrepresentable`; a run that would take too
/// many simulated block steps or more memory than allowed is `SizeLimitError.resource`.
public enum SimulationLimits {
  /// Simulated block steps one run may take (T_r·T_c per pass, per head simulated): minutes of
  /// count mode at most (Docs/CLI.md lists the limits).
  public static let maximumBlockSteps = 10_000_000_000

  /// Counts (elements, bytes, FLOPs) are 64-bit integers; the run's estimated totals must stay
  /// below this bound, so no count can overflow.
  public static let maximumCount = 1 << 62

  /// Sizes every algorithm needs: the head count and each input tensor, per head and over all
  /// heads. Called by `AttentionProblem.init`.
  static func checkProblem(batch: Int, heads: Int, sequenceLength n: Int, headDimension d: Int, byteWidth: Int) throws {
    _ = try SizeLimits.product(
      "the head count (batch × heads)", [batch, heads], limit: SizeLimits.maximumBytes,
      limitText: "\(SizeLimits.maximumBytes) heads (2^50)", unit: "heads")
    _ = try SizeLimits.product("Q of one head (N × d × 4 bytes in fp32)", [n, d, 4])
    _ = try SizeLimits.product("Q of all heads (batch × heads × N × d × \(byteWidth) bytes)", [batch, heads, n, d, byteWidth])
  }

  /// Sizes that depend on the algorithm, before blocks are chosen: standard attention keeps
  /// the N×N matrices S and P in HBM.
  public static func checkAlgorithm(_ algorithm: AttentionAlgorithmKind, problem: AttentionProblem) throws {
    guard KernelRegistry.algorithm(algorithm).storesAttentionMatrices else { return }
    let n = problem.sequenceLength
    _ = try SizeLimits.product("S of one head (N × N × 4 bytes of fp32)", [n, n, 4])
  }
}
