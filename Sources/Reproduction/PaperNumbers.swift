/// Numbers printed in the FlashAttention paper (Dao et al., arXiv:2205.14135 v2 and the NeurIPS 2022
/// camera-ready), with their sources in Docs/PaperSources.md and the comment on each. Typed literals,
/// never parsed at run time.
public enum PaperNumbers {
  /// Figure 2 left (GPT-2 medium: B = 64, H = 16, N = 1024, d = 64, A100), forward + backward.
  public struct Figure2Left: Sendable {
    public var version: String
    public var standardGB: Double
    public var standardGFLOPs: Double
    public var standardMilliseconds: Double
    public var flashGB: Double
    public var flashGFLOPs: Double
    public var flashMilliseconds: Double
  }

  /// arXiv v2 (caption: "GPT-2 medium").
  public static let figure2LeftArXiv = Figure2Left(
    version: "arXiv v2", standardGB: 40.3, standardGFLOPs: 66.6, standardMilliseconds: 41.7,
    flashGB: 4.4, flashGFLOPs: 75.2, flashMilliseconds: 7.3)

  /// NeurIPS camera-ready (caption adds "key-padding mask and no dropout").
  public static let figure2LeftNeurIPS = Figure2Left(
    version: "NeurIPS", standardGB: 35.3, standardGFLOPs: 66.6, standardMilliseconds: 35.1,
    flashGB: 4.4, flashGFLOPs: 75.2, flashMilliseconds: 11.7)

  /// Table 21 (App. E.6): peak memory in MB of forward + backward, A100 40 GB, batch 16, 8 heads,
  /// d = 64, fp16, no dropout or masking. nil where the paper has no entry (out of memory).
  public static let table21: [(sequenceLength: Int, pytorch: Double?, flash: Double)] = [
    (128, 36, 22), (256, 104, 44), (512, 336, 104), (1024, 1184, 209), (2048, 4416, 418),
    (4096, 17024, 836), (8192, nil, 1672), (16384, nil, 3344), (32768, nil, 6688), (65536, nil, 13376),
  ]

  /// Table 11 (App. E.6) at N = 4096, forward + backward with dropout and masking, ms.
  public static let table11FlashMilliseconds4K = 37.49
  public static let table11BlockSparseMilliseconds4K = 4.12
}
