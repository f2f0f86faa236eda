import XCTest
import TileKernels

#if !DEBUG
  /// Release-only timings (`swift test -c release --filter TileKernelsPerformanceTests`, plus
  /// `-Xswiftc -target-cpu -Xswiftc native` for AVX-512). Each block runs 100 tile products of
  /// 64×64×64 (52 MFLOP): divide 0.0524 by the reported seconds for GFLOP/s.
  final class TileKernelsPerformanceTests: XCTestCase {
    static let n = 64
    var a = (0..<(n * n)).map { Float($0 % 13) * 0.01 - 0.06 }
    var b = (0..<(n * n)).map { Float($0 % 7) * 0.01 - 0.03 }
    var c = [Float](repeating: 0, count: n * n)

    func testMultiplyPerformance() {
      let n = Self.n
      measure {
        for _ in 0..<100 {
          TileGEMM.multiply(a: a, lda: n, b: b, ldb: n, c: &c, ldc: n, rows: n, columns: n, depth: n, alpha: 1, accumulate: true)
        }
      }
    }

    func testMultiplyTransposedBPerformance() {
      let n = Self.n
      measure {
        for _ in 0..<100 {
          TileGEMM.multiplyTransposedB(a: a, lda: n, b: b, ldb: n, c: &c, ldc: n, rows: n, columns: n, depth: n, alpha: 1, accumulate: false)
        }
      }
    }

    func testExponentiateRowsPerformance() {
      let n = Self.n
      let maxima = [Float](repeating: 0.5, count: n)
      var sums = [Float](repeating: 0, count: n)
      measure {
        for _ in 0..<100 {
          c.withUnsafeMutableBufferPointer { tile in
            for i in 0..<(n * n) { tile[i] = a[i] }
            SoftmaxKernels.exponentiateRows(tile.baseAddress!, ld: n, rows: n, columns: n, rowMax: maxima, rowSum: &sums)
          }
        }
      }
    }
  }
#endif
