/// A roofline estimate of a run's time from its exact counts and a machine's rates.
///
/// - memory time = HBM bytes / HBM bandwidth;
/// - compute time = matmul FLOPs / matmul rate + other FLOPs / other rate (the two units are
///   modelled as not overlapping each other, as FlashAttention-2 §3.1 argues for A100);
/// - estimated time = max(memory time, compute time): a kernel is either memory-bound or
///   compute-bound, and perfect overlap of the two is assumed.
///
/// Rates are whole-device, so the estimate assumes enough independent heads (batch × heads ≥
/// the number of SMs) to keep every SM busy; launch overheads and SRAM bandwidth are ignored.
public struct RooflineEstimate: Hashable, Sendable {
  public var memorySeconds: Double
  public var computeSeconds: Double

  public init(ledger: IOLedger, spec: MachineSpec) {
    memorySeconds = Double(ledger.hbmBytes) / spec.hbmBytesPerSecond
    computeSeconds =
      Double(ledger.matmulFLOPs) / spec.matmulFLOPsPerSecond
      + Double(ledger.otherFLOPs) / spec.otherFLOPsPerSecond
  }

  /// max(memory time, compute time).
  public var estimatedSeconds: Double { max(memorySeconds, computeSeconds) }

  /// `"memory"` or `"compute"`: which side of the roofline bounds the run.
  public var bound: String { memorySeconds >= computeSeconds ? "memory" : "compute" }
}
