import Foundation
import AttentionAlgorithms
import MemoryHierarchy

/// The limits of a whole simulated run: block steps, count ranges and memory, checked before it
/// starts (the problem's and algorithm's own sizes are checked in `AttentionAlgorithms`).
extension SimulationLimits {
  /// The block steps a run simulates: T_r·T_c per pass and per head simulated (one head per
  /// distinct shape in count mode, every head in execute mode), plus standard attention's
  /// elementwise chunks. Throws when a count would not fit in 64 bits or the steps exceed
  /// `maximumBlockSteps`.
  public static func checkRun(
    _ request: SimulationRequest, blocks: [AttentionSchedule.Pass: BlockSizes], simulatedHeads: Int
  ) throws -> Int {
    let problem = request.problem
    let n = problem.sequenceLength
    let d = problem.headDimension
    var steps = 0
    var trafficBound = 0.0
    for pass in request.passesRun {
      guard let b = blocks[pass] else { continue }
      let tr = b.queryBlockCount(n)
      let tc = b.keyBlockCount(n)
      let grid = try SizeLimits.product(
        "the block grid of the \(pass.rawValue) pass (T_r × T_c)", [tr, tc], limit: Int.max, limitText: "2^63 − 1 blocks", unit: "blocks")
      var passSteps = grid
      if KernelRegistry.kernel(request.algorithm, pass: pass).storesAttentionMatrices {
        // Row-wise elementwise passes over S in chunks of at most the SRAM.
        let chunk = max(1, min(n, request.machine.sramCapacityInBytes / max(1, problem.dataType.byteWidth + 8)))
        passSteps = SizeLimits.saturatingSum(passSteps, SizeLimits.saturatingProduct(n, (n + chunk - 1) / chunk))
        passSteps = SizeLimits.saturatingProduct(passSteps, max(1, (d + b.keyBlockSize - 1) / b.keyBlockSize))
      }
      steps = SizeLimits.saturatingSum(steps, passSteps)
      // Traffic: K, V (or Q, O) re-read once per outer block, plus S, P for standard attention;
      // FLOPs: a few N²·d. Generous, in floating point, so nothing here can overflow.
      let nd = Double(n) * Double(d)
      let traffic = (Double(tr) + Double(tc) + 8) * nd * 8 + 16 * Double(n) * Double(n)
      let flops = 16 * Double(n) * Double(n) * Double(d + 8)
      trafficBound += max(traffic, flops) * 2
    }
    let total = SizeLimits.saturatingProduct(steps, simulatedHeads)
    let allHeads = trafficBound * Double(problem.batch) * Double(problem.heads)
    guard allHeads < Double(maximumCount) else {
      throw SizeLimitError(
        kind: .unrepresentable, quantity: "the run's HBM traffic and FLOP counts (estimated, all heads)",
        value: "about \(SizeLimits.scientific(allHeads))", limit: "2^62, the range of 64-bit counts",
        hint: "lower --seq-len, --head-dim, --batch or --heads")
    }
    guard total <= maximumBlockSteps else {
      throw SizeLimitError(
        kind: .resource, quantity: "the block steps to simulate (T_r × T_c per pass, \(simulatedHeads) head\(simulatedHeads == 1 ? "" : "s") simulated)",
        value: total == Int.max ? "more than 2^63" : "\(total)", limit: "\(maximumBlockSteps) steps (about ten minutes)",
        hint: "lower --seq-len, or use larger blocks (a larger --sram-bytes)")
    }
    return total
  }

  /// Bytes of real memory a run needs, estimated before it starts: per head in flight its
  /// tensors (fp32, plus S and P for standard attention), its tiles and its float64 check; the
  /// block mask of a block-sparse run; and the outputs it keeps.
  public static func estimatedMemory(_ request: SimulationRequest, blocks: [AttentionSchedule.Pass: BlockSizes], simulatedHeads: Int) -> Int {
    let problem = request.problem
    let n = problem.sequenceLength
    let d = problem.headDimension
    let nd = SizeLimits.saturatingProduct(n, d)
    var perHead = 0
    var maskBytes = 0
    for pass in request.passesRun {
      guard let b = blocks[pass] else { continue }
      maskBytes = max(maskBytes, SizeLimits.saturatingProduct(b.queryBlockCount(n), b.keyBlockCount(n)))
    }
    if !KernelRegistry.algorithm(request.algorithm).sharesBlocksAcrossPasses { maskBytes = 0 }
    guard request.mode == .execute else { return maskBytes }
    let backward = request.pass.includesBackward
    // Q, K, V, O (and dO, dQ, dK, dV) in HBM, the seeded inputs they are made from, and the
    // statistics.
    let tensors = backward ? 8 : 4
    perHead = SizeLimits.saturatingProduct(nd, 4 * (tensors + 4))
    perHead = SizeLimits.saturatingSum(perHead, SizeLimits.saturatingProduct(n, 4 * 4))
    if KernelRegistry.algorithm(request.algorithm).storesAttentionMatrices {
      let nn = SizeLimits.saturatingProduct(n, n)
      perHead = SizeLimits.saturatingSum(perHead, SizeLimits.saturatingProduct(nn, 4 * (backward ? 4 : 2)))
    }
    // The float64 check: its outputs, and one row of probabilities.
    perHead = SizeLimits.saturatingSum(perHead, SizeLimits.saturatingProduct(nd, 8 * (backward ? 4 : 1)))
    perHead = SizeLimits.saturatingSum(perHead, SizeLimits.saturatingProduct(n, 8 * 2))
    // On-chip tiles: at most the SRAM and register file, in fp32, but only as far as used.
    var tiles = 0
    for pass in request.passesRun {
      guard let b = blocks[pass] else { continue }
      let plan = AttentionSchedule.tilePlan(request.algorithm, pass: pass, blocks: b, problem: problem)
      let elements = plan.reduce(0) { SizeLimits.saturatingSum($0, SizeLimits.saturatingProduct($1.rows, $1.columns)) }
      tiles = max(tiles, SizeLimits.saturatingProduct(elements, 4))
    }
    perHead = SizeLimits.saturatingSum(perHead, tiles)
    let inFlight = max(1, min(request.threads, simulatedHeads))
    var total = SizeLimits.saturatingProduct(perHead, inFlight)
    total = SizeLimits.saturatingSum(total, maskBytes)
    if request.keepOutputs {
      let kept = SizeLimits.saturatingProduct(SizeLimits.saturatingProduct(nd, problem.headCount), 4 * (backward ? 4 : 1) * 2)
      total = SizeLimits.saturatingSum(total, kept)
    }
    return total
  }

  /// Throws `SizeLimitError.resource` when the estimate exceeds `limit`.
  public static func checkMemory(
    _ request: SimulationRequest, blocks: [AttentionSchedule.Pass: BlockSizes], simulatedHeads: Int, limit: Int
  ) throws {
    let estimate = estimatedMemory(request, blocks: blocks, simulatedHeads: simulatedHeads)
    guard estimate <= limit else {
      throw SizeLimitError(
        kind: .resource, quantity: "the estimated memory of this \(request.mode.rawValue)-mode run",
        value: estimate == Int.max ? "more than 2^63 bytes" : "\(estimate) bytes (\(SizeLimits.scientific(Double(estimate))))",
        limit: "\(limit) bytes (\(SizeLimits.scientific(Double(limit))))",
        hint: request.mode == .execute ? "lower --seq-len or --threads, or use count mode" : "lower --seq-len")
    }
  }
}
