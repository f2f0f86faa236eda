import AttentionAlgorithms
import MemoryHierarchy
import PagedKV
import XCTest
import _TestSupport

final class PruningTests: XCTestCase {
  /// A random run: P, T, B, d, h_q = G·h_kv, splits, KV reads, dtype, and a random policy.
  struct Case: CustomStringConvertible {
    var request: PrunedDecodeRequest
    var policy: PruningPolicySpec
    var inputSeed: UInt64
    var description: String {
      let c = request.configuration
      return "P: \(request.promptLength), T: \(request.steps), B: \(c.blockSize), d: \(c.headDimension), h_q: \(c.queryHeads), "
        + "h_kv: \(c.keyValueHeads), splits: \(c.splits), reads: \(c.keyValueReads.rawValue), \(c.dataType), policy: \(policy), "
        + "input seed: \(inputSeed)"
    }

    static func random(_ rng: inout SplitMix64, mode: ExecutionMode = .count) throws -> Case {
      let kvHeads = Int.random(in: 1...2, using: &rng)
      let group = [1, 2, 3].randomElement(using: &rng)!
      let c = try PagedDecodeConfiguration(
        blockSize: [1, 2, 3, 4, 5, 8].randomElement(using: &rng)!, headDimension: Int.random(in: 1...9, using: &rng),
        queryHeads: kvHeads * group, keyValueHeads: kvHeads, splits: [1, 1, 2, 3].randomElement(using: &rng)!,
        keyValueReads: KeyValueReads.allCases.randomElement(using: &rng)!,
        dataType: ElementType.floatingPoint.randomElement(using: &rng)!)
      let prompt = Int.random(in: 1...40, using: &rng)
      let steps = Int.random(in: 1...10, using: &rng)
      let policy: PruningPolicySpec
      switch Int.random(in: 0..<4, using: &rng) {
      case 0: policy = .full
      case 1: policy = .quest(pages: Int.random(in: 1...5, using: &rng))
      case 2: policy = .streaming(sinks: Int.random(in: 0...6, using: &rng), window: Int.random(in: 1...12, using: &rng))
      default: policy = .heavyHitters(budget: Int.random(in: 0...10, using: &rng), window: Int.random(in: 1...8, using: &rng))
      }
      return Case(
        request: PrunedDecodeRequest(promptLength: prompt, steps: steps, configuration: c, mode: mode, seed: rng.next()),
        policy: policy, inputSeed: rng.next())
    }

    func inputs() throws -> DecodeInputs {
      let c = request.configuration
      var structure = StructuredDecodeInputs()
      structure.seed = inputSeed
      structure.sinks = 2
      structure.heavyHitters = 3
      structure.localityLength = 4
      return try structure.generate(
        tokenCount: request.maximumContext, promptLength: request.promptLength, headDimension: c.headDimension,
        queryHeads: c.queryHeads, keyValueHeads: c.keyValueHeads)
    }
  }

  func assertMatches(_ ledger: IOLedger, _ form: DecodeTrafficForm, _ context: TestContext, _ what: String) {
    for operand in Operand.allCases {
      XCTAssertEqual(ledger[operand], form[operand], context.message("\(what): operand \(operand)"))
    }
    XCTAssertEqual(ledger.matmulFLOPs, form.matmulFLOPs, context.message("\(what): matmul FLOPs"))
    XCTAssertEqual(ledger.otherFLOPs, form.otherFLOPs, context.message("\(what): other FLOPs"))
  }

  func testEveryStepEqualsItsClosedFormOnRandomShapes() throws {
    let seed: UInt64 = 0x9A6E_D0C5
    print("PruningTests closed forms: seed \(seed)")
    var rng = SplitMix64(seed: seed)
    var covered: [String: Int] = [:]
    for index in 0..<(longTestsEnabled ? 300 : 80) {
      let run = try Case.random(&rng)
      try withTrace("seed \(seed) case \(index), \(run)") { context in
        let c = run.request.configuration
        let result = try PrunedDecodeRun.run(run.policy, request: run.request, inputs: try run.inputs())
        XCTAssertEqual(result.steps.count, run.request.steps, context.message())
        let setupPages = result.active && run.policy.family == "quest" ? run.request.promptLength / c.blockSize : 0
        assertMatches(result.setupLedger, PrunedDecodeRun.setupClosedForm(summarizedPages: setupPages, configuration: c), context, "setup")
        var tokensHeld = run.request.promptLength
        for step in result.steps {
          let shape = step.shape
          if shape.selectedPages > 0 { covered["selection", default: 0] += 1 }
          if shape.summarizedPages > 0 { covered["summary", default: 0] += 1 }
          if shape.movedTokens > 0 { covered["compaction", default: 0] += 1 }
          if shape.scoredPages > 0 { covered["scores", default: 0] += 1 }
          if step.evictedPages > 0 { covered["page eviction", default: 0] += 1 }
          if run.request.configuration.partitions(contextLength: shape.pagesRead * run.request.configuration.blockSize) > 1 {
            covered["split", default: 0] += 1
          }
          assertMatches(step.ledger, PrunedDecodeRun.closedForm(shape: shape, configuration: c), context, "step \(step.step)")
          let l = step.contextLength
          let fullPages = c.blockCount(contextLength: l)
          // The data-independent parts of each shape, from the policy's definition.
          switch run.policy {
          case .full:
            XCTAssertEqual(shape.pagesRead, fullPages, context.message("step \(step.step)"))
            assertMatches(step.ledger, PagedDecodeAttention.closedForm(contextLength: l, configuration: c), context, "full step \(step.step)")
          case let .quest(k):
            let active = k < c.blockCount(contextLength: run.request.maximumContext)
            XCTAssertEqual(shape.pagesRead, active ? min(k, fullPages) : fullPages, context.message("step \(step.step)"))
            XCTAssertEqual(shape.summarizedPages, active && l % c.blockSize == 0 ? 1 : 0, context.message("step \(step.step)"))
            XCTAssertEqual(shape.candidatePages, active && fullPages > k ? fullPages - 1 : 0, context.message("step \(step.step)"))
            XCTAssertEqual(step.residentPages, fullPages, context.message("Quest evicts nothing"))
          case let .streaming(s, w):
            if s + w < run.request.maximumContext {
              // Pages with a sink, pages overlapping the window, and nothing else.
              let sinkPages = BlockTable.blocksNeeded(tokens: s, blockSize: c.blockSize)
              let firstWindowPage = max(0, l - w) / c.blockSize
              let kept = Set(0..<min(sinkPages, fullPages)).union(firstWindowPage..<fullPages).count
              XCTAssertEqual(step.residentPages, kept, context.message("step \(step.step)"))
            } else {
              XCTAssertEqual(step.residentPages, fullPages, context.message("step \(step.step)"))
            }
            XCTAssertEqual(shape.pagesRead, step.residentPages, context.message("step \(step.step)"))
          case let .heavyHitters(budget, w):
            if budget + w < run.request.maximumContext {
              XCTAssertEqual(step.residentTokens, min(l, budget + w), context.message("step \(step.step)"))
              XCTAssertEqual(shape.pagesRead, BlockTable.blocksNeeded(tokens: tokensHeld + 1, blockSize: c.blockSize), context.message("step \(step.step)"))
              XCTAssertEqual(shape.scoredPages, shape.pagesRead, context.message("step \(step.step)"))
            } else {
              XCTAssertEqual(step.residentTokens, l, context.message("step \(step.step)"))
              XCTAssertEqual(shape.scoredPages, 0, context.message("step \(step.step)"))
            }
            XCTAssertEqual(step.residentPages, BlockTable.blocksNeeded(tokens: step.residentTokens, blockSize: c.blockSize), context.message())
          }
          tokensHeld = step.residentTokens
          XCTAssertEqual(step.keyValueBytesHeld, step.residentPages * 2 * c.blockSize * c.keyValueHeads * c.headDimension * c.dataType.byteWidth)
        }
      }
    }
    // The random cases reach every mechanism the closed form has a term for.
    for mechanism in ["selection", "summary", "compaction", "scores", "page eviction", "split"] {
      XCTAssertGreaterThan(covered[mechanism] ?? 0, 0, "no case exercised \(mechanism): \(covered)")
    }
  }

  /// Count and execute mode count the same; execute mode's output equals float64 attention over
  /// the tokens read.
  func testExecuteModeCountsTheSameAndMatchesFloat64OnTheKeptSet() throws {
    let seed: UInt64 = 0xE7EC
    print("PruningTests execute: seed \(seed)")
    var rng = SplitMix64(seed: seed)
    for index in 0..<(longTestsEnabled ? 60 : 16) {
      var run = try Case.random(&rng, mode: .execute)
      try withTrace("seed \(seed) case \(index), \(run)") { context in
        let inputs = try run.inputs()
        let executed = try PrunedDecodeRun.run(run.policy, request: run.request, inputs: inputs)
        run.request.mode = .count
        let counted = try PrunedDecodeRun.run(run.policy, request: run.request, inputs: inputs)
        XCTAssertEqual(executed.setupLedger, counted.setupLedger, context.message("setup"))
        let tolerance = run.request.configuration.dataType == .fp32 ? 1e-5 : 2e-2
        for (e, k) in zip(executed.steps, counted.steps) {
          XCTAssertEqual(e.ledger, k.ledger, context.message("step \(e.step)"))
          XCTAssertEqual(e.shape, k.shape, context.message("step \(e.step)"))
          XCTAssertEqual(e.relativeError, k.relativeError, context.message("step \(e.step)"))
          XCTAssertLessThan(e.kernelError ?? .infinity, tolerance, context.message("step \(e.step) kernel vs float64"))
        }
      }
    }
  }

  /// The three exactness properties: a budget that covers the run is `full`, counts and bits.
  func testPoliciesWhoseBudgetCoversTheRunEqualFullExactly() throws {
    let seed: UInt64 = 0xF011
    print("PruningTests exactness: seed \(seed)")
    var rng = SplitMix64(seed: seed)
    for index in 0..<(longTestsEnabled ? 40 : 10) {
      let base = try Case.random(&rng, mode: .execute)
      let context = base.request.maximumContext
      let pages = base.request.configuration.blockCount(contextLength: context)
      let sinks = Int.random(in: 0...context, using: &rng)
      let heavy = Int.random(in: 0...context, using: &rng)
      let specs: [PruningPolicySpec] = [
        .quest(pages: pages + Int.random(in: 0...2, using: &rng)),
        .streaming(sinks: sinks, window: max(1, context - sinks) + Int.random(in: 0...2, using: &rng)),
        .heavyHitters(budget: heavy, window: max(1, context - heavy) + Int.random(in: 0...2, using: &rng)),
      ]
      try withTrace("seed \(seed) case \(index), \(base)") { trace in
        let inputs = try base.inputs()
        let full = try PrunedDecodeRun.run(.full, request: base.request, inputs: inputs)
        for spec in specs {
          let pruned = try PrunedDecodeRun.run(spec, request: base.request, inputs: inputs)
          XCTAssertFalse(pruned.active, trace.message("\(spec)"))
          XCTAssertEqual(pruned.setupLedger, full.setupLedger, trace.message("\(spec) setup"))
          for (p, f) in zip(pruned.steps, full.steps) {
            XCTAssertEqual(p.ledger, f.ledger, trace.message("\(spec) step \(p.step)"))
            XCTAssertEqual(p.bytesHeld, f.bytesHeld, trace.message("\(spec) step \(p.step)"))
            XCTAssertEqual(p.output?.map(\.bitPattern), f.output?.map(\.bitPattern), trace.message("\(spec) step \(p.step) bits"))
            XCTAssertEqual(p.relativeError, 0, trace.message("\(spec) step \(p.step)"))
          }
        }
      }
    }
  }

  func testFullHasNoErrorAndRecallsEverything() throws {
    let c = try PagedDecodeConfiguration(blockSize: 4, headDimension: 8, queryHeads: 4, keyValueHeads: 2, splits: 2)
    let request = PrunedDecodeRequest(promptLength: 30, steps: 5, configuration: c)
    let inputs = try DecodeInputs.normal(tokenCount: 35, headDimension: 8, queryHeads: 4, keyValueHeads: 2, seed: 3)
    let full = try PrunedDecodeRun.run(.full, request: request, inputs: inputs)
    for step in full.steps {
      XCTAssertEqual(step.relativeError, 0)
      XCTAssertEqual(step.recall, 1, accuracy: 1e-12)
    }
    let streaming = try PrunedDecodeRun.run(.streaming(sinks: 4, window: 8), request: request, inputs: inputs)
    XCTAssertTrue(streaming.active)
    XCTAssertGreaterThan(streaming.meanRelativeError, 0)
    XCTAssertLessThan(streaming.meanRecall, 1)
    XCTAssertLessThan(streaming.finalBytesHeld, full.finalBytesHeld)
  }

  func testCompactionFillsTheLowestHolesFromTheHighestSurvivors() {
    var cache = PrunedKVCache(blockSize: 3, allocationOrder: [5, 2, 7, 0])
    for t in 0..<8 { XCTAssertNoThrow(try cache.append(position: t)) }
    XCTAssertEqual(cache.pages.map(\.physicalBlock), [5, 2, 7])
    let moves = cache.evictTokens(slots: [1, 4, 7])
    // 5 kept: holes 1 and 4 are filled from slots 6 and 5 (slot 7 is evicted).
    XCTAssertEqual(moves.map(\.from), [6, 5])
    XCTAssertEqual(moves.map(\.to), [1, 4])
    XCTAssertEqual(cache.pages.map(\.positions), [[0, 6, 2], [3, 5]])
    XCTAssertEqual(cache.tokenCount, 5)
    XCTAssertNoThrow(try cache.append(position: 8))
    XCTAssertNoThrow(try cache.append(position: 9))
    XCTAssertEqual(cache.pages.map(\.physicalBlock), [5, 2, 7], "the freed block is reused first")
  }

  func testPolicySpecsParseAndRejectBadText() throws {
    XCTAssertEqual(try PruningPolicySpec(parsing: "quest:16"), .quest(pages: 16))
    XCTAssertEqual(try PruningPolicySpec(parsing: "streaming:4,508"), .streaming(sinks: 4, window: 508))
    XCTAssertEqual(try PruningPolicySpec(parsing: "h2o:256,256"), .heavyHitters(budget: 256, window: 256))
    XCTAssertEqual(try PruningPolicySpec(parsing: "full"), .full)
    for bad in ["quest", "quest:0", "quest:x", "streaming:4", "streaming:4,0", "h2o:-1,4", "full:2", "topk:3", ""] {
      XCTAssertThrowsError(try PruningPolicySpec(parsing: bad), bad)
    }
  }
}
