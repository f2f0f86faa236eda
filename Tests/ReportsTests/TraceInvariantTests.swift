import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import XCTest
import _TestSupport

/// The trace is the story: its sums are the ledger, and stepping through it is a plain run.
final class TraceInvariantTests: XCTestCase {
  /// (N, d, SRAM bytes, explicit blocks, dtype): the teaching run, ragged blocks, an SRAM too
  /// small for a row of S (two-pass softmax), fp32 and bf16.
  let cases: [(n: Int, d: Int, sram: Int, blocks: BlockSizes?, dtype: ElementType)] = [
    (16, 8, 384, nil, .fp16),
    (13, 5, 4_096, BlockSizes(queryBlockSize: 4, keyBlockSize: 3), .fp16),
    (80, 4, 128, BlockSizes(queryBlockSize: 2, keyBlockSize: 2), .fp16),
    (9, 7, 2_048, nil, .fp32),
    (21, 3, 1_024, nil, .bf16),
  ]

  func testTraceSumsEqualTheLedgerForEveryTraceableAlgorithm() throws {
    // Every registered kernel, forward and backward, can be traced.
    XCTAssertEqual(Trace.traceableAlgorithms, AttentionAlgorithmKind.allCases)
    for algorithm in Trace.traceableAlgorithms {
      for pass in AttentionSchedule.Pass.allCases {
      for c in cases {
        for mode in ExecutionMode.allCases {
          try withTrace("\(algorithm) \(pass), N: \(c.n), d: \(c.d), SRAM: \(c.sram), \(String(describing: c.blocks)), \(c.dtype), \(mode)") { context in
            let problem = try AttentionProblem(sequenceLength: c.n, headDimension: c.d, dataType: c.dtype, seed: 3)
            let spec = MachineSpec.teaching.withSRAMCapacity(c.sram)
            let request = SimulationRequest(
              algorithm: algorithm, pass: pass == .forward ? .forward : .backward, problem: problem, machine: spec, blocks: c.blocks)
            let plain: SimulationResult
            do {
              plain = try Simulator.run(request)
            } catch {
              // A plan that does not fit is refused by the trace with the same error.
              XCTAssertThrowsError(try Trace.record(algorithm, pass: pass, problem: problem, spec: spec, blocks: c.blocks, mode: mode, stepLimit: 100_000)) {
                XCTAssertEqual("\($0)", "\(error)", context.message())
              }
              return
            }
            let trace = try Trace.record(algorithm, pass: pass, problem: problem, spec: spec, blocks: c.blocks, mode: mode, stepLimit: 100_000)
            XCTAssertEqual(trace.pass, pass, context.message())
            XCTAssertEqual(trace.eventTotals, trace.ledger, context.message("trace sums = ledger"))
            XCTAssertEqual(trace.ledger, plain.headLedger, context.message("a traced run counts as a plain run"))
            XCTAssertEqual(trace.steps.last?.ledger, trace.ledger, context.message())
            if pass == .forward {
              XCTAssertEqual(trace.peakSRAMBytes, plain.peakSRAMBytes, context.message())
            } else {
              XCTAssertLessThanOrEqual(trace.peakSRAMBytes, plain.peakSRAMBytes, context.message())
            }
            // Step indices, modelled times and sections.
            var clock = 0.0
            for (k, step) in trace.steps.enumerated() {
              XCTAssertEqual(step.index, k, context.message())
              XCTAssertEqual(step.startSeconds, clock, context.message("steps run one after another"))
              XCTAssertEqual(step.durationSeconds, Trace.modelledSeconds(of: step.event, on: spec), context.message())
              XCTAssertLessThanOrEqual(step.sramInUseBytes, spec.sramCapacityInBytes, context.message())
              clock = step.endSeconds
            }
            let roofline = RooflineEstimate(ledger: trace.ledger, spec: spec)
            XCTAssertEqual(trace.totalSeconds, roofline.memorySeconds + roofline.computeSeconds,
                           accuracy: 1e-9 * trace.totalSeconds, context.message())
            XCTAssertFalse(trace.sections.isEmpty, context.message())
            XCTAssertEqual(trace.sections.first?.steps.lowerBound, 0, context.message())
            for (a, b) in zip(trace.sections, trace.sections.dropFirst()) {
              XCTAssertEqual(a.steps.upperBound, b.steps.lowerBound, context.message("sections are contiguous"))
            }
            // The HBM tile grid counts every transfer once per cell it covers.
            let counts = trace.accessCounts(after: trace.steps.count)
            for grid in counts {
              let read = trace.ledger[grid.grid.tensor.operand].readElements
              var fromCells = 0
              for r in 0..<grid.grid.rowCount {
                for col in 0..<grid.grid.columnCount {
                  let cellElements = (grid.grid.rowCuts[r + 1] - grid.grid.rowCuts[r]) * (grid.grid.columnCuts[col + 1] - grid.grid.columnCuts[col])
                  fromCells += grid.reads[r * grid.grid.columnCount + col] * cellElements
                }
              }
              XCTAssertEqual(fromCells, read, context.message("grid reads of \(grid.grid.tensor.name)"))
            }
          }
        }
      }
      }
    }
  }

  func testSteppingToTheEndGivesThePlainRunsOutputAndCounts() throws {
    for algorithm in Trace.traceableAlgorithms {
      for (n, d) in [(16, 8), (11, 6)] {
        try withTrace("\(algorithm), N: \(n), d: \(d)") { context in
          let problem = try AttentionProblem(sequenceLength: n, headDimension: d, dataType: .fp32, seed: 11)
          let plain = try Simulator.run(SimulationRequest(
            algorithm: algorithm, problem: problem, machine: .teaching, mode: .execute, threads: 1))
          var stepper = try Stepper(algorithm, problem: problem, spec: .teaching)
          XCTAssertNil(stepper.current, context.message())
          XCTAssertEqual(stepper.ledger, IOLedger(), context.message())
          var taken = 0
          while stepper.step() != nil { taken += 1 }
          XCTAssertTrue(stepper.isFinished, context.message())
          XCTAssertEqual(taken, stepper.trace.steps.count, context.message())
          XCTAssertEqual(stepper.ledger, plain.headLedger, context.message("counts"))
          XCTAssertEqual(stepper.trace.output, plain.firstHeadOutput, context.message("output, bit for bit"))
          XCTAssertEqual(stepper.residents, [], context.message("every tile freed"))
        }
      }
    }
  }

  func testTheStepperMovesBothWaysAndShowsTheMachine() throws {
    let problem = try AttentionProblem(sequenceLength: 16, headDimension: 8, seed: 1)
    var stepper = try Stepper(.flash, problem: problem, spec: .teaching)
    // Outer iteration j = 0 ends with the store of m for the last query block.
    let section = try XCTUnwrap(stepper.stepToSectionEnd())
    XCTAssertEqual(section.index, 0)
    XCTAssertEqual(stepper.position, 61)
    XCTAssertEqual(stepper.residents.count, 11)
    XCTAssertEqual(stepper.sramInUseBytes, 384)
    XCTAssertEqual(stepper.ledger[.key].readElements, 32, "only K_0 so far")
    XCTAssertEqual(stepper.ledger[.query].readElements, 128, "all of Q once")
    let m = try XCTUnwrap(stepper.statistics.first { $0.tile.name == "m_i" })
    XCTAssertEqual(m.rows, 12..<16)
    XCTAssertEqual(m.values.count, 4)
    XCTAssertTrue(m.values.allSatisfy(\.isFinite))
    let reads = stepper.accessCounts.first { $0.grid.tensor.name == "K" }?.reads
    XCTAssertEqual(reads, [1, 0, 0, 0])
    // Back one step: the store of m is undone.
    let before = stepper.ledger
    XCTAssertTrue(stepper.stepBack())
    XCTAssertEqual(stepper.ledger.hbmWriteElements, before.hbmWriteElements - 4)
    stepper.seek(to: 0)
    XCTAssertFalse(stepper.stepBack())
    XCTAssertEqual(stepper.upcoming?.index, 0)
    stepper.runToEnd()
    XCTAssertNil(stepper.step())
    XCTAssertEqual(stepper.trace.sections.count, 4)
    XCTAssertNil(stepper.stepToSectionEnd())
  }

  func testTheStepLimitIsAClearError() throws {
    let problem = try AttentionProblem(sequenceLength: 64, headDimension: 8)
    XCTAssertThrowsError(try Trace.record(.flash, problem: problem, spec: .teaching, stepLimit: 100)) { error in
      guard case let .tooManySteps(algorithm, steps, isLowerBound, limit)? = error as? TraceError else {
        return XCTFail("\(error)")
      }
      XCTAssertEqual(algorithm, .flash)
      XCTAssertTrue(isLowerBound, "refused before running")
      XCTAssertGreaterThan(steps, 100)
      XCTAssertEqual(limit, 100)
      XCTAssertFalse(String(describing: error).contains("\n"))
    }
    // Standard attention's bound is loose, so its run is counted to the end, then refused.
    XCTAssertThrowsError(try Trace.record(.standard, problem: problem, spec: .teaching, mode: .count, stepLimit: 420)) { error in
      guard case let .tooManySteps(_, steps, isLowerBound, _)? = error as? TraceError else { return XCTFail("\(error)") }
      XCTAssertFalse(isLowerBound)
      XCTAssertGreaterThan(steps, 420)
    }
  }
}
