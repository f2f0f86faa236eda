import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import PagedKV
import XCTest
import _TestSupport

final class PagedDecodeCountTests: XCTestCase {
  /// A random decode shape: context lengths, B, d, h_q = G·h_kv, splits, KV reads, dtype.
  struct Shape: CustomStringConvertible {
    var lengths: [Int]
    var configuration: PagedDecodeConfiguration
    var description: String {
      let c = configuration
      return "L: \(lengths), B: \(c.blockSize), d: \(c.headDimension), h_q: \(c.queryHeads), h_kv: \(c.keyValueHeads), "
        + "splits: \(c.splits), reads: \(c.keyValueReads.rawValue), \(c.dataType)"
    }

    static func random(_ rng: inout SplitMix64, maxLength: Int = 200, maxDimension: Int = 40) throws -> Shape {
      let batch = Int.random(in: 1...3, using: &rng)
      let lengths = (0..<batch).map { _ in Int.random(in: 1...maxLength, using: &rng) }
      let kvHeads = Int.random(in: 1...3, using: &rng)
      let group = [1, 1, 2, 4].randomElement(using: &rng)!
      let configuration = try PagedDecodeConfiguration(
        blockSize: [1, 2, 3, 4, 8, 16, 32].randomElement(using: &rng)!,
        headDimension: Int.random(in: 1...maxDimension, using: &rng), queryHeads: kvHeads * group, keyValueHeads: kvHeads,
        splits: [1, 1, 2, 3, 5, 64].randomElement(using: &rng)!, keyValueReads: KeyValueReads.allCases.randomElement(using: &rng)!,
        dataType: ElementType.allCases.randomElement(using: &rng)!)
      return Shape(lengths: lengths, configuration: configuration)
    }
  }

  func testLedgerEqualsTheClosedFormOnRandomShapes() throws {
    var rng = SplitMix64(seed: 0xDEC0DE)
    for index in 0..<(longTestsEnabled ? 400 : 120) {
      let shape = try Shape.random(&rng)
      try withTrace("seed 0xDEC0DE case \(index), \(shape)") { context in
        let c = shape.configuration
        let result = try PagedDecodeSimulator.run(PagedDecodeRequest(contextLengths: shape.lengths, configuration: c, mode: .count))
        let form = result.closedForm
        for operand in Operand.allCases {
          XCTAssertEqual(result.ledger[operand], form[operand], context.message("operand \(operand)"))
        }
        XCTAssertEqual(result.ledger.matmulFLOPs, form.matmulFLOPs, context.message("matmul FLOPs"))
        XCTAssertEqual(result.ledger.otherFLOPs, form.otherFLOPs, context.message("other FLOPs"))
        XCTAssertTrue(form.matches(result.ledger), context.message())
        // The closed form written out independently, from the list.
        var reads = 0
        var writes = 0
        var kvReads = 0
        for l in shape.lengths {
          let n = (l + c.blockSize - 1) / c.blockSize
          let p = min(c.splits, n)
          let w = c.keyValueReads == .perQueryHead ? c.queryHeads : c.keyValueHeads
          kvReads += 2 * w * n * c.blockSize * c.headDimension
          reads += p * c.queryHeads * c.headDimension + w * n + 2 * w * n * c.blockSize * c.headDimension
          writes += 2 * c.keyValueHeads * c.headDimension + c.queryHeads * c.headDimension
          if p > 1 {
            reads += p * c.queryHeads * (c.headDimension + 1)
            writes += p * c.queryHeads * (c.headDimension + 1)
          }
        }
        XCTAssertEqual(result.ledger.hbmReadElements, reads, context.message())
        XCTAssertEqual(result.ledger.hbmWriteElements, writes, context.message())
        XCTAssertEqual(result.ledger[.key].readElements + result.ledger[.value].readElements, kvReads, context.message())
      }
    }
  }

  func testExecuteAndCountModesCountTheSame() throws {
    var rng = SplitMix64(seed: 0xC0FFEE)
    for index in 0..<(longTestsEnabled ? 60 : 15) {
      let shape = try Shape.random(&rng, maxLength: 70, maxDimension: 24)
      let seed = rng.next()
      try withTrace("seed 0xC0FFEE case \(index), \(shape), input seed: \(seed)") { context in
        let count = try PagedDecodeSimulator.run(PagedDecodeRequest(contextLengths: shape.lengths, configuration: shape.configuration, mode: .count, seed: seed))
        let execute = try PagedDecodeSimulator.run(PagedDecodeRequest(contextLengths: shape.lengths, configuration: shape.configuration, mode: .execute, seed: seed))
        XCTAssertEqual(count.ledger, execute.ledger, context.message("execute and count modes must count the same"))
      }
    }
  }

  /// The worked number of Docs/Paged.md: L = 1000, B = 16, d = 128, h_q = 32, h_kv = 8, fp16.
  func testWorkedExample() throws {
    let c = try PagedDecodeConfiguration(blockSize: 16, headDimension: 128, queryHeads: 32, keyValueHeads: 8)
    let form = PagedDecodeAttention.closedForm(contextLength: 1000, configuration: c)
    // n = ⌈1000/16⌉ = 63 blocks = 1008 token slots; each of 32 query heads reads K and V.
    XCTAssertEqual(form[.key].readElements, 32 * 63 * 16 * 128)
    XCTAssertEqual(form[.blockTable].readElements, 32 * 63)
    XCTAssertEqual(form.readElements, 32 * 128 + 32 * 63 + 2 * 32 * 63 * 16 * 128)
    XCTAssertEqual(form.writeElements, 2 * 8 * 128 + 32 * 128)
    XCTAssertEqual(form.readBytes, 2 * (32 * 128 + 2 * 32 * 63 * 16 * 128) + 4 * 32 * 63)
    let once = try PagedDecodeConfiguration(blockSize: 16, headDimension: 128, queryHeads: 32, keyValueHeads: 8, keyValueReads: .perKeyValueHead)
    XCTAssertEqual(PagedDecodeAttention.closedForm(contextLength: 1000, configuration: once)[.key].readElements, 8 * 63 * 16 * 128)
  }

  func testCopyOnWriteCopiesAreCountedOnTheMachine() throws {
    let configuration = try KVCacheConfiguration(blockSize: 4, blockCount: 4, keyValueHeads: 2, headDimension: 8)
    var machine = Machine(spec: .a100_40GB, mode: .execute)
    let rows = 4 * 2 * 4
    let keys = (0..<(rows * 8)).map { Float($0) }
    let pool = try KVPool.allocate(on: &machine, configuration: configuration, keyContents: keys, valueContents: keys.map { -$0 })
    var cache = try KVCacheManager(configuration: configuration)
    let a = try cache.allocateSequence(tokenCount: 3)
    let b = try cache.fork(a)
    let outcome = try cache.appendToken(to: b)
    let copy = try XCTUnwrap(outcome.copy)
    try pool.copyBlock(copy, on: &machine)
    let expected = KVPool.copyTraffic(configuration)
    XCTAssertEqual(machine.ledger.hbmReadElements, expected.readElements)
    XCTAssertEqual(machine.ledger.hbmWriteElements, expected.writeElements)
    XCTAssertEqual(expected.readElements, 2 * 2 * 4 * 8)
    let k = machine.contents(of: pool.keys)
    for head in 0..<2 {
      XCTAssertEqual(Array(k[pool.rows(block: copy.destination, head: head).map { $0 * 8 }.first!..<(pool.rows(block: copy.destination, head: head).upperBound * 8)]),
        Array(keys[pool.rows(block: copy.source, head: head).lowerBound * 8..<pool.rows(block: copy.source, head: head).upperBound * 8]).map { Float(Float16($0)) })
    }
  }

  func testBadInputsThrowInsteadOfTrapping() throws {
    XCTAssertThrowsError(try PagedDecodeConfiguration(headDimension: 8, queryHeads: 6, keyValueHeads: 4))
    XCTAssertThrowsError(try PagedDecodeConfiguration(blockSize: 0, headDimension: 8))
    XCTAssertThrowsError(try PagedDecodeConfiguration(headDimension: 8, splits: 0))
    let c = try PagedDecodeConfiguration(headDimension: 8)
    XCTAssertThrowsError(try PagedDecodeSimulator.run(PagedDecodeRequest(contextLengths: [0], configuration: c)))
    XCTAssertThrowsError(try PagedDecodeSimulator.run(PagedDecodeRequest(contextLengths: [], configuration: c)))
    // Tiles that do not fit the SRAM: a typed machine error.
    let big = try PagedDecodeConfiguration(blockSize: 256, headDimension: 256)
    XCTAssertThrowsError(try PagedDecodeSimulator.run(PagedDecodeRequest(contextLengths: [10], configuration: big))) { error in
      guard case .sramOverflow = error as? MachineError else { return XCTFail("\(error)") }
    }
  }
}
