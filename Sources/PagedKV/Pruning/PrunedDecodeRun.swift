import AttentionAlgorithms
import Dispatch
import Foundation
import MemoryHierarchy

/// A decode run: a prompt of P tokens already in the paged cache, then T generated tokens, each
/// step writing its token's K and V and attending through the block table, under a pruning policy.
public struct PrunedDecodeRequest: Sendable {
  /// P, prompt tokens in the cache before the first step.
  public var promptLength: Int
  /// T, decode steps; step i writes token P + i − 1 and attends over L = P + i tokens.
  public var steps: Int
  public var configuration: PagedDecodeConfiguration
  public var machine: MachineSpec
  /// Count mode moves no data (decisions and accuracy still come from host float64); execute
  /// mode also runs the kernels' arithmetic and checks it against float64 on the tokens read.
  public var mode: ExecutionMode
  /// Seed of the scattered physical block order.
  public var seed: UInt64

  public init(
    promptLength: Int, steps: Int, configuration: PagedDecodeConfiguration, machine: MachineSpec = .a100_40GB,
    mode: ExecutionMode = .count, seed: UInt64 = 0
  ) {
    self.promptLength = promptLength
    self.steps = steps
    self.configuration = configuration
    self.machine = machine
    self.mode = mode
    self.seed = seed
  }

  /// P + T, the context after the last step.
  public var maximumContext: Int { promptLength + steps }

  /// The most tokens a run may hold (P + T).
  public static let maximumTokens = 1 << 20
  /// The most input values, (h_q + 2·h_kv)·(P + T)·d: the host keeps them in float32 and float64
  /// (3 GiB at this bound).
  public static let maximumInputValues = 1 << 28

  /// The input values a run needs.
  public var inputValues: Int {
    let c = configuration
    return (c.queryHeads + 2 * c.keyValueHeads) * maximumContext * c.headDimension
  }

  /// - Throws: `PagedKVError.invalidArgument` unless P ≥ 1, T ≥ 1, P + T ≤ 2²⁰ and the inputs
  ///   hold P + T tokens of the configuration's head sizes.
  public func validate(_ inputs: DecodeInputs) throws {
    guard promptLength >= 1, steps >= 1, promptLength <= Self.maximumTokens, steps <= Self.maximumTokens,
      maximumContext <= Self.maximumTokens
    else {
      throw PagedKVError.invalidArgument(
        "a run needs a prompt ≥ 1, steps ≥ 1 and at most \(Self.maximumTokens) tokens in all, got P=\(promptLength), T=\(steps)")
    }
    let c = configuration
    guard inputValues <= Self.maximumInputValues else {
      throw PagedKVError.invalidArgument(
        "the run needs \(inputValues) input values ((h_q + 2·h_kv)·(P + T)·d); at most \(Self.maximumInputValues) are simulated")
    }
    guard inputs.headDimension == c.headDimension, inputs.queryHeads == c.queryHeads, inputs.keyValueHeads == c.keyValueHeads else {
      throw PagedKVError.invalidArgument(
        "inputs have d=\(inputs.headDimension), h_q=\(inputs.queryHeads), h_kv=\(inputs.keyValueHeads); "
          + "the run has d=\(c.headDimension), h_q=\(c.queryHeads), h_kv=\(c.keyValueHeads)")
    }
    guard inputs.tokenCount >= maximumContext else {
      throw PagedKVError.invalidArgument(
        "inputs hold \(inputs.tokenCount) tokens; prompt \(promptLength) + steps \(steps) need \(maximumContext)")
    }
  }
}

/// The structural counts of one step, from which its traffic follows (`PrunedDecodeRun.closedForm`).
public struct PrunedStepShape: Hashable, Sendable {
  /// Pages each work item reads (every work item reads as many).
  public var pagesRead = 0
  /// Pages whose key bounds were written this step (Quest: the page the new token filled).
  public var summarizedPages = 0
  /// Pages whose bounds each work item read to rank them (0 when no selection ran).
  public var candidatePages = 0
  /// Block-table entries each work item's selection gathered and wrote (0 when none ran).
  public var selectedPages = 0
  /// Pages whose logits were kept and accumulated (H2O while tracking), and whether the new
  /// token's accumulator slot was cleared.
  public var scoredPages = 0
  public var clearedScoreSlots = 0
  /// Tokens copied by compaction.
  public var movedTokens = 0

  public init() {}
}

/// What one step measured.
public struct PrunedDecodeStep: Sendable {
  /// 1-based step and its context length L.
  public let step: Int
  public let contextLength: Int
  public let shape: PrunedStepShape
  /// The step's HBM traffic and FLOPs.
  public let ledger: IOLedger
  /// Pages and tokens held after the step.
  public let residentPages: Int
  public let residentTokens: Int
  /// KV bytes held (pages × 2·B·h_kv·d·b) and policy state held (key bounds, score accumulators).
  public let keyValueBytesHeld: Int
  public let stateBytesHeld: Int
  public let evictedPages: Int
  public let evictedTokens: Int
  /// Share of the held slots that token eviction left as holes before compaction filled them.
  public let holeShare: Double
  /// ‖O_policy − O_full‖ / ‖O_full‖ over all query heads, in float64.
  public let relativeError: Double
  /// Share of full attention's softmax mass on the tokens read, averaged over query heads.
  public let recall: Double
  /// Execute mode: max|O_kernel − O_policy| / max|O_policy|, the kernel against float64 on the
  /// same tokens.
  public let kernelError: Double?
  /// Execute mode: the kernel's output, h_q × d.
  public let output: [Float]?

  public var readBytes: Int { ledger.hbmReadBytes }
  public var writeBytes: Int { ledger.hbmWriteBytes }
  public var bytesHeld: Int { keyValueBytesHeld + stateBytesHeld }
}

/// A whole run under one policy.
public struct PrunedDecodeResult: Sendable {
  public let policy: String
  /// Whether the policy pruned anything in this run (false: it ran exactly as full).
  public let active: Bool
  public let request: PrunedDecodeRequest
  /// Traffic after the prefill, before the first step (Quest: the prompt pages' bounds).
  public let setupLedger: IOLedger
  public let steps: [PrunedDecodeStep]
  public let peakSRAMBytes: Int
  public let wallSeconds: Double

  public var totalLedger: IOLedger {
    var total = IOLedger()
    for s in steps { total.add(s.ledger) }
    return total
  }
  public var readBytes: Int { steps.reduce(0) { $0 + $1.readBytes } }
  public var writeBytes: Int { steps.reduce(0) { $0 + $1.writeBytes } }
  public var meanReadBytesPerStep: Double { Double(readBytes) / Double(steps.count) }
  public var meanRelativeError: Double { steps.reduce(0) { $0 + $1.relativeError } / Double(steps.count) }
  public var maxRelativeError: Double { steps.map(\.relativeError).max() ?? 0 }
  public var meanRecall: Double { steps.reduce(0) { $0 + $1.recall } / Double(steps.count) }
  public var minRecall: Double { steps.map(\.recall).min() ?? 1 }
  public var finalBytesHeld: Int { steps.last?.bytesHeld ?? 0 }
  public var peakBytesHeld: Int { steps.map(\.bytesHeld).max() ?? 0 }
  public var movedTokens: Int { steps.reduce(0) { $0 + $1.shape.movedTokens } }
  /// Bytes read and written by compaction copies (K, V and the moved accumulators).
  public var copyBytes: Int {
    let c = request.configuration
    let perToken = 2 * (2 * c.keyValueHeads * c.headDimension * c.dataType.byteWidth + PagedDecodeConfiguration.accumulatorType.byteWidth)
    return movedTokens * perToken
  }
  public var meanHoleShare: Double { steps.reduce(0) { $0 + $1.holeShare } / Double(steps.count) }
  public var maxKernelError: Double? {
    let errors = steps.compactMap(\.kernelError)
    return errors.isEmpty ? nil : errors.max()
  }
}

/// Runs decode under a pruning policy on the paged KV cache, counting every step, and measures
/// its accuracy against full attention in float64.
///
/// Per step i (L = P + i):
///
/// ```
/// append token L − 1 to the last page (a fresh block when it is full)
/// policy: free pages (streaming)
/// store k_new, v_new (PagedDecodeAttention.writeNewToken)                    2·h_kv·d
/// the new token filled its page and the policy keeps bounds:
///   per KV head load K of the page, store min and max                         h_kv·B·d | 2·h_kv·d
/// Quest with more than K pages, per work item:
///   load the bounds of the n − 1 full pages (rank them on chip)               2·d·(n − 1)
///   load the K chosen block-table entries, store them as a compact table      K | K
/// attention (PagedDecodeAttention.attend and reduce) over the pages read,
///   storing the masked logits when the policy accumulates scores              h_q·n·B (fp32)
/// H2O: clear the new slot's accumulator (1); per page, load logits twice and
///   the accumulators once, store the accumulators                             2·h_q·n·B + n·B | n·B
/// H2O: evict tokens, compaction copies each moved token's K, V, accumulator   2·h_kv·d + 1 | same
/// ```
public enum PrunedDecodeRun {
  /// Runs `spec` on `inputs`. `reference` (full attention in float64) is computed when nil.
  /// `progress` is called after each step with (step, steps).
  /// - Throws: `PagedKVError` for inputs that do not fit the request, `MachineError` for faults.
  public static func run(
    _ spec: PruningPolicySpec, request: PrunedDecodeRequest, inputs: DecodeInputs, reference: FullDecodeReference? = nil,
    progress: ((Int, Int) -> Void)? = nil
  ) throws -> PrunedDecodeResult {
    switch spec {
    case .full: return try run(policy: FullAttentionPolicy(), request: request, inputs: inputs, reference: reference, progress: progress)
    case let .quest(k): return try run(policy: QuestPolicy(pages: k), request: request, inputs: inputs, reference: reference, progress: progress)
    case let .streaming(s, w):
      return try run(policy: StreamingPolicy(sinks: s, window: w), request: request, inputs: inputs, reference: reference, progress: progress)
    case let .heavyHitters(b, w):
      return try run(policy: HeavyHitterPolicy(budget: b, window: w), request: request, inputs: inputs, reference: reference, progress: progress)
    }
  }

  /// Runs one policy (generic, so the step loop calls it without an existential).
  public static func run<Policy: DecodePruningPolicy>(
    policy initial: Policy, request: PrunedDecodeRequest, inputs raw: DecodeInputs, reference given: FullDecodeReference? = nil,
    progress: ((Int, Int) -> Void)? = nil
  ) throws -> PrunedDecodeResult {
    let start = DispatchTime.now()
    try request.validate(raw)
    try request.machine.validate()
    var policy = initial
    let c = request.configuration
    let inputs = try raw.rounded(to: c.dataType)
    let host = HostDecodeAttention(inputs: inputs, scale: c.softmaxScale)
    let reference = given ?? FullDecodeReference(host: host, request: request)
    guard reference.promptLength == request.promptLength, reference.steps == request.steps,
      reference.outputs.first?.count == c.queryHeads * c.headDimension
    else {
      throw PagedKVError.invalidArgument("the full-attention reference was computed for another run")
    }
    let (b, d, hkv, hq) = (c.blockSize, c.headDimension, c.keyValueHeads, c.queryHeads)
    let n = inputs.tokenCount
    let (w, r) = (c.workItemsPerSequence, c.rowsPerWorkItem)
    let p0 = request.promptLength
    let blockCount = c.blockCount(contextLength: request.maximumContext)
    guard blockCount <= PagedDecodeSimulator.maximumPoolBlocks else {
      throw PagedKVError.invalidArgument("the run needs \(blockCount) blocks; at most \(PagedDecodeSimulator.maximumPoolBlocks) are simulated")
    }
    let cacheConfiguration = try c.cacheConfiguration(blockCount: blockCount)
    var order = Array(0..<blockCount)
    var shuffler = SeededRandom(seed: request.seed ^ 0x5CA7_7E4E_D0B1_0C45)
    order.shuffle(using: &shuffler)
    var cache = PrunedKVCache(blockSize: b, allocationOrder: order)
    for t in 0..<p0 { try cache.append(position: t) }

    let active = policy.prepare(maximumContext: request.maximumContext, configuration: c)
    let needs = policy.needs
    let keepsBounds = needs.contains(.pageKeyBounds)
    let keepsScores = needs.contains(.attentionScores)

    var machine = Machine(spec: request.machine, mode: request.mode)
    let executes = machine.executes
    var keyPool: [Float]?
    var valuePool: [Float]?
    if executes {
      var kp = [Float](repeating: .nan, count: blockCount * hkv * b * d)
      var vp = kp
      for slot in 0..<cache.tokenCount {
        let page = cache.pages[slot / b]
        let t = page.positions[slot % b]
        for g in 0..<hkv {
          let row = cacheConfiguration.poolRow(block: page.physicalBlock, head: g, slot: slot % b)
          let source = (g * n + t) * d
          for x in 0..<d {
            kp[row * d + x] = inputs.keys[source + x]
            vp[row * d + x] = inputs.values[source + x]
          }
        }
      }
      keyPool = kp
      valuePool = vp
    }
    let pool = try KVPool.allocate(on: &machine, configuration: cacheConfiguration, keyContents: keyPool, valueContents: valuePool)
    let tiles = try PagedDecodeAttention.allocateTiles(on: &machine, c)
    var kernels = PruningKernels(configuration: c, pool: pool, blockCount: blockCount)
    try kernels.allocate(on: &machine, bounds: keepsBounds, scores: keepsScores)
    var hostBounds = keepsBounds ? PageKeyBounds(blockCount: blockCount, keyValueHeads: hkv, headDimension: d) : nil

    // After the prefill: the prompt's full pages get their bounds.
    if keepsBounds {
      for (i, page) in cache.pages.enumerated() where page.positions.count == b {
        try kernels.summarize(page: i, cache: cache, inputs: inputs, on: &machine, tiles: tiles, host: &hostBounds!)
      }
    }
    let setupLedger = machine.ledger

    var steps: [PrunedDecodeStep] = []
    steps.reserveCapacity(request.steps)
    var scratchScores: [Double] = []
    var scratchOutput: [Double] = []
    for i in 1...request.steps {
      let before = machine.ledger
      let position = p0 + i - 1
      let l = p0 + i
      var shape = PrunedStepShape()
      try cache.append(position: position)
      var queries = [Float](repeating: 0, count: hq * d)
      for h in 0..<hq {
        for x in 0..<d { queries[h * d + x] = inputs.queries[(h * n + position) * d + x] }
      }
      func view() -> PruningView {
        PruningView(step: i, contextLength: l, cache: cache, configuration: c, queries: queries, keyBounds: hostBounds)
      }
      let doomedPages = policy.pagesToEvict(view())
      guard Set(doomedPages).count == doomedPages.count, doomedPages.allSatisfy({ $0 >= 0 && $0 < cache.pageCount - 1 }) else {
        throw PagedKVError.invariantViolated("\(policy.name) may evict only distinct pages before the last, asked for \(doomedPages)")
      }
      if !doomedPages.isEmpty { cache.evictPages(doomedPages) }

      let fullTable = cache.fullTable
      let tensors = try PagedDecodeAttention.allocateTensors(
        on: &machine, configuration: c, tables: [fullTable], queries: executes ? queries : nil)
      var newKeys: [Float]?
      var newValues: [Float]?
      if executes {
        var k: [Float] = []
        var v: [Float] = []
        for g in 0..<hkv {
          let source = (g * n + position) * d
          k += inputs.keys[source..<(source + d)]
          v += inputs.values[source..<(source + d)]
        }
        (newKeys, newValues) = (k, v)
      }
      try PagedDecodeAttention.writeNewToken(
        on: &machine, pool: pool, sequence: .init(table: fullTable, newKeys: newKeys, newValues: newValues), configuration: c,
        tiles: tiles)
      if keepsScores {
        try kernels.clearAccumulator(slot: cache.tokenCount - 1, cache: cache, on: &machine)
        shape.clearedScoreSlots = 1
      }
      if keepsBounds, cache.pages[cache.pageCount - 1].positions.count == b {
        try kernels.summarize(page: cache.pageCount - 1, cache: cache, inputs: inputs, on: &machine, tiles: tiles, host: &hostBounds!)
        shape.summarizedPages = 1
      }

      // Which pages each work item reads.
      let pageCount = cache.pageCount
      let selection = policy.pagesToRead(view())
      let reads = selection ?? Array(repeating: Array(0..<pageCount), count: w)
      guard reads.count == w, let pagesRead = reads.first?.count,
        pagesRead > 0, reads.allSatisfy({ pages in
          pages.count == pagesRead && pages.last! < pageCount && zip(pages, pages.dropFirst()).allSatisfy { $0 < $1 } && pages[0] >= 0
        })
      else {
        throw PagedKVError.invariantViolated(
          "\(policy.name) must choose, for each of the \(w) work items, as many ascending pages of the cache")
      }
      shape.pagesRead = pagesRead
      if keepsScores && selection != nil {
        // Scores are attributed slot by slot over every resident page.
        throw PagedKVError.invariantViolated("\(policy.name) both selects pages and accumulates scores, which the run does not support")
      }
      var compactTables: [HBMTensor] = []
      if let selection {
        shape.candidatePages = pageCount - 1
        shape.selectedPages = pagesRead
        compactTables = try kernels.select(
          selection, cache: cache, blockTable: tensors.blockTable, on: &machine, tiles: tiles)
      }

      // Attention, per work item over its pages.
      let logits: HBMTensor? = keepsScores
        ? try machine.allocateTensor(
          "logits", operand: .scores, rows: hq, columns: pageCount * b, elementType: PagedDecodeConfiguration.accumulatorType)
        : nil
      for item in 0..<w {
        let table = selection == nil ? fullTable : cache.table(reading: reads[item])
        let itemTensors = selection == nil
          ? tensors
          : PagedDecodeAttention.Tensors(
            queries: tensors.queries, output: tensors.output, blockTable: compactTables[item],
            partialOutput: tensors.partialOutput, logSumExp: tensors.logSumExp)
        let partitions = c.partitions(contextLength: table.tokenCount)
        for p in 0..<partitions {
          try PagedDecodeAttention.attend(
            on: &machine, pool: pool, tensors: itemTensors, sequenceIndex: 0, table: table, workItem: item, partition: p,
            of: partitions, configuration: c, tiles: tiles, scores: logits)
        }
        if partitions > 1 {
          try PagedDecodeAttention.reduce(
            on: &machine, tensors: itemTensors, sequenceIndex: 0, workItem: item, partitions: partitions, configuration: c, tiles: tiles)
        }
      }
      if let logits {
        try kernels.accumulate(logits: logits, cache: cache, on: &machine)
        shape.scoredPages = pageCount
      }

      // Accuracy in float64: each head over the tokens its work item read.
      let kernelOutput = executes ? machine.contents(of: tensors.output) : nil
      let readPositions = reads.map { pages in pages.flatMap { cache.pages[$0].positions } }
      let fullOutput = reference.outputs[i - 1]
      let fullLogSumExp = reference.logSumExps[i - 1]
      var errorSquared = 0.0
      var referenceSquared = 0.0
      var recall = 0.0
      var kernelError = MaxRelativeError()
      var attention = keepsScores ? [Double](repeating: 0, count: cache.tokenCount) : []
      for h in 0..<hq {
        let positions = readPositions[h / r]
        let lse = host.attend(head: h, queryPosition: position, positions: positions, scores: &scratchScores, output: &scratchOutput)
        var mass = 0.0
        for k in positions.indices { mass += Foundation.exp(scratchScores[k] - fullLogSumExp[h]) }
        recall += mass
        if keepsScores {
          // H2O reads every page, so entry k of the read set is slot k.
          for k in positions.indices { attention[k] += Foundation.exp(scratchScores[k] - lse) }
        }
        for x in 0..<d {
          let diff = scratchOutput[x] - fullOutput[h * d + x]
          errorSquared += diff * diff
          referenceSquared += fullOutput[h * d + x] * fullOutput[h * d + x]
          if let kernelOutput { kernelError.add(Double(kernelOutput[h * d + x]), reference: scratchOutput[x]) }
        }
      }

      // Token eviction and compaction (H2O).
      var holeShare = 0.0
      let doomedSlots = policy.slotsToEvict(view(), attention: attention)
      guard doomedSlots.allSatisfy({ $0 >= 0 && $0 < cache.tokenCount }), doomedSlots.count < cache.tokenCount else {
        throw PagedKVError.invariantViolated("\(policy.name) may evict only held slots, and not all of them")
      }
      if !doomedSlots.isEmpty {
        holeShare = Double(doomedSlots.count) / Double(cache.pageCount * b)
        let old = cache
        let moves = cache.evictTokens(slots: doomedSlots)
        try kernels.move(moves, in: old, on: &machine)
        shape.movedTokens = moves.count
      }

      for tensor in [tensors.queries, tensors.output, tensors.blockTable] + [tensors.partialOutput, tensors.logSumExp, logits].compactMap({ $0 })
        + compactTables
      {
        machine.freeTensor(tensor)
      }
      let fullPages = cache.pages.filter { $0.positions.count == b }.count
      var state = 0
      if keepsBounds { state += fullPages * 2 * hkv * d * c.dataType.byteWidth }
      if keepsScores { state += cache.pageCount * b * PagedDecodeConfiguration.accumulatorType.byteWidth }
      steps.append(PrunedDecodeStep(
        step: i, contextLength: l, shape: shape, ledger: machine.ledger.subtracting(before), residentPages: cache.pageCount,
        residentTokens: cache.tokenCount, keyValueBytesHeld: cache.pageCount * cacheConfiguration.bytesPerBlock,
        stateBytesHeld: state, evictedPages: doomedPages.count, evictedTokens: doomedSlots.count, holeShare: holeShare,
        relativeError: referenceSquared == 0 ? errorSquared.squareRoot() : (errorSquared / referenceSquared).squareRoot(),
        recall: recall / Double(hq),
        kernelError: executes ? kernelError.value : nil, output: kernelOutput))
      progress?(i, request.steps)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    return PrunedDecodeResult(
      policy: policy.name, active: active, request: request, setupLedger: setupLedger, steps: steps,
      peakSRAMBytes: machine.sram.peakBytes, wallSeconds: seconds)
  }
}
