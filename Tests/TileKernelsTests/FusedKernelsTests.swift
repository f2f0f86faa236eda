import XCTest
import _TestSupport
@testable import TileKernels

/// The kernels added for the benchmark's targets, each against its scalar twin on seeded ragged
/// tiles, and against the unfused kernels it replaces where it promises the same bits.
final class FusedKernelsTests: XCTestCase {
  /// Bit-for-bit equality (NaN equal to NaN with the same payload).
  func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
  }

  // MARK: Transpose

  func testTransposeMatchesScalarAndLeavesPaddingAlone() {
    for seed in TestShapes.seeds {
      var rng = SplitMix64(seed: seed)
      let rows = TestShapes.size(&rng)
      let columns = TestShapes.size(&rng)
      let source = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
      let target = PaddedTile(rows: columns, columns: rows, padding: TestShapes.padding(&rng), rng: &rng)
      var fast = target
      var slow = target
      fast.storage.withUnsafeMutableBufferPointer {
        TileGEMM.transpose(source.storage, ld: source.ld, rows: rows, columns: columns, into: $0.baseAddress!, ldt: target.ld)
      }
      slow.storage.withUnsafeMutableBufferPointer {
        TileGEMM.transposeScalar(source.storage, ld: source.ld, rows: rows, columns: columns, into: $0.baseAddress!, ldt: target.ld)
      }
      withTrace("seed: \(seed), rows: \(rows), columns: \(columns), ld: \(source.ld), ldt: \(target.ld)") { context in
        XCTAssertTrue(sameBits(fast.elements, slow.elements), context.message("transpose differs from its twin"))
        XCTAssertTrue(fast.paddingIsIntact, context.message("padding written"))
        if rows > 0 && columns > 0 { XCTAssertEqual(fast[columns - 1, 0], source[0, columns - 1], context.message()) }
      }
    }
  }

  func testTransposedTileCacheTransposesOncePerBlock() {
    var rng = SplitMix64(seed: 7)
    let (rows, columns) = (13, 9)
    var first = rng.normals(rows * columns)
    let second = rng.normals(rows * columns)
    var cache = TransposedTileCache(rows: rows, columns: columns)
    defer { cache.deallocate() }
    let copy = cache.transposed(first, ld: columns, rows: rows, block: 0)
    XCTAssertEqual(copy[2 * rows + 5], first[5 * columns + 2])
    // Same block: the copy is reused, even though the source changed.
    first[5 * columns + 2] = 1000
    XCTAssertNotEqual(cache.transposed(first, ld: columns, rows: rows, block: 0)[2 * rows + 5], 1000)
    // A new block: transposed again (only its 11 valid rows).
    let again = cache.transposed(second, ld: columns, rows: 11, block: 1)
    for r in 0..<11 { for c in 0..<columns { XCTAssertEqual(again[c * rows + r], second[r * columns + c]) } }
    let disabled = TransposedTileCache(rows: rows, columns: columns, enabled: false)
    disabled.deallocate()
  }

  // MARK: GEMM: the rescaling product and the 8-row block

  func testRescalingMultiplyMatchesScalar() {
    let shapes: [(Int, Int, Int)] = [(0, 5, 3), (5, 0, 3), (1, 1, 1), (8, 32, 8), (9, 40, 17), (13, 64, 33), (5, 7, 9), (17, 33, 40)]
    var cases = shapes.map { ($0, UInt64(1000)) }
    for seed in TestShapes.seeds.prefix(30) {
      var rng = SplitMix64(seed: seed)
      cases.append(((TestShapes.size(&rng), TestShapes.size(&rng), TestShapes.size(&rng)), seed))
    }
    for ((rows, columns, depth), seed) in cases {
      var rng = SplitMix64(seed: seed &+ 17)
      let a = PaddedTile(rows: rows, columns: depth, padding: TestShapes.padding(&rng), rng: &rng)
      let b = PaddedTile(rows: depth, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
      let c0 = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
      let rowScales = (0..<rows).map { _ in abs(rng.nextNormal()) }
      let outputScales = (0..<rows).map { r in r % 3 == 0 ? 0 : abs(rng.nextNormal()) }
      var fast = c0
      var slow = c0
      fast.storage.withUnsafeMutableBufferPointer {
        TileGEMM.multiply(
          a: a.storage, lda: a.ld, b: b.storage, ldb: b.ld, c: $0.baseAddress!, ldc: c0.ld, rows: rows, columns: columns, depth: depth,
          rowScales: rowScales, outputScales: outputScales)
      }
      slow.storage.withUnsafeMutableBufferPointer {
        TileGEMM.multiplyScalar(
          a: a.storage, lda: a.ld, b: b.storage, ldb: b.ld, c: $0.baseAddress!, ldc: c0.ld, rows: rows, columns: columns, depth: depth,
          rowScales: rowScales, outputScales: outputScales)
      }
      withTrace("seed: \(seed), rows: \(rows), columns: \(columns), depth: \(depth)") { context in
        XCTAssertTrue(fast.paddingIsIntact, context.message("padding written"))
        var failures = 0
        for i in 0..<rows {
          for j in 0..<columns {
            var magnitude: Float = 0
            for p in 0..<depth { magnitude += abs(a[i, p] * b[p, j]) }
            let tolerance = 1e-5 * (rowScales[i] * magnitude + outputScales[i] * abs(c0[i, j])) + 1e-30
            if !isClose(fast[i, j], slow[i, j], tolerance: tolerance) && failures < 5 {
              failures += 1
              XCTFail(context.message("C[\(i)][\(j)] = \(fast[i, j]), scalar twin \(slow[i, j])"))
            }
          }
        }
      }
    }
  }

  /// The 8-row block and the 4×64 and 6×64 blocks (used with TILEKERNELS_AVX512) and the 6×16
  /// and 4×24 blocks (TILEKERNELS_FMA on AVX2) sum every element in the same order as the 4-row
  /// block, so all give the same bits, in all three forms, with and without accumulation, and on
  /// ragged shapes (64-column strips with 1–3 leftover rows and 1–63 leftover columns, 16- and
  /// 24-column strips with 1–5 and 1–3 leftover rows).
  func testEveryRegisterBlockGivesTheFourRowBits() {
    let shapes: [(Int, Int, Int)] = [
      (1, 32, 3), (5, 32, 7), (7, 33, 9), (8, 64, 16), (9, 40, 17), (12, 35, 5), (16, 96, 64), (21, 50, 130),
      (1, 64, 4), (2, 128, 3), (3, 71, 9), (6, 130, 33), (13, 200, 64), (64, 192, 64), (15, 72, 11), (23, 96, 40),
    ]
    let blocks: [(rowBlock: Int, wide: Bool, narrow: Bool)] = [
      (4, false, false), (8, false, false), (4, true, false), (8, true, false), (4, false, true), (8, true, true),
    ]
    for (index, (rows, columns, depth)) in shapes.enumerated() {
      var rng = SplitMix64(seed: UInt64(index))
      // Both epilogues: the AVX2 blocks choose their strips by whether C is read.
      let accumulate = index % 2 == 0
      for form in ["nn", "transposedA", "transposedB"] {
        let (aRows, aColumns) = form == "transposedA" ? (depth, rows) : (rows, depth)
        let (bRows, bColumns) = form == "transposedB" ? (columns, depth) : (depth, columns)
        let a = PaddedTile(rows: aRows, columns: aColumns, padding: TestShapes.padding(&rng), rng: &rng)
        let b = PaddedTile(rows: bRows, columns: bColumns, padding: TestShapes.padding(&rng), rng: &rng)
        let c0 = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
        var results: [PaddedTile] = []
        for (rowBlock, wide, narrow) in blocks {
          var c = c0
          c.storage.withUnsafeMutableBufferPointer { pc in
            a.storage.withUnsafeBufferPointer { pa in
              b.storage.withUnsafeBufferPointer { pb in
                let epilogue = Epilogue(alpha: 0.5, accumulate: accumulate)
                switch form {
                case "nn":
                  TileGEMM.outerProduct(
                    a: pa.baseAddress!, aRowStride: a.ld, aDepthStride: 1, b: pb.baseAddress!, ldb: b.ld, bIsPadded: false,
                    c: pc.baseAddress!, ldc: c0.ld, rows: rows, columns: columns, depth: depth, epilogue: epilogue,
                    rowBlock: rowBlock, wideBlocks: wide, narrowBlocks: narrow)
                case "transposedA":
                  TileGEMM.outerProduct(
                    a: pa.baseAddress!, aRowStride: 1, aDepthStride: a.ld, b: pb.baseAddress!, ldb: b.ld, bIsPadded: false,
                    c: pc.baseAddress!, ldc: c0.ld, rows: rows, columns: columns, depth: depth, epilogue: epilogue,
                    rowBlock: rowBlock, wideBlocks: wide, narrowBlocks: narrow)
                default:
                  TileGEMM.transposeAndMultiply(
                    a: pa.baseAddress!, lda: a.ld, b: pb.baseAddress!, ldb: b.ld, c: pc.baseAddress!, ldc: c0.ld,
                    rows: rows, columns: columns, depth: depth, alpha: 0.5, accumulate: accumulate, rowBlock: rowBlock,
                    narrowBlocks: narrow)
                }
              }
            }
          }
          results.append(c)
        }
        // The scalar twin, so that every block is also checked against it on these shapes in
        // every build (the blocks share the 4-row block's bits, checked below).
        var twin = c0
        twin.storage.withUnsafeMutableBufferPointer { pc in
          a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
              let scalar = form == "nn" ? TileGEMM.multiplyScalar : form == "transposedA" ? TileGEMM.multiplyTransposedAScalar : TileGEMM.multiplyTransposedBScalar
              scalar(pa.baseAddress!, a.ld, pb.baseAddress!, b.ld, pc.baseAddress!, c0.ld, rows, columns, depth, 0.5, accumulate)
            }
          }
        }
        withTrace("\(form), rows: \(rows), columns: \(columns), depth: \(depth)") { context in
          for i in 0..<rows {
            for j in 0..<columns {
              // A few ulp of Σ|a·b| (plus |C| when accumulating), as in TileGEMMTests.
              var magnitude: Float = 0
              for p in 0..<depth {
                let x = form == "transposedA" ? a[p, i] : a[i, p]
                let y = form == "transposedB" ? b[j, p] : b[p, j]
                magnitude += abs(x * y)
              }
              let tolerance = 1e-5 * (0.5 * magnitude + (accumulate ? abs(c0[i, j]) : 0)) + 1e-30
              XCTAssertTrue(
                isClose(results[0][i, j], twin[i, j], tolerance: tolerance),
                context.message("C[\(i)][\(j)] = \(results[0][i, j]), scalar twin \(twin[i, j])"))
            }
          }
          for (k, result) in results.enumerated().dropFirst() {
            let block = blocks[k]
            XCTAssertTrue(
              sameBits(results[0].elements, result.elements),
              context.message("\(block) differs from the 4-row block"))
            XCTAssertTrue(result.paddingIsIntact, context.message("padding written (\(block))"))
          }
        }
      }
    }
  }

  // MARK: Softmax

  /// Scores with −∞ entries and fully masked rows (as in `SoftmaxKernelsTests`).
  func scores(_ rng: inout SplitMix64, rows: Int, columns: Int) -> PaddedTile {
    var tile = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), scale: 4, rng: &rng)
    for r in 0..<rows {
      let fullyMasked = rng.next() % 6 == 0
      for c in 0..<columns where fullyMasked || rng.next() % 8 == 0 { tile[r, c] = -.infinity }
    }
    return tile
  }

  func testExponentiateAboveRowMaxMatchesScalarAndTheTwoStepKernels() {
    for seed in TestShapes.seeds {
      var rng = SplitMix64(seed: seed)
      let rows = TestShapes.size(&rng)
      // A quarter of the cases have rows of 48–207 columns: the numerator's pipelined loop
      // needs at least four 16-wide steps to run its steady state, and odd counts its tail.
      let columns = seed % 4 == 0 ? 48 + Int(rng.next() % 160) : TestShapes.size(&rng)
      let tile = scores(&rng, rows: rows, columns: columns)
      var fused = tile
      var twoStep = tile
      var scalar = tile
      var (fusedMax, fusedSum) = ([Float](repeating: 0, count: rows), [Float](repeating: 0, count: rows))
      var (twoStepMax, twoStepSum) = (fusedMax, fusedSum)
      var (scalarMax, scalarSum) = (fusedMax, fusedSum)
      fused.storage.withUnsafeMutableBufferPointer {
        SoftmaxKernels.exponentiateAboveRowMax($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, rowMax: &fusedMax, rowSum: &fusedSum)
      }
      twoStep.storage.withUnsafeMutableBufferPointer {
        RowReductions.rowMax($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, into: &twoStepMax)
        SoftmaxKernels.exponentiateRows($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, rowMax: twoStepMax, rowSum: &twoStepSum)
      }
      scalar.storage.withUnsafeMutableBufferPointer {
        RowReductions.rowMaxScalar($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, into: &scalarMax)
        SoftmaxKernels.exponentiateRowsScalar($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, rowMax: scalarMax, rowSum: &scalarSum)
      }
      withTrace("seed: \(seed), rows: \(rows), columns: \(columns), ld: \(tile.ld)") { context in
        XCTAssertTrue(fused.paddingIsIntact, context.message("padding written"))
        XCTAssertTrue(sameBits(fused.elements, twoStep.elements), context.message("P differs from rowMax + exponentiateRows"))
        XCTAssertTrue(sameBits(fusedSum, twoStepSum), context.message("ℓ differs from rowMax + exponentiateRows"))
        XCTAssertEqual(fusedMax, scalarMax, context.message("m"))
        for r in 0..<rows {
          XCTAssertTrue(isClose(fusedSum[r], scalarSum[r], tolerance: 1e-5 * scalarSum[r]), context.message("ℓ[\(r)]"))
          for c in 0..<columns {
            XCTAssertTrue(isClose(fused[r, c], scalar[r, c], tolerance: 1e-6 * scalar[r, c] + 1e-37), context.message("P[\(r)][\(c)]"))
          }
        }
      }
    }
  }

  func testScaledExponentialsMatchScalarAndTheTwoStepKernels() {
    for seed in TestShapes.seeds {
      var rng = SplitMix64(seed: seed)
      let rows = TestShapes.size(&rng)
      let columns = TestShapes.size(&rng)
      let tile = scores(&rng, rows: rows, columns: columns)
      // Saved statistics: the true max (or −∞ for a fully masked row) and a positive scale.
      var maxima = [Float](repeating: 0, count: rows)
      tile.storage.withUnsafeBufferPointer {
        RowReductions.rowMaxScalar($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, into: &maxima)
      }
      let scales = (0..<rows).map { _ in 0.01 + abs(rng.nextNormal()) }
      var fused = tile
      var twoStep = tile
      var scalar = tile
      var sums = [Float](repeating: 0, count: rows)
      fused.storage.withUnsafeMutableBufferPointer {
        SoftmaxKernels.exponentiateRows($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, rowMax: maxima, rowScale: scales)
      }
      twoStep.storage.withUnsafeMutableBufferPointer {
        SoftmaxKernels.exponentiateRows($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, rowMax: maxima, rowSum: &sums)
        SoftmaxKernels.scaleRows($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, factors: scales)
      }
      scalar.storage.withUnsafeMutableBufferPointer {
        SoftmaxKernels.exponentiateRowsScalar($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, rowMax: maxima, rowSum: &sums)
        SoftmaxKernels.scaleRowsScalar($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, factors: scales)
      }
      withTrace("seed: \(seed), rows: \(rows), columns: \(columns), ld: \(tile.ld)") { context in
        XCTAssertTrue(fused.paddingIsIntact, context.message("padding written"))
        XCTAssertTrue(sameBits(fused.elements, twoStep.elements), context.message("differs from exponentiateRows + scaleRows"))
        for r in 0..<rows {
          for c in 0..<columns {
            XCTAssertTrue(isClose(fused[r, c], scalar[r, c], tolerance: 2e-6 * scalar[r, c] + 1e-37), context.message("P[\(r)][\(c)]"))
          }
        }
      }
    }
  }

  // MARK: Exponential

  func testSixteenLaneExpIsTheEightLaneExpAndNoOverflowAgreesBelow88() {
    var inputs: [Float] = [
      0, -0.0, -.infinity, .infinity, .nan, 88, 88.5, 88.72, 89, -86.9, (-86.9 as Float).nextUp, -86.95, -87.33, -87.34,
      -100, -1e30, 1e-30, -1e-30,
    ]
    let count = 1 << 14
    for i in 0..<count { inputs.append(-100 + 190 * Float(i) / Float(count - 1)) }
    while inputs.count % 16 != 0 { inputs.append(1) }
    var failures = 0
    for start in stride(from: 0, to: inputs.count, by: 16) {
      var x16 = SIMD16<Float>()
      for t in 0..<16 { x16[t] = inputs[start + t] }
      let wide = VectorExp.exp(x16)
      let bounded = VectorExp.expNoOverflow(x16)
      let low = VectorExp.exp(x16.lowHalf)
      let high = VectorExp.exp(x16.highHalf)
      for t in 0..<16 where failures < 5 {
        let lane = t < 8 ? low[t] : high[t - 8]
        if wide[t].bitPattern != lane.bitPattern {
          failures += 1
          XCTFail("exp(\(x16[t])): 16 lanes \(wide[t]), 8 lanes \(lane)")
        }
        let x = x16[t]
        let expected = x <= VectorExp.noOverflowFlushLimit ? 0 : wide[t]
        if (x <= VectorExp.noOverflowLimit || x.isNaN) && bounded[t].bitPattern != expected.bitPattern && !(bounded[t].isNaN && wide[t].isNaN) {
          failures += 1
          XCTFail("expNoOverflow(\(x)) = \(bounded[t]), expected \(expected)")
        }
      }
    }
  }
}
