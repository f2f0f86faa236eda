import XCTest
import _TestSupport
import TileKernels

/// Every optimized TileGEMM kernel against its scalar twin on seeded ragged shapes.
final class TileGEMMTests: XCTestCase {
  enum Form: String, CaseIterable { case nn, transposedA, transposedB }

  typealias Kernel = (
    UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int,
    Int, Int, Int, Float, Bool
  ) -> Void

  static func kernels(_ form: Form) -> (optimized: Kernel, scalar: Kernel) {
    switch form {
    case .nn:
      return (
        { TileGEMM.multiply(a: $0, lda: $1, b: $2, ldb: $3, c: $4, ldc: $5, rows: $6, columns: $7, depth: $8, alpha: $9, accumulate: $10) },
        { TileGEMM.multiplyScalar(a: $0, lda: $1, b: $2, ldb: $3, c: $4, ldc: $5, rows: $6, columns: $7, depth: $8, alpha: $9, accumulate: $10) }
      )
    case .transposedA:
      return (
        { TileGEMM.multiplyTransposedA(a: $0, lda: $1, b: $2, ldb: $3, c: $4, ldc: $5, rows: $6, columns: $7, depth: $8, alpha: $9, accumulate: $10) },
        { TileGEMM.multiplyTransposedAScalar(a: $0, lda: $1, b: $2, ldb: $3, c: $4, ldc: $5, rows: $6, columns: $7, depth: $8, alpha: $9, accumulate: $10) }
      )
    case .transposedB:
      return (
        { TileGEMM.multiplyTransposedB(a: $0, lda: $1, b: $2, ldb: $3, c: $4, ldc: $5, rows: $6, columns: $7, depth: $8, alpha: $9, accumulate: $10) },
        { TileGEMM.multiplyTransposedBScalar(a: $0, lda: $1, b: $2, ldb: $3, c: $4, ldc: $5, rows: $6, columns: $7, depth: $8, alpha: $9, accumulate: $10) }
      )
    }
  }

  /// Runs one case: random A, B, C with padded strides; compares optimized with scalar, checks
  /// the padding sentinels, and reports the seed and shape on failure.
  func check(
    _ form: Form, seed: UInt64, rows: Int, columns: Int, depth: Int, alpha: Float,
    accumulate: Bool, rng: inout SplitMix64
  ) {
    // Stored shapes: A is depth×rows for Aᵀ·B, B is columns×depth for A·Bᵀ.
    let (aRows, aColumns) = form == .transposedA ? (depth, rows) : (rows, depth)
    let (bRows, bColumns) = form == .transposedB ? (columns, depth) : (depth, columns)
    let a = PaddedTile(rows: aRows, columns: aColumns, padding: TestShapes.padding(&rng), rng: &rng)
    let b = PaddedTile(rows: bRows, columns: bColumns, padding: TestShapes.padding(&rng), rng: &rng)
    let c0 = PaddedTile(rows: rows, columns: columns, padding: TestShapes.padding(&rng), rng: &rng)
    var fast = c0
    var slow = c0
    if !accumulate {
      // C must be write-only without accumulate: poison it in the optimized run.
      for r in 0..<rows { for col in 0..<columns { fast[r, col] = .nan } }
    }
    let (optimized, scalar) = Self.kernels(form)
    a.storage.withUnsafeBufferPointer { pa in
      b.storage.withUnsafeBufferPointer { pb in
        fast.storage.withUnsafeMutableBufferPointer { pc in
          optimized(pa.baseAddress!, a.ld, pb.baseAddress!, b.ld, pc.baseAddress!, c0.ld, rows, columns, depth, alpha, accumulate)
        }
        slow.storage.withUnsafeMutableBufferPointer { pc in
          scalar(pa.baseAddress!, a.ld, pb.baseAddress!, b.ld, pc.baseAddress!, c0.ld, rows, columns, depth, alpha, accumulate)
        }
      }
    }
    withTrace("\(form) seed: \(seed), rows: \(rows), columns: \(columns), depth: \(depth), lda: \(a.ld), ldb: \(b.ld), ldc: \(c0.ld), alpha: \(alpha), accumulate: \(accumulate)") { context in
      XCTAssertTrue(fast.paddingIsIntact, context.message("padding of C was written"))
      var failures = 0
      for i in 0..<rows {
        for j in 0..<columns {
          // Error bound for any summation order: a few ulp of Σ|a·b| (plus |C| when accumulating).
          var magnitude: Float = 0
          for p in 0..<depth {
            let x = form == .transposedA ? a[p, i] : a[i, p]
            let y = form == .transposedB ? b[j, p] : b[p, j]
            magnitude += abs(x * y)
          }
          let scale = abs(alpha) * magnitude + (accumulate ? abs(c0[i, j]) : 0)
          let tolerance = 1e-5 * scale + 1e-30
          if !isClose(fast[i, j], slow[i, j], tolerance: tolerance) && failures < 5 {
            failures += 1
            XCTFail(context.message("C[\(i)][\(j)] = \(fast[i, j]), scalar twin \(slow[i, j]), tolerance \(tolerance)"))
          }
        }
      }
    }
  }

  func sweep(_ form: Form) {
    for seed in TestShapes.seeds {
      var rng = SplitMix64(seed: seed)
      let rows = TestShapes.size(&rng)
      let columns = TestShapes.size(&rng)
      let depth = TestShapes.size(&rng)
      let alpha: Float = rng.next() % 2 == 0 ? 1 : 0.125 + Float(rng.next() % 16) / 8
      let accumulate = rng.next() % 2 == 0
      check(form, seed: seed, rows: rows, columns: columns, depth: depth, alpha: alpha, accumulate: accumulate, rng: &rng)
    }
  }

  /// Edge shapes that every form must get right, including the panel boundaries of A·Bᵀ
  /// (32 columns, 64 depth) and the 4-row / 32-, 16-, 8-column blocks of the outer product.
  static let edgeShapes: [(Int, Int, Int)] = [
    (0, 0, 0), (0, 5, 3), (5, 0, 3), (5, 3, 0), (1, 1, 1), (1, 8, 1), (7, 7, 7), (8, 8, 8),
    (9, 9, 9), (17, 17, 17), (4, 32, 8), (5, 33, 9), (3, 15, 64), (2, 40, 65), (6, 7, 130), (5, 33, 129), (9, 35, 256),
    (13, 24, 1), (1, 39, 40),
  ]

  func edges(_ form: Form) {
    var rng = SplitMix64(seed: 1000)
    for (index, shape) in Self.edgeShapes.enumerated() {
      for accumulate in [false, true] {
        check(form, seed: 1000, rows: shape.0, columns: shape.1, depth: shape.2, alpha: index % 2 == 0 ? 1 : 0.5, accumulate: accumulate, rng: &rng)
      }
    }
  }

  func testMultiplyMatchesScalar() { sweep(.nn) }
  func testMultiplyTransposedAMatchesScalar() { sweep(.transposedA) }
  func testMultiplyTransposedBMatchesScalar() { sweep(.transposedB) }
  func testMultiplyEdgeShapes() { edges(.nn) }
  func testMultiplyTransposedAEdgeShapes() { edges(.transposedA) }
  func testMultiplyTransposedBEdgeShapes() { edges(.transposedB) }

  /// A small product with exactly representable values: every form must give the exact result.
  func testExactSmallProduct() {
    // A = [[1, 2], [3, 4], [5, 6]] (3×2), B = [[1, 0, 2], [0, 1, 3]] (2×3).
    let a: [Float] = [1, 2, 3, 4, 5, 6]
    let b: [Float] = [1, 0, 2, 0, 1, 3]
    let expected: [Float] = [1, 2, 8, 3, 4, 18, 5, 6, 28]
    var c = [Float](repeating: 0, count: 9)
    TileGEMM.multiply(a: a, lda: 2, b: b, ldb: 3, c: &c, ldc: 3, rows: 3, columns: 3, depth: 2, alpha: 1, accumulate: false)
    XCTAssertEqual(c, expected)
    let aT: [Float] = [1, 3, 5, 2, 4, 6]  // Aᵀ stored 2×3
    TileGEMM.multiplyTransposedA(a: aT, lda: 3, b: b, ldb: 3, c: &c, ldc: 3, rows: 3, columns: 3, depth: 2, alpha: 1, accumulate: false)
    XCTAssertEqual(c, expected)
    let bT: [Float] = [1, 0, 0, 1, 2, 3]  // Bᵀ stored 3×2
    TileGEMM.multiplyTransposedB(a: a, lda: 2, b: bT, ldb: 2, c: &c, ldc: 3, rows: 3, columns: 3, depth: 2, alpha: 2, accumulate: true)
    XCTAssertEqual(c, expected.map { 3 * $0 })
  }
}
