import MemoryHierarchy

/// How the stepper runs one algorithm: the run itself, where its outer iterations end, and a
/// quick lower bound on its step count (so a huge problem is refused before it runs).
///
/// **Adding an algorithm to `Trace.record`, the `Stepper` and `attention-io trace` is one entry
/// in `TraceProgram.registry`.** A dictionary rather than a `switch`, so that a new case of
/// `AttentionAlgorithmKind` never breaks this file: it is simply not traceable until its entry
/// is added.
struct TraceProgram: Sendable {
  /// What is traced, for headings: `FlashAttention forward (Algorithm 1)`.
  let title: String
  /// Runs one head whose Q, K, V are already in HBM; returns the output tensor O.
  let run: @Sendable (inout Machine, _ q: HBMTensor, _ k: HBMTensor, _ v: HBMTensor, BlockSizes, AttentionProblem) throws -> HBMTensor
  /// The title of the section that `event` closes, or nil; `sectionIndex` counts the sections
  /// closed before it.
  let sectionTitle: @Sendable (_ event: MachineEvent, _ sectionIndex: Int, AttentionProblem, BlockSizes) -> String?
  /// A lower bound on the number of events (exact where it is cheap to be).
  let minimumSteps: @Sendable (AttentionProblem, BlockSizes) -> Int

  static let registry: [AttentionAlgorithmKind: TraceProgram] = [
    .standard: .standard,
    .flash: .flash,
    .flash2: .flash2,
    .standardUnfused: .standardUnfused,
  ]

  /// Framework-style standard attention: one kernel per operation. A section ends when a kernel
  /// has written the last block of its output tensor.
  static let standardUnfused = TraceProgram(
    title: "framework-style standard attention forward (one kernel per operation)",
    run: { machine, q, k, v, blocks, problem in
      try UnfusedAttention.forward(
        on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem, context: problem.headContext(0)
      ).output
    },
    sectionTitle: { event, _, _, _ in
      guard case let .store(t) = event, t.rowRange.upperBound == t.tensor.rows, t.columnRange.upperBound == t.tensor.columns else {
        return nil
      }
      return "kernel done: \(t.tensor.name) (\(t.tensor.rows)×\(t.tensor.columns)) written to HBM"
    },
    minimumSteps: { problem, blocks in
      let n = problem.sequenceLength
      return 6 * blocks.queryBlockCount(n) * blocks.keyBlockCount(n)
    })

  /// FlashAttention-2 forward. A section is one outer iteration i: it ends with the store of L_i.
  static let flash2 = TraceProgram(
    title: "FlashAttention-2 forward",
    run: { machine, q, k, v, blocks, problem in
      try FlashAttention2Forward.run(
        on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem, context: problem.headContext(0)
      ).output
    },
    sectionTitle: { event, index, problem, blocks in
      guard case let .store(t) = event, t.tensor.operand == .logSumExp else { return nil }
      return "outer iteration i = \(index): Q_i = queries \(t.rowRange.lowerBound)..<\(t.rowRange.upperBound) met every key block; O_i and L_i written once"
    },
    minimumSteps: { problem, blocks in
      let n = problem.sequenceLength
      let plan = FlashAttention2Forward.tilePlan(blocks: blocks, problem: problem).count
      return 2 * plan + blocks.queryBlockCount(n) * 5
    })

  /// FlashAttention forward (Algorithm 1). A section is one outer iteration j: it ends with the
  /// store of the last m block.
  static let flash = TraceProgram(
    title: "FlashAttention forward (Algorithm 1)",
    run: { machine, q, k, v, blocks, problem in
      try FlashAttentionForward.run(on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem).output
    },
    sectionTitle: { event, index, problem, blocks in
      guard case let .store(t) = event, t.tensor.operand == .rowMax,
        t.rowRange.upperBound == problem.sequenceLength
      else { return nil }
      let n = problem.sequenceLength
      let keys = index * blocks.keyBlockSize..<min(n, (index + 1) * blocks.keyBlockSize)
      return "outer iteration j = \(index): K_j, V_j = keys \(keys.lowerBound)..<\(keys.upperBound) met every query block"
    },
    minimumSteps: { problem, blocks in
      let n = problem.sequenceLength
      let plan = FlashAttentionForward.tilePlan(blocks: blocks, problem: problem).count
      return 2 * plan + blocks.keyBlockCount(n) * (2 + blocks.queryBlockCount(n) * 12)
    })

  /// Standard attention forward (Algorithm 0, tiled). Sections: each block row of S written,
  /// the softmax pass, each block of O written.
  static let standard = TraceProgram(
    title: "standard attention forward (Algorithm 0, tiled)",
    run: { machine, q, k, v, blocks, problem in
      try StandardAttentionForward.run(on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem).output
    },
    sectionTitle: { event, _, problem, blocks in
      guard case let .store(t) = event else { return nil }
      let n = problem.sequenceLength
      let rows = "rows \(t.rowRange.lowerBound)..<\(t.rowRange.upperBound)"
      switch t.tensor.operand {
      case .scores where t.columnRange.upperBound == n:
        return "phase 1, S = τ·QKᵀ: block row i = \(t.rowRange.lowerBound / blocks.queryBlockSize) of S (\(rows)) written to HBM"
      case .probabilities where t.rowRange.upperBound == n && t.columnRange.upperBound == n:
        return "phase 2, P = softmax(S): every row of S read back, P written to HBM"
      case .output:
        return "phase 3, O = PV: block i = \(t.rowRange.lowerBound / blocks.queryBlockSize) of O (\(rows)) written to HBM"
      default:
        return nil
      }
    },
    minimumSteps: { problem, blocks in
      let n = problem.sequenceLength
      return 6 * blocks.queryBlockCount(n) * blocks.keyBlockCount(n)
    })
}
