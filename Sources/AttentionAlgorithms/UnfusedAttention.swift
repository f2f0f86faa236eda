import MemoryHierarchy
import TileKernels

/// Framework-style standard attention (`--algorithm standard-unfused`): what PyTorch runs for
/// `softmax(mask(τ·QKᵀ))·V` with dropout, one kernel per operation, each an HBM round trip. It
/// follows `attention_pytorch` of the FlashAttention repository's benchmark script, the baseline
/// of the paper's Figure 2:
///
/// | forward kernel | reads | writes |
/// |---|---|---|
/// | S = τ·QKᵀ (`baddbmm`, the scale folded into the matmul) | Nd + T_r·Nd | N² |
/// | S ← S + mask (if masked: an additive N×N mask, causal and/or key padding) | 2N² | N² |
/// | P = softmax(S) | N² (2N² if a row does not fit the SRAM) | N² |
/// | P_d, Z = dropout(P) (if p > 0; Z is a 1-byte mask) | N² | N² + N² |
/// | O = P_d·V | N² + T_r·Nd | Nd |
///
/// | backward kernel | reads | writes |
/// |---|---|---|
/// | dV = P_dᵀ·dO | N² + T_c·Nd | Nd |
/// | dP_d = dO·Vᵀ | Nd + T_r·Nd | N² |
/// | dP = dP_d∘Z/(1−p) (if p > 0) | N² + N² | N² |
/// | dS = P∘(dP − rowsum(P∘dP)) | 2N² (4N² in two passes) | N² |
/// | dQ = τ·dS·K | N² + T_r·Nd | Nd |
/// | dK = τ·dSᵀ·Q | N² + T_c·Nd | Nd |
///
/// The mask is added, as in that script, so its backward passes the gradient through with no
/// kernel. Data and the additive mask are in the problem's type; Z is a 1-byte mask. Elementwise kernels stream rows (or, when a row does
/// not fit, column chunks of one row), 1 FLOP per element for the mask and dropout kernels.
public enum UnfusedAttention {
  /// The HBM tensors the forward leaves for the backward.
  public struct ForwardOutputs: Sendable {
    public let probabilities: HBMTensor
    public let droppedProbabilities: HBMTensor
    public let dropoutMask: HBMTensor?
    public let output: HBMTensor
  }

  /// Exact HBM elements per head of each pass.
  public static func closedForm(
    sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, pass: AttentionPass, problem: AttentionProblem,
    softmaxPasses: Int, gradientPasses: Int
  ) -> TrafficCount {
    let tr = blocks.queryBlockCount(n)
    let tc = blocks.keyBlockCount(n)
    let nn = n * n
    let dropout = problem.dropoutProbability > 0
    if pass == .forward {
      var reads = n * d + tr * n * d + softmaxPasses * nn + nn + tr * n * d
      var writes = nn + nn + n * d
      if problem.isMasked {
        reads += 2 * nn
        writes += nn
      }
      if dropout {
        reads += nn
        writes += 2 * nn
      }
      return TrafficCount(readElements: reads, writeElements: writes)
    }
    var reads = nn + tc * n * d + n * d + tr * n * d + 2 * gradientPasses * nn + nn + tr * n * d + nn + tc * n * d
    var writes = n * d + nn + nn + 2 * n * d
    if dropout {
      reads += 2 * nn
      writes += nn
    }
    return TrafficCount(readElements: reads, writeElements: writes)
  }

  public static func forward(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    blocks: BlockSizes, problem: AttentionProblem, context: HeadContext
  ) throws -> ForwardOutputs {
    let n = q.rows
    let t = problem.dataType
    func tensor(_ name: String, _ operand: Operand, _ type: ElementType = t) throws -> HBMTensor {
      try machine.allocateTensor(name, operand: operand, rows: n, columns: n, elementType: type)
    }
    var plain = problem
    plain.dropoutProbability = 0
    // S = τ·QKᵀ.
    var scores = try tensor("S", .scores)
    var (tiles, _, all) = try StandardAttentionForward.allocateMatmulTiles(
      &machine, blocks: blocks, problem: plain, names: ("S_ij", "Q_i", "K_j"), operands: (.scores, .query, .key))
    try TiledMatmul.scores(on: &machine, q, k, into: scores, alpha: problem.softmaxScale, blocks: blocks, tiles: tiles, label: "S = τ·Q·Kᵀ (baddbmm)")
    machine.free(all)
    // S ← S + mask: the additive mask (0 where visible, −∞ where masked) is an N×N tensor, as
    // frameworks expand causal and key-padding masks to [B, 1, N, N].
    if problem.isMasked {
      let additive: [Float]? = machine.executes
        ? (0..<n * n).map { context.isVisible(row: $0 / n, column: $0 % n) ? 0 : -.infinity } : nil
      let mask = try machine.allocateTensor("mask", operand: .other, rows: n, columns: n, elementType: t, contents: additive)
      let masked = try tensor("S+mask", .scores)
      try ElementwisePass.run(
        on: &machine, inputs: [scores, mask], outputs: [masked], label: "S ← S + mask", flopsPerElement: 1
      ) { [scores] chunk in
        let (x, m, out, ld) = (chunk[scores], chunk[mask], chunk[masked], chunk.ld)
        for r in 0..<chunk.rows.count { for c in 0..<chunk.columns.count { out[r * ld + c] = x[r * ld + c] + m[r * ld + c] } }
      }
      machine.freeTensor(scores)
      machine.freeTensor(mask)
      scores = masked
    }
    // P = softmax(S).
    let probabilities = try tensor("P", .probabilities)
    try StandardAttentionForward.softmax(
      on: &machine, scores: scores, probabilities: probabilities, dropoutMask: nil, problem: plain, context: context)
    machine.freeTensor(scores)
    // P_d, Z = dropout(P).
    var dropped = probabilities
    var dropoutMask: HBMTensor?
    if context.dropout.isActive {
      dropped = try tensor("P_d", .probabilities)
      let z = try tensor("Z", .dropoutMask, .u8)
      dropoutMask = z
      try ElementwisePass.run(
        on: &machine, inputs: [probabilities], outputs: [dropped, z], label: "P_d, Z = dropout(P)", flopsPerElement: 1
      ) { [dropped] chunk in
        let (p, pd, flags, ld) = (chunk[probabilities], chunk[dropped], chunk[z], chunk.ld)
        let (rows, columns) = (chunk.rows, chunk.columns)
        for r in 0..<rows.count {
          for c in 0..<columns.count {
            let keep = context.dropout.keeps(row: rows.lowerBound + r, column: columns.lowerBound + c)
            flags[r * ld + c] = keep ? 1 : 0
            pd[r * ld + c] = keep ? p[r * ld + c] * context.dropout.keepScale : 0
          }
        }
      }
    }
    // O = P_d·V.
    let output = try machine.allocateTensor("O", operand: .output, rows: n, columns: q.columns, elementType: t)
    (tiles, _, all) = try StandardAttentionForward.allocateMatmulTiles(
      &machine, blocks: blocks, problem: plain, names: ("P_ij", "O_i", "V_j"), operands: (.probabilities, .output, .value))
    try TiledMatmul.rowsTimes(on: &machine, dropped, v, into: output, alpha: 1, blocks: blocks, tiles: tiles, label: "O = P_d·V (bmm)")
    machine.free(all)
    return ForwardOutputs(probabilities: probabilities, droppedProbabilities: dropped, dropoutMask: dropoutMask, output: output)
  }

  public static func backward(
    on machine: inout Machine, queries q: HBMTensor, keys k: HBMTensor, values v: HBMTensor,
    forward: ForwardOutputs, outputGradient dO: HBMTensor, blocks: BlockSizes, problem: AttentionProblem,
    context: HeadContext
  ) throws -> FlashAttentionBackward.Gradients {
    let n = q.rows
    let d = q.columns
    let t = problem.dataType
    var plain = problem
    plain.dropoutProbability = 0
    let gradients = FlashAttentionBackward.Gradients(
      queryGradient: try machine.allocateTensor("dQ", operand: .queryGradient, rows: n, columns: d, elementType: t),
      keyGradient: try machine.allocateTensor("dK", operand: .keyGradient, rows: n, columns: d, elementType: t),
      valueGradient: try machine.allocateTensor("dV", operand: .valueGradient, rows: n, columns: d, elementType: t))
    func matmul(_ names: (String, String, String), _ operands: (Operand, Operand, Operand), _ body: (inout Machine, TiledMatmul.Tiles) throws -> Void) throws {
      let (tiles, _, all) = try StandardAttentionForward.allocateMatmulTiles(&machine, blocks: blocks, problem: plain, names: names, operands: operands)
      try body(&machine, tiles)
      machine.free(all)
    }
    try matmul(("P_ij", "dO_i", "dV_j"), (.probabilities, .outputGradient, .valueGradient)) { machine, tiles in
      try TiledMatmul.columnsTimes(on: &machine, forward.droppedProbabilities, dO, into: gradients.valueGradient, alpha: 1, blocks: blocks, tiles: tiles, label: "dV = P_dᵀ·dO")
    }
    var dP = try machine.allocateTensor("dP_d", operand: .probabilitiesGradient, rows: n, columns: n, elementType: t)
    try matmul(("dP_ij", "dO_i", "V_j"), (.probabilitiesGradient, .outputGradient, .value)) { machine, tiles in
      try TiledMatmul.scores(on: &machine, dO, v, into: dP, alpha: 1, blocks: blocks, tiles: tiles, label: "dP_d = dO·Vᵀ")
    }
    if let z = forward.dropoutMask {
      let undropped = try machine.allocateTensor("dP", operand: .probabilitiesGradient, rows: n, columns: n, elementType: t)
      let scale = context.dropout.keepScale
      try ElementwisePass.run(
        on: &machine, inputs: [dP, z], outputs: [undropped], label: "dP = dP_d∘Z/(1−p)", flopsPerElement: 1
      ) { [dP] chunk in
        let (g, flags, out, ld) = (chunk[dP], chunk[z], chunk[undropped], chunk.ld)
        for r in 0..<chunk.rows.count { for c in 0..<chunk.columns.count { out[r * ld + c] = g[r * ld + c] * flags[r * ld + c] * scale } }
      }
      machine.freeTensor(dP)
      dP = undropped
    }
    let dS = try machine.allocateTensor("dS", operand: .scoresGradient, rows: n, columns: n, elementType: t)
    try StandardAttentionBackward.softmaxGradient(on: &machine, probabilities: forward.probabilities, dP: dP, dS: dS, problem: problem)
    try matmul(("dS_ij", "dQ_i", "K_j"), (.scoresGradient, .queryGradient, .key)) { machine, tiles in
      try TiledMatmul.rowsTimes(on: &machine, dS, k, into: gradients.queryGradient, alpha: problem.softmaxScale, blocks: blocks, tiles: tiles, label: "dQ = τ·dS·K")
    }
    try matmul(("dS_ij", "Q_i", "dK_j"), (.scoresGradient, .query, .keyGradient)) { machine, tiles in
      try TiledMatmul.columnsTimes(on: &machine, dS, q, into: gradients.keyGradient, alpha: problem.softmaxScale, blocks: blocks, tiles: tiles, label: "dK = τ·dSᵀ·Q")
    }
    return gradients
  }
}
