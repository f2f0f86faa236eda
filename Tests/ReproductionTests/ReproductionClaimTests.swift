import AttentionIO
import XCTest
@testable import Reproduction

/// Runs each experiment at the reduced (`quick`) sizes and asserts the claim it reproduces: fitted
/// slopes within ±0.1, exact closed forms, a monotone block-size curve, exact proportionality in s.
final class ReproductionClaimTests: XCTestCase {
  let scale = ReproductionScale.quick
  let batch = SimulationBatch(threads: 2)

  func assertSlopes(_ sweep: IOSweep, file: StaticString = #filePath, line: UInt = #line) {
    let expected: [(IOSweep.Axis, AttentionAlgorithmKind, Double)] = [
      (.sequenceLength, .standard, 2), (.sramSize, .standard, 0),
      (.sequenceLength, .flash, 2), (.sramSize, .flash, -1), (.headDimension, .flash, 2),
    ]
    for (axis, algorithm, slope) in expected {
      guard let fit = sweep.fit(axis, algorithm) else {
        XCTFail("\(sweep.pass) \(axis) \(algorithm): no fit (too few points in the window)", file: file, line: line)
        continue
      }
      XCTAssertGreaterThanOrEqual(fit.points.count, 3, "\(sweep.pass) \(axis) \(algorithm)", file: file, line: line)
      XCTAssertEqual(fit.slope, slope, accuracy: 0.1, "\(sweep.pass) \(axis.rawValue) \(algorithm.rawValue) over \(fit.window)", file: file, line: line)
      XCTAssertTrue(fit.holds, file: file, line: line)
    }
  }

  func testTheorem2ForwardSlopesAndClosedForms() throws {
    let sweep = try IOSweep.run(pass: .forward, scale: scale, batch: batch)
    assertSlopes(sweep)
    for point in sweep.points {
      XCTAssertEqual(point.elements, point.closedFormElements, "\(point.axis) \(point.algorithm) N=\(point.sequenceLength) d=\(point.headDimension) M=\(point.sramElements)")
    }
    // FlashAttention's literal count, recomputed here from the paper's formula.
    for point in sweep.points where point.algorithm == .flash {
      let (n, d, tc) = (point.sequenceLength, point.headDimension, point.keyBlockCount)
      XCTAssertEqual(point.elements, 2 * n * d + tc * (3 * n * d + 4 * n))
    }
    XCTAssertEqual(sweep.csv.header, ["experiment", "N", "d", "M", "algorithm", "elements"])
    XCTAssertEqual(sweep.csv.rows.count, sweep.points.count)
  }

  func testTheorem5BackwardSlopesAndClosedForms() throws {
    let sweep = try IOSweep.run(pass: .backward, scale: scale, batch: batch)
    assertSlopes(sweep)
    XCTAssertTrue(sweep.allMatchClosedForm)
    for point in sweep.points where point.algorithm == .flash {
      let (n, d, tc) = (point.sequenceLength, point.headDimension, point.keyBlockCount)
      XCTAssertEqual(point.elements, 4 * n * d + tc * (5 * n * d + 2 * n))
    }
  }

  func testTheorem1ExecuteModeIsExactAndCountsLikeCountMode() throws {
    let exactness = try Exactness.run(scale: scale)
    XCTAssertTrue(exactness.countsAgree)
    XCTAssertEqual(Set(exactness.errors.keys), ["O", "dQ", "dK", "dV"])
    XCTAssertLessThan(exactness.maxRelativeError, 1e-4)
    XCTAssertGreaterThan(exactness.blocks.keyBlockCount(exactness.sequenceLength), 1, "the online softmax must merge several blocks")
  }

  func testProposition3RatioIsTheSameConstantForEveryNAtTheTopOfTheRange() throws {
    let result = try Proposition3.run(scale: scale, batch: batch)
    XCTAssertTrue(result.points.allSatisfy(\.matchesClosedForm))
    XCTAssertEqual(result.topRatios.count, scale.proposition3SequenceLengths.count)
    XCTAssertEqual(result.topSpread, 0, accuracy: 1e-12)
    let d = Double(scale.headDimension)
    // T_c = 4 at M = Nd: (2Nd + 4(3Nd + 4N)) / 4Nd = 3.5 + 4/d.
    for ratio in result.topRatios { XCTAssertEqual(ratio, 3.5 + 4 / d, accuracy: 1e-12) }
    // The ratio falls as M grows, for every N.
    for n in scale.proposition3SequenceLengths {
      let ratios = result.points.filter { $0.sequenceLength == n }.sorted { $0.sramElements < $1.sramElements }.map(\.ratio)
      XCTAssertEqual(ratios, ratios.sorted(by: >), "N=\(n)")
    }
  }

  func testProposition4TrafficIsExactlyAffineInTheDensity() throws {
    let result = try Proposition4.run(scale: scale, batch: batch)
    XCTAssertTrue(result.exactlyProportional)
    XCTAssertTrue(result.points.allSatisfy(\.matchesClosedForm))
    XCTAssertEqual(result.fit.intercept, Double(result.baseElements), accuracy: 1e-3)
    XCTAssertEqual(result.fit.maxResidual, 0, accuracy: 1e-3)
    let empty = try XCTUnwrap(result.points.first { $0.nonzeroBlocks == 0 })
    XCTAssertEqual(empty.elements, 2 * result.sequenceLength * result.headDimension, "intercept: K and V read once")
    let br = result.blocks.queryBlockSize
    let d = result.headDimension
    for p in result.points {
      XCTAssertEqual(p.elements, result.baseElements + p.nonzeroBlocks * (3 * br * d + 4 * br), p.pattern)
    }
  }

  func testFigure2MiddleIsMonotoneAndTurnsComputeBoundAtTheTop() throws {
    let result = try Figure2Middle.run(scale: scale, batch: batch)
    XCTAssertEqual(result.rows.map(\.keyBlockSize), [64, 128, 256, 512])
    XCTAssertTrue(result.isMonotone)
    XCTAssertTrue(result.rows.allSatisfy(\.matchesClosedForm))
    let turn = try XCTUnwrap(result.firstComputeBound)
    XCTAssertTrue([256, 512].contains(turn.keyBlockSize), "compute-bound from \(turn.keyBlockSize)")
    XCTAssertEqual(result.rows.map(\.fitsWithPaperRowsInSRAMAlone), [true, true, true, false])
    XCTAssertEqual(result.rows.map(\.fitsWithPaperRows), [true, true, true, true], "accumulators in the register file")
  }

  func testFigure2LeftRowsAndTheFlashInvestigation() throws {
    let result = try Figure2Left.run(scale: scale, batch: batch)
    XCTAssertTrue(result.rows.allSatisfy(\.matchesClosedForm))
    let standard = try XCTUnwrap(result.row("standard"))
    let unfused = try XCTUnwrap(result.row("standard-unfused"))
    let flash = try XCTUnwrap(result.row("flash"))
    XCTAssertEqual(unfused.hbmGB, 40.3, accuracy: 0.15 * 40.3, "standard-unfused within ±15% of the paper")
    XCTAssertEqual(try XCTUnwrap(unfused.withinTolerance), true)
    XCTAssertLessThan(standard.hbmBytes, unfused.hbmBytes)
    // Forward + backward per head in bytes from the closed forms: data fp16, ℓ and m fp32.
    let (n, d, heads) = (1024, 64, 64 * 16)
    func bytes(forwardT: Int, backwardT: Int) -> Int {
      let data = (2 * n * d + forwardT * 3 * n * d) + (4 * n * d + backwardT * 5 * n * d)
      let stats = forwardT * 4 * n + backwardT * 2 * n
      return (data * 2 + stats * 4) * heads
    }
    // The simulator as it is: the paper's blocks Bc = 384 in both passes (accumulators in registers).
    let paper = BlockSizes(queryBlockSize: 64, keyBlockSize: 384)
    XCTAssertEqual(flash.forwardBlocks, paper)
    XCTAssertEqual(flash.backwardBlocks, paper)
    XCTAssertEqual(flash.hbmBytes, bytes(forwardT: 3, backwardT: 3))
    XCTAssertEqual(flash.withinTolerance, true, "flash within ±15% of 4.4 GB: \(flash.hbmGB)")
    // Every tile in the SRAM: the backward shrinks to Bc = 212 (T_c = 5), outside ±15%.
    let shared = try XCTUnwrap(result.rows.first { $0.implementation.hasPrefix("flash (no register file") })
    XCTAssertEqual(shared.backwardBlocks, BlockSizes(queryBlockSize: 64, keyBlockSize: 212))
    XCTAssertEqual(shared.hbmBytes, bytes(forwardT: 3, backwardT: 5))
    XCTAssertEqual(shared.withinTolerance, false)
    let kernel = try XCTUnwrap(result.row("flash (FA1 kernel blocks Br=16 Bc=256)"))
    XCTAssertEqual(kernel.hbmBytes, bytes(forwardT: 4, backwardT: 4))
    let a100 = MachineSpec.a100_40GB
    XCTAssertGreaterThan(result.paperBackwardBytes.total, a100.sramCapacityInBytes)
    XCTAssertLessThanOrEqual(result.paperBackwardBytes.sram, a100.sramCapacityInBytes)
    XCTAssertLessThanOrEqual(result.paperBackwardBytes.registers, a100.registerFileInBytes)
    XCTAssertGreaterThan(result.paperBackwardBytes.registersInFP32, a100.registerFileInBytes)
    XCTAssertEqual(result.fp32KeyBlock.paperRows, 255)
    XCTAssertEqual(result.fp32KeyBlock.sixteenRows, 384)
    // The headline shape: more FLOPs, fewer bytes, less modelled time.
    XCTAssertGreaterThan(flash.flops, unfused.flops)
    XCTAssertLessThan(flash.runtimeMilliseconds, unfused.runtimeMilliseconds)
    XCTAssertEqual(result.csv.header, ["implementation", "hbm_gb", "gflops", "runtime_ms"])
    XCTAssertEqual(Array(result.csv.rows.map { $0[0] }.prefix(3)), ["standard", "standard-unfused", "flash"])
  }

  func testFigure2RightRuntimeFallsWithTheDensity() throws {
    let result = try Figure2Right.run(scale: scale, batch: batch)
    XCTAssertTrue((result.rows + [result.dense]).allSatisfy(\.matchesClosedForm))
    let random = result.rows.filter(\.isRandom).sorted { $0.density < $1.density }
    XCTAssertEqual(random.map(\.runtimeMilliseconds), random.map(\.runtimeMilliseconds).sorted())
    XCTAssertLessThan(result.fit.maxResidual, 0.05 * result.dense.runtimeMilliseconds)
    XCTAssertGreaterThan(result.fit.intercept, 0, "K and V are loaded whatever the mask")
    let butterfly = try XCTUnwrap(result.rows.first { $0.pattern == "butterfly" })
    XCTAssertLessThan(butterfly.runtimeMilliseconds, result.dense.runtimeMilliseconds)
  }

  func testTable21FootprintsAreExactlyQuadraticAndLinear() throws {
    let result = try Table21.run(scale: scale, batch: batch)
    let d = result.headDimension
    for row in result.rows {
      let n = row.sequenceLength
      // Standard: S, P, dP, dS (fp16 N×N) and Q, K, V, O, dO, dQ, dK, dV (fp16 N×d).
      XCTAssertEqual(row.standardBytesPerHead, 4 * n * n * 2 + 8 * n * d * 2, "N=\(n)")
      // FlashAttention: the eight N×d tensors and ℓ, m in fp32.
      XCTAssertEqual(row.flashBytesPerHead, 8 * n * d * 2 + 2 * n * 4, "N=\(n)")
    }
    XCTAssertEqual(result.flashSlope.slope, 1, accuracy: 0.1)
    XCTAssertEqual(result.standardSlope.slope, 2, accuracy: 0.1)
    let at4K = try XCTUnwrap(result.rows.first { $0.sequenceLength == 4096 })
    XCTAssertEqual(try XCTUnwrap(at4K.paperRatio), 20.36, accuracy: 0.01)
    XCTAssertGreaterThan(at4K.ratio, 20)
  }
}
