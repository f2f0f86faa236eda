/// A GPU-like machine: an off-chip HBM and one streaming multiprocessor's on-chip SRAM (the M
/// of the FlashAttention paper), with bandwidths and compute rates for the roofline model.
///
/// Rates and bandwidths are whole-device numbers; the cost model assumes batch × heads gives
/// enough independent work to keep every SM busy, as in the paper's GPT-2 experiments.
public struct MachineSpec: Hashable, Sendable, Codable {
  /// A short name (`a100-40gb`) shown in reports.
  public var name: String
  /// On-chip SRAM of one SM in bytes: the paper's M (in bytes; M in elements is this divided by
  /// the element width).
  public var sramCapacityInBytes: Int
  /// Number of SMs, each with its own SRAM.
  public var streamingMultiprocessors: Int
  /// The register file of one SM in bytes, where kernels keep accumulator tiles (S, O, dK, dV);
  /// 0 for a machine that keeps everything in SRAM.
  public var registerFileInBytes: Int = 0
  /// Off-chip HBM capacity in bytes.
  public var hbmCapacityInBytes: Int
  /// HBM bandwidth in bytes per second (whole device).
  public var hbmBytesPerSecond: Double
  /// Aggregate SRAM bandwidth in bytes per second (whole device; informational).
  public var sramBytesPerSecond: Double
  /// Matmul throughput in FLOP/s at the data precision (tensor cores for fp16/bf16).
  public var matmulFLOPsPerSecond: Double
  /// Non-matmul throughput in FLOP/s (fp32 exp, max, sum, rescale on CUDA cores).
  public var otherFLOPsPerSecond: Double
  /// Where the numbers come from.
  public var source: String

  public init(
    name: String, sramCapacityInBytes: Int, streamingMultiprocessors: Int, hbmCapacityInBytes: Int,
    hbmBytesPerSecond: Double, sramBytesPerSecond: Double, matmulFLOPsPerSecond: Double,
    otherFLOPsPerSecond: Double, registerFileInBytes: Int = 0, source: String = ""
  ) {
    self.registerFileInBytes = registerFileInBytes
    self.name = name
    self.sramCapacityInBytes = sramCapacityInBytes
    self.streamingMultiprocessors = streamingMultiprocessors
    self.hbmCapacityInBytes = hbmCapacityInBytes
    self.hbmBytesPerSecond = hbmBytesPerSecond
    self.sramBytesPerSecond = sramBytesPerSecond
    self.matmulFLOPsPerSecond = matmulFLOPsPerSecond
    self.otherFLOPsPerSecond = otherFLOPsPerSecond
    self.source = source
  }

  /// This spec with a different SRAM capacity (the CLI's `--sram-bytes`).
  public func withSRAMCapacity(_ bytes: Int) -> MachineSpec {
    var copy = self
    copy.sramCapacityInBytes = bytes
    return copy
  }

  /// This spec with a different register file (0: accumulators live in SRAM too).
  public func withRegisterFile(_ bytes: Int) -> MachineSpec {
    var copy = self
    copy.registerFileInBytes = bytes
    return copy
  }

  /// Checks every field; throws `MachineError.invalidSpecification` naming the first bad one.
  public func validate() throws {
    func positive(_ field: String, _ value: Double) throws {
      guard value.isFinite, value > 0 else {
        throw MachineError.invalidSpecification(field: field, reason: "must be a positive number, got \(value)")
      }
    }
    guard !name.isEmpty else {
      throw MachineError.invalidSpecification(field: "name", reason: "must not be empty")
    }
    try positive("sramCapacityInBytes", Double(sramCapacityInBytes))
    try positive("streamingMultiprocessors", Double(streamingMultiprocessors))
    try positive("hbmCapacityInBytes", Double(hbmCapacityInBytes))
    try positive("hbmBytesPerSecond", hbmBytesPerSecond)
    try positive("sramBytesPerSecond", sramBytesPerSecond)
    try positive("matmulFLOPsPerSecond", matmulFLOPsPerSecond)
    try positive("otherFLOPsPerSecond", otherFLOPsPerSecond)
    guard registerFileInBytes >= 0 else {
      throw MachineError.invalidSpecification(field: "registerFileInBytes", reason: "must not be negative, got \(registerFileInBytes)")
    }
    for (field, value) in [
      ("sramCapacityInBytes", sramCapacityInBytes), ("registerFileInBytes", registerFileInBytes), ("hbmCapacityInBytes", hbmCapacityInBytes),
    ] where value > SizeLimits.maximumBytes {
      throw MachineError.invalidSpecification(
        field: field, reason: "\(value) bytes is more than the limit of \(SizeLimits.maximumBytesText)")
    }
    guard streamingMultiprocessors <= 1 << 20 else {
      throw MachineError.invalidSpecification(
        field: "streamingMultiprocessors", reason: "\(streamingMultiprocessors) is more than the limit of 1048576")
    }
  }
}
