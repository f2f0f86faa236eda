import XCTest
import AttentionIO
import _TestSupport
@testable import Benchmarks

/// The benchmark's plumbing at tiny sizes (debug builds time nothing meaningful): the bare
/// schedule computes what the machine computes, counts do not depend on threads, and the report
/// has its contract keys.
final class BenchmarkPlumbingTests: XCTestCase {
  /// N = 100 with Br = 16, Bc = 24: several blocks each way and ragged last blocks.
  static let blocks = BlockSizes(queryBlockSize: 16, keyBlockSize: 24)

  func testBareScheduleComputesExactlyWhatTheMachineComputes() throws {
    for (n, d) in [(100, 16), (37, 9)] {
      try withTrace("N: \(n), d: \(d), blocks: \(Self.blocks)") { context in
        var workload = try HeadWorkload(.flash, sequenceLength: n, headDimension: d, blocks: Self.blocks)
        let inputs = workload.inputs
        let bare = BareFlashAttention(
          queries: inputs.q, keys: inputs.k, values: inputs.v, outputGradient: inputs.dO, sequenceLength: n, headDimension: d,
          blocks: Self.blocks, scale: workload.problem.softmaxScale)
        try workload.runForward()
        bare.forward()
        XCTAssertEqual(BenchmarkSuite.maxDifference(workload.output, bare.output), 0, context.message("O"))
        let machine = try workload.gradients()
        bare.backward()
        let expected = bare.gradients
        XCTAssertEqual(BenchmarkSuite.maxDifference(machine.dQ, expected.dQ), 0, context.message("dQ"))
        XCTAssertEqual(BenchmarkSuite.maxDifference(machine.dK, expected.dK), 0, context.message("dK"))
        XCTAssertEqual(BenchmarkSuite.maxDifference(machine.dV, expected.dV), 0, context.message("dV"))
        // And both are attention: against the float64 reference.
        let reference = ReferenceAttention.forward(
          queries: inputs.q, keys: inputs.k, values: inputs.v, sequenceLength: n, headDimension: d,
          scale: workload.problem.softmaxScale, context: workload.problem.headContext(0))
        XCTAssertLessThan(maxRelativeError(bare.output, reference), 1e-5, context.message("O against float64"))
      }
    }
  }

  func testCountsAreIdenticalWithOneAndTwoThreads() throws {
    let configuration = BenchmarkConfiguration(sequenceLengths: [96], headDimensions: [16], threadCounts: [1, 2], repetitions: 1, heads: 3)
    for algorithm in BenchmarkAlgorithm.allCases {
      for pass in BenchmarkPass.allCases {
        let measured = try BenchmarkSuite.measureCase(algorithm, pass, .init(sequenceLength: 96, headDimension: 16), configuration: configuration)
        XCTAssertTrue(measured.countsIdentical, "\(algorithm) \(pass)")
        XCTAssertEqual(measured.results.map(\.threads), [1, 2])
        XCTAssertEqual(measured.results.map(\.heads), [3, 3])
        let flops = 4.0 * 96 * 96 * 16 * 3 * (pass == .forward ? 1 : 2.5)
        XCTAssertEqual(measured.results[0].flops, flops, "\(algorithm) \(pass): the FLOP convention")
      }
    }
  }

  /// One head's ledger from the workload equals `Simulator.run`'s for the same problem: the
  /// benchmark times the algorithm users run.
  func testWorkloadCountsMatchTheSimulator() throws {
    var workload = try HeadWorkload(.flash, sequenceLength: 80, headDimension: 8)
    let forward = try workload.runForward()
    let backward = try workload.runBackward()
    let result = try Simulator.run(SimulationRequest(
      algorithm: .flash, pass: .both, problem: workload.problem, machine: workload.spec, mode: .count))
    XCTAssertEqual(forward.hbmReadElements, result.pass(.forward)?.ledger.hbmReadElements)
    XCTAssertEqual(backward.hbmWriteElements, result.pass(.backward)?.ledger.hbmWriteElements)
    XCTAssertEqual(forward.matmulFLOPs + backward.matmulFLOPs, result.ledger.matmulFLOPs)
  }

  func testReportHasTheContractKeys() throws {
    let configuration = BenchmarkConfiguration(
      sequenceLengths: [64], headDimensions: [16], repetitions: 1, peakTrials: 1,
      cacheEffect: CacheEffectSizes(large: 96, small: 48, headDimension: 16), memoryCheckSequenceLength: 256)
    let report = try BenchmarkSuite.run(configuration)
    let json = try JSONValue.parse(report.json().serialized(pretty: true))
    XCTAssertNotNil(json["peakGflops"]?.doubleValue)
    XCTAssertNotNil(json["accountingOverhead"]?.doubleValue)
    let results = try XCTUnwrap(json["results"]?.arrayValue)
    XCTAssertEqual(results.count, 2 * 2 * 2, "flash and standard × forward and backward × 1 and 2 threads")
    for result in results {
      for key in ["algorithm", "pass", "seqLen", "headDim", "threads", "medianSeconds", "gflops", "fractionOfPeak"] {
        XCTAssertNotNil(result[key], key)
      }
      XCTAssertEqual(result["seqLen"]?.intValue, 64)
    }
    for path in ["threadScaling.speedup", "countMode.stepsPerSecond", "cacheEffect.beyondCache.standardSeconds", "memoryCheck.peakResidentBytes", "host.cpu"] {
      XCTAssertNotNil(json[path: path], path)
    }
    XCTAssertEqual(json[path: "threadScaling.countsIdentical"], .bool(true))
    XCTAssertEqual(json[path: "accounting.passes"]?.arrayValue?.map { $0["maxDifference"]?.doubleValue }, [0, 0])
    let text = report.table()
    for phrase in ["GFLOP/s", "accounting overhead", "count mode", "cache effect", "targets:", "4·N²·d"] {
      XCTAssertTrue(text.contains(phrase), phrase)
    }
  }

  func testCountModeStepsAreTheTracedEvents() throws {
    let problem = try AttentionProblem(sequenceLength: 200, headDimension: 16)
    let steps = try BenchmarkSuite.countSteps(problem)
    var machine = Machine(spec: .a100_40GB, mode: .count)
    machine.recordsEvents = true
    let blocks = try BlockSelection.choose(.flash, pass: .backward, problem: problem, spec: .a100_40GB)
    let q = try machine.allocateTensor("Q", operand: .query, rows: 200, columns: 16, elementType: problem.dataType)
    let k = try machine.allocateTensor("K", operand: .key, rows: 200, columns: 16, elementType: problem.dataType)
    let v = try machine.allocateTensor("V", operand: .value, rows: 200, columns: 16, elementType: problem.dataType)
    let forward = try FlashAttentionForward.run(on: &machine, queries: q, keys: k, values: v, blocks: blocks, problem: problem)
    let dO = try machine.allocateTensor("dO", operand: .outputGradient, rows: 200, columns: 16, elementType: problem.dataType)
    _ = try FlashAttentionBackward.run(
      on: &machine, queries: q, keys: k, values: v, forward: forward, outputGradient: dO, blocks: blocks, problem: problem,
      context: problem.headContext(0))
    XCTAssertEqual(steps, machine.events.count)
  }

  func testBuildAdviceNamesTheFlagThatSuitsTheCPU() {
    let avx2: Set<String> = ["fma", "avx2"]
    let avx512: Set<String> = ["fma", "avx2", "avx512f"]
    XCTAssertNil(HostInfo.advice(buildFlags: ["TILEKERNELS_FMA"], cpuFeatures: avx2))
    XCTAssertNil(HostInfo.advice(buildFlags: ["TILEKERNELS_AVX512"], cpuFeatures: avx512))
    XCTAssertEqual(
      HostInfo.advice(buildFlags: ["TILEKERNELS_AVX512"], cpuFeatures: avx2),
      "this CPU has no AVX-512, so the AVX-512 register blocks spill: rebuild with -Xswiftc -target-cpu -Xswiftc native -Xswiftc -DTILEKERNELS_FMA")
    XCTAssertEqual(
      HostInfo.advice(buildFlags: [], cpuFeatures: avx512),
      "no TILEKERNELS_* flag, so multiply–adds are not fused: rebuild with -Xswiftc -target-cpu -Xswiftc native -Xswiftc -DTILEKERNELS_AVX512")
    XCTAssertNotNil(HostInfo.advice(buildFlags: ["TILEKERNELS_FMA"], cpuFeatures: avx512))
    // Unknown features (not Linux, or no FMA): no advice.
    XCTAssertNil(HostInfo.advice(buildFlags: [], cpuFeatures: []))
  }

  func testHostInfoParsesCacheSizes() {
    XCTAssertEqual(HostInfo.parseSize("48K"), 48 << 10)
    XCTAssertEqual(HostInfo.parseSize("107520K"), 107_520 << 10)
    XCTAssertEqual(HostInfo.parseSize("2M"), 2 << 20)
    XCTAssertEqual(HostInfo.parseSize("512"), 512)
    #if os(Linux)
      XCTAssertGreaterThan(ResidentMemory.peakBytes(), 0)
      XCTAssertGreaterThanOrEqual(ResidentMemory.peakBytes(), ResidentMemory.currentBytes() / 2)
    #endif
  }

  func testKernelBreakdownTimesEveryPartOfTheStep() {
    // A ragged shape (70 = 4·16 + 6) so the last query block is short.
    let blocks = BlockSizes(queryBlockSize: 16, keyBlockSize: 24)
    let breakdown = KernelBreakdown.measure(sequenceLength: 70, headDimension: 8, blocks: blocks, repetitions: 1)
    XCTAssertEqual(breakdown.parts.count, 5)
    XCTAssertTrue(breakdown.parts.allSatisfy { $0.microseconds.isFinite })
    // The two products, 2·N·Bc·d FLOPs each over the Tr = 5 steps.
    let product: Double = 2 * 70 * 24 * 8 / 5
    XCTAssertEqual(breakdown.parts.map(\.flops), [product, 0, 0, product, 0])
    XCTAssertGreaterThan(breakdown.bareStepMicroseconds, 0)
    let table = breakdown.table()
    XCTAssertTrue(table.contains("Br×Bc = 16×24"), table)
    XCTAssertTrue(table.contains("bare schedule, per step"), table)
  }

  func testMedian() {
    XCTAssertEqual(Stopwatch.median([3, 1, 2]), 2)
    XCTAssertEqual(Stopwatch.median([4, 1, 3, 2]), 2.5)
    XCTAssertEqual(Stopwatch.median([]), 0)
  }
}
