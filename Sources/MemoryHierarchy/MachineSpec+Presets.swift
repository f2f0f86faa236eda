/// Named machines. Each number carries its public source.
extension MachineSpec {
  static let kibibyte = 1024
  static let gigabyte = 1_000_000_000

  /// NVIDIA A100 SXM4 40 GB, the FlashAttention paper's GPU.
  public static let a100_40GB = MachineSpec(
    name: "a100-40gb",
    // 192 KB of combined L1/shared memory per SM, 108 SMs: FlashAttention §2.1 and the NVIDIA
    // A100 Tensor Core GPU Architecture whitepaper (2020), Table 3.
    sramCapacityInBytes: 192 * kibibyte,
    streamingMultiprocessors: 108,
    // 40 GB HBM2 at 1,555 GB/s: A100 whitepaper Table 1 / A100 datasheet.
    hbmCapacityInBytes: 40 * gigabyte,
    hbmBytesPerSecond: 1.555e12,
    // ~19 TB/s aggregate SRAM bandwidth: FlashAttention §2.1, Figure 1.
    sramBytesPerSecond: 19e12,
    // 312 TFLOP/s dense fp16/bf16 tensor-core matmul; 19.5 TFLOP/s fp32 non-matmul:
    // A100 datasheet; FlashAttention-2 §3.1.
    matmulFLOPsPerSecond: 312e12,
    otherFLOPsPerSecond: 19.5e12,
    // 65,536 32-bit registers = 256 KiB per SM: A100 whitepaper, Table 3.
    registerFileInBytes: 256 * kibibyte,
    source: "NVIDIA A100 whitepaper (2020) and datasheet; FlashAttention §2.1; FlashAttention-2 §3.1")

  /// NVIDIA A100 SXM4 80 GB.
  public static let a100_80GB = MachineSpec(
    name: "a100-80gb",
    sramCapacityInBytes: 192 * kibibyte,  // same SM as the 40 GB part (A100 whitepaper)
    streamingMultiprocessors: 108,
    hbmCapacityInBytes: 80 * gigabyte,  // 80 GB HBM2e at 2,039 GB/s: A100 80GB datasheet
    hbmBytesPerSecond: 2.039e12,
    sramBytesPerSecond: 19e12,
    matmulFLOPsPerSecond: 312e12,  // A100 datasheet
    otherFLOPsPerSecond: 19.5e12,
    // Same SM: 256 KiB of registers.
    registerFileInBytes: 256 * kibibyte,
    source: "NVIDIA A100 80GB datasheet (2021)")

  /// NVIDIA H100 SXM5 80 GB.
  public static let h100SXM = MachineSpec(
    name: "h100-sxm",
    // 228 KiB shared memory per SM, 132 SMs, 3.35 TB/s: FlashAttention-3 Table 1 and the
    // NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022).
    sramCapacityInBytes: 228 * kibibyte,
    streamingMultiprocessors: 132,
    hbmCapacityInBytes: 80 * gigabyte,
    hbmBytesPerSecond: 3.35e12,
    sramBytesPerSecond: 31e12,  // FlashAttention-3 Table 1 footnote
    // 989 TFLOP/s dense fp16 matmul (FlashAttention-3 §3.1); 67 TFLOP/s fp32 (H100 datasheet).
    matmulFLOPsPerSecond: 989e12,
    otherFLOPsPerSecond: 67e12,
    // 256 KiB register file per SM (RMEM): FlashAttention-3 Table 1.
    registerFileInBytes: 256 * kibibyte,
    source: "NVIDIA H100 whitepaper (2022) and datasheet; FlashAttention-3 Table 1, §3.1")

  /// NVIDIA H200 SXM 141 GB: the H100 compute die with larger, faster HBM3e.
  public static let h200 = MachineSpec(
    name: "h200",
    sramCapacityInBytes: 228 * kibibyte,  // same Hopper SM as H100
    streamingMultiprocessors: 132,
    hbmCapacityInBytes: 141 * gigabyte,  // 141 GB HBM3e at 4.8 TB/s: H200 datasheet (2023)
    hbmBytesPerSecond: 4.8e12,
    sramBytesPerSecond: 31e12,
    matmulFLOPsPerSecond: 989e12,  // H200 datasheet: same dense fp16 as H100 SXM
    otherFLOPsPerSecond: 67e12,
    // Same Hopper SM: 256 KiB of registers.
    registerFileInBytes: 256 * kibibyte,
    source: "NVIDIA H200 datasheet (2023)")

  /// NVIDIA GeForce RTX 3090.
  public static let rtx3090 = MachineSpec(
    name: "rtx3090",
    // 128 KB L1/shared per SM, 82 SMs, 936 GB/s GDDR6X, 24 GB: NVIDIA Ampere GA102 whitepaper.
    sramCapacityInBytes: 128 * kibibyte,
    streamingMultiprocessors: 82,
    hbmCapacityInBytes: 24 * gigabyte,
    hbmBytesPerSecond: 936e9,
    sramBytesPerSecond: 10e12,  // order-of-magnitude estimate: 82 SMs × 128 B/clk × 1.7 GHz
    // 71 TFLOP/s dense fp16 tensor (fp16 accumulate), 35.6 TFLOP/s fp32: GA102 whitepaper
    // Table 9.
    matmulFLOPsPerSecond: 71e12,
    otherFLOPsPerSecond: 35.6e12,
    // 65,536 32-bit registers = 256 KiB per SM: GA102 whitepaper.
    registerFileInBytes: 256 * kibibyte,
    source: "NVIDIA Ampere GA102 GPU architecture whitepaper (2020)")

  /// NVIDIA T4.
  public static let t4 = MachineSpec(
    name: "t4",
    // 64 KB shared memory per SM (Turing), 40 SMs, 320 GB/s GDDR6, 16 GB: NVIDIA Turing
    // architecture whitepaper (2018) and T4 datasheet.
    sramCapacityInBytes: 64 * kibibyte,
    streamingMultiprocessors: 40,
    hbmCapacityInBytes: 16 * gigabyte,
    hbmBytesPerSecond: 320e9,
    sramBytesPerSecond: 4e12,  // order-of-magnitude estimate: 40 SMs × 64 B/clk × 1.59 GHz
    matmulFLOPsPerSecond: 65e12,  // 65 TFLOP/s fp16 tensor: T4 datasheet
    otherFLOPsPerSecond: 8.1e12,  // 8.1 TFLOP/s fp32: T4 datasheet
    // 65,536 32-bit registers = 256 KiB per SM: Turing whitepaper.
    registerFileInBytes: 256 * kibibyte,
    source: "NVIDIA T4 datasheet; Turing architecture whitepaper (2018)")

  /// A toy machine for lessons: an SRAM of 384 bytes (192 fp16 elements), so a 16×8 problem
  /// needs 4×4 tiles and every transfer can be narrated. It has no separate register file: every
  /// tile, accumulators included, lives in the SRAM. Bandwidths and rates are A100's, so
  /// time estimates stay plausible.
  public static let teaching = MachineSpec(
    name: "teaching",
    sramCapacityInBytes: 384,
    streamingMultiprocessors: 1,
    hbmCapacityInBytes: 1 << 20,
    hbmBytesPerSecond: 1.555e12,
    sramBytesPerSecond: 19e12,
    matmulFLOPsPerSecond: 312e12,
    otherFLOPsPerSecond: 19.5e12,
    source: "made up for teaching; rates copied from a100-40gb")

  /// Every preset, in the order the CLI lists them.
  public static let presets: [MachineSpec] = [
    a100_40GB, a100_80GB, h100SXM, h200, rtx3090, t4, teaching,
  ]

  /// The preset with this name, if any.
  public static func preset(named name: String) -> MachineSpec? {
    presets.first { $0.name == name }
  }
}
