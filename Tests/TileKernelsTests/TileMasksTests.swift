import XCTest
import _TestSupport
import TileKernels

/// TileMasks against the mask definitions, element by element, with padded strides.
final class TileMasksTests: XCTestCase {
  func testCausalMask() {
    for seed in TestShapes.seeds {
      var rng = SplitMix64(seed: seed)
      let rows = TestShapes.size(&rng)
      let columns = TestShapes.size(&rng)
      let rowOffset = Int(rng.next() % 64)
      let columnOffset = Int(rng.next() % 64)
      let original = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
      var tile = original
      tile.storage.withUnsafeMutableBufferPointer {
        TileMasks.applyCausal($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, rowOffset: rowOffset, columnOffset: columnOffset)
      }
      withTrace("seed: \(seed), rows: \(rows), columns: \(columns), rowOffset: \(rowOffset), columnOffset: \(columnOffset)") { context in
        XCTAssertTrue(tile.paddingIsIntact, context.message("padding written"))
        for r in 0..<rows {
          for c in 0..<columns {
            let masked = columnOffset + c > rowOffset + r
            XCTAssertEqual(tile[r, c], masked ? -.infinity : original[r, c], context.message("[\(r)][\(c)]"))
          }
        }
      }
    }
  }

  func testKeyPaddingMask() {
    for seed in TestShapes.seeds {
      var rng = SplitMix64(seed: seed)
      let rows = TestShapes.size(&rng)
      let columns = TestShapes.size(&rng)
      let columnOffset = Int(rng.next() % 48)
      let validColumns = Int(rng.next() % 96)
      let original = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
      var tile = original
      tile.storage.withUnsafeMutableBufferPointer {
        TileMasks.applyKeyPadding($0.baseAddress!, ld: tile.ld, rows: rows, columns: columns, columnOffset: columnOffset, validColumns: validColumns)
      }
      withTrace("seed: \(seed), rows: \(rows), columns: \(columns), columnOffset: \(columnOffset), validColumns: \(validColumns)") { context in
        XCTAssertTrue(tile.paddingIsIntact, context.message("padding written"))
        for r in 0..<rows {
          for c in 0..<columns {
            let masked = columnOffset + c >= validColumns
            XCTAssertEqual(tile[r, c], masked ? -.infinity : original[r, c], context.message("[\(r)][\(c)]"))
          }
        }
      }
    }
  }

  /// A causal diagonal tile followed by exponentiateRows gives a lower-triangular P.
  func testCausalThenSoftmaxIsLowerTriangular() {
    var tile = [Float](repeating: 1, count: 9 * 9)
    TileMasks.applyCausal(&tile, ld: 9, rows: 9, columns: 9, rowOffset: 0, columnOffset: 0)
    var maxima = [Float](repeating: 0, count: 9)
    RowReductions.rowMax(tile, ld: 9, rows: 9, columns: 9, into: &maxima)
    var sums = [Float](repeating: 0, count: 9)
    SoftmaxKernels.exponentiateRows(&tile, ld: 9, rows: 9, columns: 9, rowMax: maxima, rowSum: &sums)
    for r in 0..<9 {
      XCTAssertEqual(sums[r], Float(r + 1))
      for c in 0..<9 { XCTAssertEqual(tile[r * 9 + c], c <= r ? 1 : 0, "[\(r)][\(c)]") }
    }
  }
}
