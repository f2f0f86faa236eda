import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import PagedKV
import XCTest
import _TestSupport

/// Paged and split-KV decode steps can be traced: on seeded random ragged batches, the trace's
/// event totals equal its ledger, which equals a plain run's and the closed form, operand by
/// operand; its output is the run's; and it has one section per work item and partition, plus one
/// per reduction.
final class PagedDecodeTraceTests: XCTestCase {
  func testDecodeTracesSumToTheClosedFormOnRandomBatches() {
    for trial in 0..<6 {
      let seed = UInt64(9_100 + trial)
      var rng = SplitMix64(seed: seed)
      func draw(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(rng.next() % UInt64(range.count)) }
      let kvHeads = draw(1...2)
      let queryHeads = kvHeads * draw(1...2)
      let blockSize = draw(2...6)
      let lengths = (0..<draw(1...3)).map { _ in draw(1...30) }
      let splits = draw(1...3)
      let reads: KeyValueReads = draw(0...1) == 0 ? .perQueryHead : .perKeyValueHead
      let description = "seed \(seed): L \(lengths), B \(blockSize), h_q \(queryHeads), h_kv \(kvHeads), S \(splits), \(reads)"
      withTrace(description) { context in
        do {
          let c = try PagedDecodeConfiguration(
            blockSize: blockSize, headDimension: draw(2...8), queryHeads: queryHeads, keyValueHeads: kvHeads, splits: splits,
            keyValueReads: reads)
          let request = PagedDecodeRequest(
            contextLengths: lengths, configuration: c, machine: .teaching.withSRAMCapacity(8_192), mode: .execute, seed: seed)
          let trace = try PagedDecodeSimulator.trace(request, stepLimit: 1_000_000)
          let plain = try PagedDecodeSimulator.run(request)
          XCTAssertEqual(trace.name, splits > 1 ? "split-kv-decode" : "paged-decode", context.message())
          XCTAssertNil(trace.algorithm, context.message())
          XCTAssertEqual(trace.eventTotals, trace.ledger, context.message("trace totals = ledger"))
          XCTAssertEqual(trace.ledger, plain.ledger, context.message("trace ledger = a plain run's"))
          XCTAssertTrue(plain.closedForm.matches(trace.ledger), context.message("trace ledger = closed form"))
          XCTAssertEqual(trace.output, plain.output, context.message("the same output"))
          var sections = 0
          for l in lengths {
            let partitions = c.partitions(contextLength: l)
            sections += c.workItemsPerSequence * (partitions > 1 ? partitions + 1 : 1)
          }
          XCTAssertEqual(trace.sections.count, sections, context.message("one section per work item and partition"))
        } catch {
          XCTFail(context.message("threw \(error)"))
        }
      }
    }
  }
}
