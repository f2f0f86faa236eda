import AttentionIO

extension Lessons {
  /// The block-sparse mask gallery: each pattern family on a 16 × 16 block grid, what it keeps,
  /// and what it saves in HBM traffic (count mode, N = 256, d = 16, 16 × 16 blocks). It checks
  /// Proposition 4 as it goes: traffic minus 2Nd is (3·Br·d + 4·Br) per nonzero block.
  public static func maskGallery() throws -> String {
    let (n, d, b) = (256, 16, 16)
    let problem = try AttentionProblem(sequenceLength: n, headDimension: d, dataType: .fp16, seed: 1)
    let blocks = BlockSizes(queryBlockSize: b, keyBlockSize: b)
    let patterns: [(BlockMaskPattern, String)] = [
      (.dense, "every block: plain FlashAttention"),
      (.causal, "blocks with a key at or before a query: decoder attention at block granularity"),
      (.local(width: 2), "a sliding window |j − i| < 2 (Longformer-style local attention)"),
      (.strided(stride: 4), "every 4th block along the diagonal (Sparse Transformers, strided)"),
      (.butterfly, "i ⊕ j with at most one bit set (the flat butterfly of the paper's experiments)"),
      (.globalLocal(global: 1, window: 2), "one global block row and column plus a window (BigBird, Longformer)"),
      (.sinksWindow(sinks: 1, window: 3), "an attention sink plus the 3 most recent blocks (StreamingLLM)"),
      (.random(density: 0.25), "a quarter of the blocks at random (seed 1)"),
    ]
    var text = title("Block-sparse mask gallery")
    text += """
      Block-sparse FlashAttention (Algorithm 5) computes only the blocks a mask keeps. Each pattern below is
      drawn on a 16 × 16 grid of 16 × 16 blocks (N = 256, d = 16, fp16): '#' is computed, '.' skipped. Per
      nonzero block the forward pass moves 3·Br·d + 4·Br = \(3 * b * d + 4 * b) elements (Q_i, O_i, ℓ_i, m_i in,
      O_i, ℓ_i, m_i out), on top of 2Nd = \(2 * n * d) for K and V: traffic is affine in the density.

      """
    let spec = MachineSpec.a100_40GB
    var densePerHead = 0
    for (pattern, meaning) in patterns {
      let result = try Simulator.run(SimulationRequest(
        algorithm: .blockSparse, problem: problem, machine: spec, blocks: blocks, sparsity: BlockSparsity(pattern: pattern)))
      let mask = try result.blockMask.orThrow()
      let elements = result.headLedger.hbmElements
      if case .dense = pattern { densePerHead = elements }
      try claim(elements - 2 * n * d == mask.nonzeroBlocks * (3 * b * d + 4 * b), "\(pattern): traffic − 2Nd is proportional to the nonzero blocks")
      text += heading("\(pattern): \(meaning)")
      text += mask.description + "\n\n"
      let share = Double(elements) / Double(max(densePerHead, 1)) * 100
      text += "\(mask.nonzeroBlocks) of \(mask.totalBlocks) blocks (density \(String(format: "%.3f", mask.density))); "
        + "HBM traffic \(elements) elements, \(String(format: "%.1f", share))% of dense.\n"
    }
    text += """

      Run one yourself, with real math and the error against dense attention:
        attention-io simulate --algorithm block-sparse --mask butterfly --seq-len 256 --head-dim 16 --mode execute --input-distribution local

      """
    return text
  }
}

extension Optional {
  /// The wrapped value, or a failed claim.
  func orThrow() throws -> Wrapped {
    guard let value = self else { throw LessonError.claimFailed("a value was missing") }
    return value
  }
}
