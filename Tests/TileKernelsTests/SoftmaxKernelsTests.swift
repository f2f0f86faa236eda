import XCTest
import _TestSupport
import TileKernels

/// SoftmaxKernels against their scalar twins, plus the fully masked row rule.
final class SoftmaxKernelsTests: XCTestCase {
  /// A random score tile (scale 4) with some −∞ entries and some fully masked rows, and its
  /// row maxima.
  func scores(_ rng: inout SplitMix64, rows: Int, columns: Int) -> (PaddedTile, [Float]) {
    var tile = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), scale: 4, rng: &rng)
    for r in 0..<rows {
      let fullyMasked = rng.next() % 6 == 0
      for c in 0..<columns where fullyMasked || rng.next() % 8 == 0 { tile[r, c] = -.infinity }
    }
    var maxima = [Float](repeating: 0, count: rows)
    tile.storage.withUnsafeBufferPointer { p in
      maxima.withUnsafeMutableBufferPointer { m in
        RowReductions.rowMaxScalar(p.baseAddress!, ld: tile.ld, rows: rows, columns: columns, into: m.baseAddress!)
      }
    }
    return (tile, maxima)
  }

  func testExponentiateRowsMatchesScalar() {
    for seed in TestShapes.seeds {
      var rng = SplitMix64(seed: seed)
      let rows = TestShapes.size(&rng)
      let columns = TestShapes.size(&rng)
      let (tile, maxima) = scores(&rng, rows: rows, columns: columns)
      var fast = tile
      var slow = tile
      var fastSum = [Float](repeating: PaddedTile.sentinel, count: rows + 1)
      var slowSum = [Float](repeating: PaddedTile.sentinel, count: rows + 1)
      fast.storage.withUnsafeMutableBufferPointer { p in
        SoftmaxKernels.exponentiateRows(p.baseAddress!, ld: tile.ld, rows: rows, columns: columns, rowMax: maxima, rowSum: &fastSum)
      }
      slow.storage.withUnsafeMutableBufferPointer { p in
        SoftmaxKernels.exponentiateRowsScalar(p.baseAddress!, ld: tile.ld, rows: rows, columns: columns, rowMax: maxima, rowSum: &slowSum)
      }
      withTrace("seed: \(seed), rows: \(rows), columns: \(columns), ld: \(tile.ld)") { context in
        XCTAssertTrue(fast.paddingIsIntact, context.message("padding written"))
        XCTAssertEqual(fastSum[rows].bitPattern, PaddedTile.sentinel.bitPattern, context.message("wrote past rowSum[rows − 1]"))
        var failures = 0
        for r in 0..<rows {
          for c in 0..<columns {
            // Both exps are within ~1 ulp; results below e^−87.33 are flushed to 0 here.
            let ok = isClose(fast[r, c], slow[r, c], tolerance: 1e-6 * slow[r, c] + 1e-37)
            if !ok && failures < 5 {
              failures += 1
              XCTFail(context.message("P[\(r)][\(c)] = \(fast[r, c]), scalar twin \(slow[r, c])"))
            }
          }
          XCTAssertTrue(isClose(fastSum[r], slowSum[r], tolerance: 1e-5 * slowSum[r]), context.message("ℓ[\(r)] = \(fastSum[r]), scalar twin \(slowSum[r])"))
          XCTAssertFalse(fastSum[r].isNaN, context.message("ℓ[\(r)] is NaN"))
        }
      }
    }
  }

  /// rowMax = −∞ (every score masked) must give P = 0 and ℓ = 0, never NaN, even when the tile
  /// still holds finite values.
  func testFullyMaskedRowsGiveZerosNotNaN() {
    for columns in [0, 1, 7, 8, 9, 17, 40] {
      withTrace("columns: \(columns)") { context in
        let ld = columns + 3
        var tile = [Float](repeating: PaddedTile.sentinel, count: 2 * ld)
        for c in 0..<columns {
          tile[c] = -.infinity  // row 0: all masked
          tile[ld + c] = Float(c)  // row 1: finite scores but a −∞ max
        }
        var sums: [Float] = [.nan, .nan]
        SoftmaxKernels.exponentiateRows(&tile, ld: ld, rows: 2, columns: columns, rowMax: [-.infinity, -.infinity], rowSum: &sums)
        XCTAssertEqual(sums, [0, 0], context.message())
        for r in 0..<2 {
          for c in 0..<columns { XCTAssertEqual(tile[r * ld + c], 0, context.message("P[\(r)][\(c)]")) }
          for c in columns..<ld { XCTAssertEqual(tile[r * ld + c].bitPattern, PaddedTile.sentinel.bitPattern, context.message("padding")) }
        }
      }
    }
  }

  func testScaleRowsAndSoftmaxGradientMatchScalarExactly() {
    for seed in TestShapes.seeds {
      var rng = SplitMix64(seed: seed)
      let rows = TestShapes.size(&rng)
      let columns = TestShapes.size(&rng)
      let tile = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
      let p = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
      let factors = rng.normals(rows)
      let d = rng.normals(rows)
      var fast = tile
      var slow = tile
      fast.storage.withUnsafeMutableBufferPointer { SoftmaxKernels.scaleRows($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, factors: factors) }
      slow.storage.withUnsafeMutableBufferPointer { SoftmaxKernels.scaleRowsScalar($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, factors: factors) }
      var fastGradient = tile
      var slowGradient = tile
      fastGradient.storage.withUnsafeMutableBufferPointer { dp in
        SoftmaxKernels.softmaxGradient(p: p.storage, ldp: p.ld, dp: dp.baseAddress!, lddp: tile.ld, rows: rows, columns: columns, rowTerms: d)
      }
      slowGradient.storage.withUnsafeMutableBufferPointer { dp in
        SoftmaxKernels.softmaxGradientScalar(p: p.storage, ldp: p.ld, dp: dp.baseAddress!, lddp: tile.ld, rows: rows, columns: columns, rowTerms: d)
      }
      withTrace("seed: \(seed), rows: \(rows), columns: \(columns), ld: \(tile.ld), ldp: \(p.ld)") { context in
        // One multiply (or one subtract and one multiply) per element: bit-identical.
        XCTAssertEqual(fast.elements, slow.elements, context.message("scaleRows"))
        XCTAssertEqual(fastGradient.elements, slowGradient.elements, context.message("softmaxGradient"))
        XCTAssertTrue(fast.paddingIsIntact, context.message("scaleRows padding"))
        XCTAssertTrue(fastGradient.paddingIsIntact, context.message("softmaxGradient padding"))
        if rows > 0 && columns > 0 {
          XCTAssertEqual(fast[rows - 1, columns - 1], tile[rows - 1, columns - 1] * factors[rows - 1], context.message())
          let expected = p[0, 0] * (tile[0, 0] - d[0])
          XCTAssertEqual(fastGradient[0, 0], expected, context.message())
        }
      }
    }
  }
}
