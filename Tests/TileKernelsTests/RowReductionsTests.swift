import XCTest
import _TestSupport
import TileKernels

/// RowReductions against their scalar twins on seeded ragged tiles with padded strides.
final class RowReductionsTests: XCTestCase {
  /// Runs `kernel` into an output buffer of `rows` floats followed by a sentinel guard.
  func reduce(rows: Int, _ kernel: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    var out = [Float](repeating: PaddedTile.sentinel, count: rows + 4)
    out.withUnsafeMutableBufferPointer { kernel($0.baseAddress!) }
    return out
  }

  func assertGuardIntact(_ out: [Float], rows: Int, _ context: TestContext) {
    for index in rows..<out.count {
      XCTAssertEqual(out[index].bitPattern, PaddedTile.sentinel.bitPattern, context.message("wrote past out[\(rows - 1)]"))
    }
  }

  func testRowMaxMatchesScalarExactly() {
    for seed in TestShapes.seeds {
      var rng = SplitMix64(seed: seed)
      let rows = TestShapes.size(&rng)
      let columns = TestShapes.size(&rng)
      var tile = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), scale: 10, rng: &rng)
      // Some masked entries, and in some rows all of them.
      for r in 0..<rows {
        let fullyMasked = rng.next() % 8 == 0
        for c in 0..<columns where fullyMasked || rng.next() % 5 == 0 { tile[r, c] = -.infinity }
      }
      let fast = tile.storage.withUnsafeBufferPointer { p in
        reduce(rows: rows) { RowReductions.rowMax(p.baseAddress!, ld: tile.ld, rows: rows, columns: columns, into: $0) }
      }
      let slow = tile.storage.withUnsafeBufferPointer { p in
        reduce(rows: rows) { RowReductions.rowMaxScalar(p.baseAddress!, ld: tile.ld, rows: rows, columns: columns, into: $0) }
      }
      withTrace("seed: \(seed), rows: \(rows), columns: \(columns), ld: \(tile.ld)") { context in
        for r in 0..<rows {
          XCTAssertEqual(fast[r], slow[r], context.message("row \(r)"))
          let expected = tile.elements[(r * columns)..<((r + 1) * columns)].max() ?? -.infinity
          XCTAssertEqual(fast[r], expected, context.message("row \(r) against Swift max()"))
        }
        assertGuardIntact(fast, rows: rows, context)
      }
    }
  }

  /// NaN is ignored by the max (documented): numbers win, an all-NaN row gives −∞, and an
  /// empty row gives −∞.
  func testRowMaxNaNAndEmptyRows() {
    for columns in [1, 7, 8, 9, 17, 33, 40] {
      withTrace("columns: \(columns)") { context in
        var tile = [Float](repeating: .nan, count: 3 * columns)
        for c in 0..<columns { tile[c] = Float(c) - 3 }  // row 0: numbers, max columns − 4
        tile[0] = .nan  // row 0 starts with NaN too
        tile[columns + columns / 2] = 5  // row 1: NaN except one 5
        // row 2: all NaN
        var out = [Float](repeating: 0, count: 3)
        RowReductions.rowMax(tile, ld: columns, rows: 3, columns: columns, into: &out)
        var twin = [Float](repeating: 0, count: 3)
        RowReductions.rowMaxScalar(tile, ld: columns, rows: 3, columns: columns, into: &twin)
        XCTAssertEqual(out[0], columns == 1 ? -.infinity : Float(columns - 4), context.message())
        XCTAssertEqual(out[1], 5, context.message())
        XCTAssertEqual(out[2], -.infinity, context.message())
        XCTAssertEqual(out, twin, context.message("scalar twin"))
      }
    }
    var out: [Float] = [0, 0]
    RowReductions.rowMax([], ld: 0, rows: 2, columns: 0, into: &out)
    XCTAssertEqual(out, [-.infinity, -.infinity])
  }

  func testRowSumAndRowDotMatchScalar() {
    for seed in TestShapes.seeds {
      var rng = SplitMix64(seed: seed)
      let rows = TestShapes.size(&rng)
      let columns = TestShapes.size(&rng)
      let a = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
      let b = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
      let (sumFast, sumSlow, dotFast, dotSlow) = a.storage.withUnsafeBufferPointer { pa in
        b.storage.withUnsafeBufferPointer { pb in
          (
            reduce(rows: rows) { RowReductions.rowSum(pa.baseAddress!, ld: a.ld, rows: rows, columns: columns, into: $0) },
            reduce(rows: rows) { RowReductions.rowSumScalar(pa.baseAddress!, ld: a.ld, rows: rows, columns: columns, into: $0) },
            reduce(rows: rows) { RowReductions.rowDot(pa.baseAddress!, lda: a.ld, pb.baseAddress!, ldb: b.ld, rows: rows, columns: columns, into: $0) },
            reduce(rows: rows) { RowReductions.rowDotScalar(pa.baseAddress!, lda: a.ld, pb.baseAddress!, ldb: b.ld, rows: rows, columns: columns, into: $0) }
          )
        }
      }
      withTrace("seed: \(seed), rows: \(rows), columns: \(columns), lda: \(a.ld), ldb: \(b.ld)") { context in
        for r in 0..<rows {
          var absSum: Float = 0
          var absDot: Float = 0
          for c in 0..<columns {
            absSum += abs(a[r, c])
            absDot += abs(a[r, c] * b[r, c])
          }
          XCTAssertTrue(isClose(sumFast[r], sumSlow[r], tolerance: 1e-5 * absSum), context.message("rowSum[\(r)] \(sumFast[r]) vs \(sumSlow[r])"))
          XCTAssertTrue(isClose(dotFast[r], dotSlow[r], tolerance: 1e-5 * absDot), context.message("rowDot[\(r)] \(dotFast[r]) vs \(dotSlow[r])"))
        }
        assertGuardIntact(sumFast, rows: rows, context)
        assertGuardIntact(dotFast, rows: rows, context)
      }
    }
  }
}
