import _TestSupport

/// A row-major tile whose row stride exceeds its width, with a sentinel in every padding slot
/// and in a guard zone after the last row, so tests can check that kernels leave padding alone.
struct PaddedTile {
  /// A value no kernel computes from test data; compared by bit pattern.
  static let sentinel = Float(bitPattern: 0x7FC0_BEEF)  // a NaN with a recognisable payload
  static let guardCount = 16

  let rows: Int
  let columns: Int
  let ld: Int
  var storage: [Float]

  /// Random standard-normal entries (times `scale`), padding of `padding` floats per row.
  init(rows: Int, columns: Int, padding: Int, scale: Float = 1, rng: inout SplitMix64) {
    self.rows = rows
    self.columns = columns
    self.ld = columns + padding
    storage = [Float](repeating: PaddedTile.sentinel, count: rows * ld + PaddedTile.guardCount)
    for r in 0..<rows {
      for c in 0..<columns { storage[r * ld + c] = rng.nextNormal() * scale }
    }
  }

  subscript(row: Int, column: Int) -> Float {
    get { storage[row * ld + column] }
    set { storage[row * ld + column] = newValue }
  }

  /// Whether every padding and guard slot still holds the sentinel bit pattern.
  var paddingIsIntact: Bool {
    for index in storage.indices {
      let isPadding = index >= rows * ld || index % ld >= columns
      if isPadding && storage[index].bitPattern != PaddedTile.sentinel.bitPattern { return false }
    }
    return true
  }

  /// The logical elements, row by row, without padding.
  var elements: [Float] {
    (0..<rows).flatMap { r in (0..<columns).map { c in self[r, c] } }
  }
}

/// Shapes for property tests: the listed edge sizes first, then seeded random sizes in 0...40.
enum TestShapes {
  static let edgeSizes = [0, 1, 7, 8, 9, 17]

  /// A size that is an edge size half of the time and uniform in 0...maximum otherwise.
  static func size(_ rng: inout SplitMix64, maximum: Int = 40) -> Int {
    if rng.next() % 2 == 0 { return edgeSizes[Int(rng.next() % UInt64(edgeSizes.count))] }
    return Int(rng.next() % UInt64(maximum + 1))
  }

  /// Padding of 0...5 floats per row.
  static func padding(_ rng: inout SplitMix64) -> Int { Int(rng.next() % 6) }

  /// Seeds for the default sweep (60 cases), or 600 with `SIM_LONG_TESTS=1`.
  static var seeds: Range<UInt64> { 0..<(longTestsEnabled ? 600 : 60) }
}

/// |x − y| ≤ tolerance, with NaN equal to NaN and infinities equal to themselves.
func isClose(_ x: Float, _ y: Float, tolerance: Float) -> Bool {
  if x.isNaN || y.isNaN { return x.isNaN && y.isNaN }
  if x.isInfinite || y.isInfinite { return x == y }
  return abs(x - y) <= tolerance
}
