import AttentionIO
import Lessons
import XCTest

/// The lessons' text is golden-tested; these check the facts it rests on, independently.
final class LessonClaimTests: XCTestCase {
  func testTheWalkthroughTraceIsTheDemoRun() throws {
    let problem = try AttentionProblem(sequenceLength: 16, headDimension: 8, dataType: .fp16, seed: 1)
    let trace = try Trace.record(.flash, problem: problem, spec: .teaching)
    XCTAssertEqual(trace.steps.count, 222)
    XCTAssertEqual(trace.blocks, BlockSizes(queryBlockSize: 4, keyBlockSize: 4))
    XCTAssertEqual(trace.sections.count, 4)
    XCTAssertEqual(trace.ledger.hbmElements, 2_048)
    XCTAssertTrue(try Lessons.tilingWalkthrough().contains(TraceText.render(trace)))
  }

  func testTheRaceOnTheTeachingMachineIsWonByStandardAttention() throws {
    let problem = try AttentionProblem(sequenceLength: 16, headDimension: 8, dataType: .fp16, seed: 1)
    let standard = try Trace.record(.standard, problem: problem, spec: .teaching, mode: .count)
    let flash = try Trace.record(.flash, problem: problem, spec: .teaching, mode: .count)
    XCTAssertEqual(standard.ledger.hbmBytes, 3_584)
    XCTAssertEqual(flash.ledger.hbmBytes, 4_608)
  }
}
