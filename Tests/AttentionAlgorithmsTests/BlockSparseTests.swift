import AttentionAlgorithms
import AttentionSimulation
import Experiments
import MemoryHierarchy
import XCTest
import _TestSupport

final class BlockSparseTests: XCTestCase {
  func spec(_ problem: AttentionProblem, _ blocks: BlockSizes) -> MachineSpec {
    let bytes = AttentionSchedule.tilePlan(.blockSparse, pass: .backward, blocks: blocks, problem: problem).reduce(0) { $0 + $1.bytes }
    return MachineSpec.a100_40GB.withSRAMCapacity(bytes + 64)
  }

  func randomMask(_ rows: Int, _ columns: Int, _ rng: inout SplitMix64) -> BlockMask {
    let density = Double.random(in: 0...1, using: &rng)
    return BlockMask(rows: (0..<rows).map { _ in (0..<columns).map { _ in Double.random(in: 0..<1, using: &rng) < density } })
  }

  /// The literal Algorithm 5 count and its backward, derived by hand: K, V once (or their
  /// nonempty columns when skipping), then per nonzero block 3·r_i·d + 4·r_i forward and
  /// 5·r_i·d + 2·r_i backward with the block row's real rows r_i.
  func testCountsEqualTheClosedFormOnRandomMasksAndRaggedShapes() throws {
    var rng = SplitMix64(seed: 0xB5)
    for index in 0..<150 {
      let n = Int.random(in: 1...300, using: &rng)
      let d = Int.random(in: 1...80, using: &rng)
      let blocks = BlockSizes(queryBlockSize: Int.random(in: 1...n, using: &rng), keyBlockSize: Int.random(in: 1...n, using: &rng))
      let (tr, tc) = (blocks.queryBlockCount(n), blocks.keyBlockCount(n))
      let mask = randomMask(tr, tc, &rng)
      let skip = rng.next() % 2 == 0
      try withTrace("seed 0xB5 case \(index): N \(n), d \(d), \(blocks), nnz \(mask.nonzeroBlocks)/\(mask.totalBlocks), skip \(skip)") { context in
        let problem = try AttentionProblem(heads: 2, sequenceLength: n, headDimension: d, dataType: .bf16, causal: rng.next() % 2 == 0)
        let result = try Simulator.run(SimulationRequest(
          algorithm: .blockSparse, pass: .both, problem: problem, machine: spec(problem, blocks), blocks: blocks,
          sparsity: BlockSparsity(pattern: .explicit(mask), skipEmptyColumns: skip)))
        var forwardReads = 0
        var forwardWrites = 0
        var backwardReads = 0
        var backwardWrites = 0
        for i in 0..<tr {
          let r = min(n, (i + 1) * blocks.queryBlockSize) - i * blocks.queryBlockSize
          for j in 0..<tc where mask[i, j] {
            forwardReads += 2 * r * d + 2 * r
            forwardWrites += r * d + 2 * r
            backwardReads += 4 * r * d + 2 * r
            backwardWrites += r * d
          }
        }
        var keyRows = 0
        for j in 0..<tc where !skip || (0..<tr).contains(where: { mask[$0, j] }) {
          keyRows += min(n, (j + 1) * blocks.keyBlockSize) - j * blocks.keyBlockSize
        }
        let forward = try XCTUnwrap(result.pass(.forward)).headLedger
        let backward = try XCTUnwrap(result.pass(.backward)).headLedger
        XCTAssertEqual(forward.hbmReadElements, forwardReads + 2 * keyRows * d, context.message())
        XCTAssertEqual(forward.hbmWriteElements, forwardWrites, context.message())
        XCTAssertEqual(backward.hbmReadElements, backwardReads + 2 * keyRows * d, context.message())
        XCTAssertEqual(backward.hbmWriteElements, backwardWrites + 2 * keyRows * d, context.message())
        for pass in result.passes { XCTAssertTrue(pass.matchesClosedForm, context.message("\(pass.pass)")) }
        XCTAssertEqual(result.mask?.nonzeroBlocks, mask.nonzeroBlocks, context.message())
      }
    }
  }

  func testDenseMaskIsExactlyFlashAttention() throws {
    var rng = SplitMix64(seed: 0xDE)
    for index in 0..<12 {
      let n = Int.random(in: 1...70, using: &rng)
      let d = Int.random(in: 1...16, using: &rng)
      let blocks = BlockSizes(queryBlockSize: Int.random(in: 1...n, using: &rng), keyBlockSize: Int.random(in: 1...n, using: &rng))
      try withTrace("seed 0xDE case \(index): N \(n), d \(d), \(blocks)") { context in
        let problem = try AttentionProblem(sequenceLength: n, headDimension: d, dataType: .fp32, seed: UInt64(index), causal: index % 2 == 0, dropoutProbability: index % 3 == 0 ? 0.2 : 0)
        let machine = spec(problem, blocks)
        let sparse = try Simulator.run(SimulationRequest(
          algorithm: .blockSparse, pass: .both, problem: problem, machine: machine, blocks: blocks, mode: .execute,
          keepOutputs: true, sparsity: BlockSparsity(pattern: .dense)))
        let flash = try Simulator.run(SimulationRequest(
          algorithm: .flash, pass: .both, problem: problem, machine: machine, blocks: blocks, mode: .execute, keepOutputs: true))
        XCTAssertEqual(sparse.ledger, flash.ledger, context.message())
        XCTAssertEqual(sparse.outputs?.output, flash.outputs?.output, context.message())
        XCTAssertEqual(sparse.outputs?.keyGradient, flash.outputs?.keyGradient, context.message())
        XCTAssertLessThan(try XCTUnwrap(sparse.relativeErrorVsDense), 1e-5, context.message())
      }
    }
  }

  func testOutputsAndGradientsMatchTheMaskedFloat64Reference() throws {
    let patterns: [BlockMaskPattern] = [
      .causal, .local(width: 2), .strided(stride: 3), .butterfly, .random(density: 0.4), .globalLocal(global: 1, window: 1),
      .sinksWindow(sinks: 1, window: 2), .topK(2),
    ]
    for (index, pattern) in patterns.enumerated() {
      try withTrace("pattern \(pattern)") { context in
        let problem = try AttentionProblem(batch: 2, sequenceLength: 37, headDimension: 6, dataType: .fp32, seed: UInt64(index + 1), validLengths: [37, 20])
        let result = try Simulator.run(SimulationRequest(
          algorithm: .blockSparse, pass: .both, problem: problem, machine: spec(problem, BlockSizes(queryBlockSize: 5, keyBlockSize: 4)),
          blocks: BlockSizes(queryBlockSize: 5, keyBlockSize: 4), mode: .execute, sparsity: BlockSparsity(pattern: pattern)))
        XCTAssertLessThan(try XCTUnwrap(result.maxRelativeError), 1e-4, context.message("the sparse kernel is exact for its mask"))
        let density = try XCTUnwrap(result.mask).density
        let vsDense = try XCTUnwrap(result.relativeErrorVsDense)
        if density < 1 { XCTAssertGreaterThan(vsDense, 1e-4, context.message("a sparser mask changes the output")) }
      }
    }
  }

  /// The documented densities on square grids (Br = Bc, N = T·Br).
  func testPatternDensitiesAreAsDocumented() throws {
    let br = 4
    for t in [1, 2, 4, 8, 16] {
      let n = t * br
      let blocks = BlockSizes(queryBlockSize: br, keyBlockSize: br)
      func count(_ pattern: BlockMaskPattern) throws -> Int {
        try pattern.mask(sequenceLength: n, blocks: blocks, seed: 9).nonzeroBlocks
      }
      try withTrace("T = \(t)") { context in
        XCTAssertEqual(try count(.dense), t * t, context.message())
        XCTAssertEqual(try count(.causal), t * (t + 1) / 2, context.message())
        for w in 1...3 where t >= 2 * w - 1 {
          XCTAssertEqual(try count(.local(width: w)), t * (2 * w - 1) - w * (w - 1), context.message("local:\(w)"))
        }
        for s in [1, 2, 4] where t % s == 0 {
          XCTAssertEqual(try count(.strided(stride: s)), t * t / s, context.message("strided:\(s)"))
        }
        let bits = t.trailingZeroBitCount
        XCTAssertEqual(try count(.butterfly), t * (bits + 1), context.message("butterfly on 2^\(bits) blocks"))
        for density in [0.0, 0.1, 0.5, 1.0] {
          XCTAssertEqual(try count(.random(density: density)), Int((density * Double(t * t)).rounded()), context.message("random:\(density)"))
        }
        for k in [1, 3, 20] { XCTAssertEqual(try count(.topK(k)), t * min(k, t), context.message("topk:\(k)")) }
        if t >= 4 {
          // G global rows and columns plus the window: G·T + G·(T − G) + the window outside them.
          var expected = 2 * t - 1
          for i in 1..<t { for j in 1..<t where abs(i - j) < 2 { expected += 1 } }
          XCTAssertEqual(try count(.globalLocal(global: 1, window: 2)), expected, context.message("global-local:1,2"))
          // Sinks S = 1, window W = 2: row 0 keeps 1; row i ≥ 1 keeps column 0, i−1 and i (i−1 = 0 counted once).
          XCTAssertEqual(try count(.sinksWindow(sinks: 1, window: 2)), 1 + 2 + 3 * (t - 2), context.message("sinks-window:1,2"))
        }
      }
    }
  }

  /// Proposition 4 made exact: with N a multiple of the blocks, forward traffic minus 2Nd is
  /// (3·Br·d + 4·Br) per nonzero block, for every mask.
  func testSweepTrafficMinus2NdIsProportionalToNonzeroBlocks() throws {
    let problem = try AttentionProblem(sequenceLength: 256, headDimension: 16)
    let blocks = BlockSizes(queryBlockSize: 16, keyBlockSize: 32)
    let base = SimulationRequest(algorithm: .blockSparse, problem: problem, machine: spec(problem, blocks), blocks: blocks)
    let patterns = SparsitySweep.defaultPatterns.filter { !$0.isDataDependent }
    let (_, rows) = try SparsitySweep.run(base, patterns: patterns)
    for row in rows {
      XCTAssertEqual(row.elementsMinusBase, row.nonzeroBlocks * (3 * 16 * 16 + 4 * 16), row.pattern)
    }
    XCTAssertEqual(Set(rows.map(\.nonzeroBlocks)).count > 5, true, "the sweep spans many densities")
  }

  /// Top-K keeps, for each query block, the key blocks with the highest bound computed from
  /// per-block key minima and maxima, and its two passes are counted.
  func testTopKPicksTheBlocksWithTheHighestBoundAndCountsItsPasses() throws {
    let (n, d) = (24, 3)
    let blocks = BlockSizes(queryBlockSize: 8, keyBlockSize: 6)
    let problem = try AttentionProblem(sequenceLength: n, headDimension: d, dataType: .fp32, seed: 5)
    let result = try Simulator.run(SimulationRequest(
      algorithm: .blockSparse, problem: problem, machine: spec(problem, blocks), blocks: blocks, mode: .execute,
      sparsity: BlockSparsity(pattern: .topK(2))))
    let inputs = Simulator.inputs(problem: problem, head: 0)
    let (q, k) = (inputs.q, inputs.k)
    let mask = try XCTUnwrap(result.blockMask)
    for i in 0..<3 {
      var bounds: [(Float, Int)] = []
      for j in 0..<4 {
        var best = -Float.infinity
        for row in i * 8..<(i + 1) * 8 {
          var bound: Float = 0
          for x in 0..<d {
            let column: [Float] = (j * 6..<(j + 1) * 6).map { k[$0 * d + x] }
            let qx: Float = q[row * d + x]
            let low: Float = qx * column.min()!
            let high: Float = qx * column.max()!
            bound += max(low, high)
          }
          best = max(best, bound)
        }
        bounds.append((best, j))
      }
      let sorted = bounds.sorted { (a: (Float, Int), b: (Float, Int)) -> Bool in a.0 > b.0 || (a.0 == b.0 && a.1 < b.1) }
      let top = Set(sorted.prefix(2).map { $0.1 })
      XCTAssertEqual(Set((0..<4).filter { mask[i, $0] }), top, "query block \(i)")
    }
    // Summaries: K once (Nd) and 2d per key block written; selection: Q once and every summary
    // per query block read, 2 indices per query block written. Then Algorithm 5 with 6 blocks.
    let selection = TrafficCount(readElements: 2 * n * d + 2 * d * 3 * 4, writeElements: 2 * d * 4 + 3 * 2)
    let sparse = TrafficCount(readElements: 2 * n * d + 6 * (2 * 8 * d + 2 * 8), writeElements: 6 * (8 * d + 2 * 8))
    XCTAssertEqual(result.headLedger.hbmReadElements, selection.readElements + sparse.readElements)
    XCTAssertEqual(result.headLedger.hbmWriteElements, selection.writeElements + sparse.writeElements)
    XCTAssertThrowsError(try Simulator.run(SimulationRequest(
      algorithm: .blockSparse, problem: problem, machine: spec(problem, blocks), blocks: blocks,
      sparsity: BlockSparsity(pattern: .topK(2), skipEmptyColumns: true))), "count mode cannot know which columns are empty")
  }

  func testPatternParsing() throws {
    XCTAssertEqual(try BlockMaskPattern(parsing: "global-local:2,3"), .globalLocal(global: 2, window: 3))
    XCTAssertEqual(try BlockMaskPattern(parsing: "random:0.25"), .random(density: 0.25))
    for bad in ["local", "local:0", "local:x", "random:2", "topk:1,2", "zigzag", "dense:1", "sinks-window:1"] {
      XCTAssertThrowsError(try BlockMaskPattern(parsing: bad), bad)
    }
  }
}
