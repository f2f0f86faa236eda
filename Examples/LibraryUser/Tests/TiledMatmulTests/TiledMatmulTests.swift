import AttentionIO
import TiledMatmul
import XCTest

/// A property test of one's own tiled algorithm against the simulated machine: on random ragged
/// shapes (the seed is printed), the ledger equals the schedule's closed form exactly, count mode
/// and execute mode count the same, the arithmetic matches float64, and too little SRAM is a
/// typed error that names the tile.
final class TiledMatmulTests: XCTestCase {
  /// A small deterministic generator (SplitMix64), so a failing case can be replayed from its seed.
  struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  func testTrafficEqualsTheClosedFormOnRandomRaggedShapes() throws {
    let seed = UInt64.random(in: 0...UInt64(UInt32.max))
    print("TiledMatmulTests seed: \(seed)")
    var rng = SplitMix(state: seed)
    for _ in 0..<40 {
      let schedule = TiledMatmul(
        rows: .random(in: 1...40, using: &rng), inner: .random(in: 1...40, using: &rng), columns: .random(in: 1...40, using: &rng),
        tileRows: .random(in: 1...12, using: &rng), tileInner: .random(in: 1...12, using: &rng), tileColumns: .random(in: 1...12, using: &rng))
      let spec = MachineSpec.a100_40GB.withSRAMCapacity(schedule.sramBytes).withRegisterFile(0)
      let a = (0..<schedule.rows * schedule.inner).map { _ in Float.random(in: -1...1, using: &rng) }
      let b = (0..<schedule.inner * schedule.columns).map { _ in Float.random(in: -1...1, using: &rng) }

      var counted = Machine(spec: spec, mode: .count)
      _ = try schedule.run(on: &counted)
      var executed = Machine(spec: spec, mode: .execute)
      let c = try schedule.run(on: &executed, a: a, b: b)

      let form = schedule.closedForm
      let context = "seed \(seed), \(schedule)"
      XCTAssertEqual(counted.ledger.hbmReadElements, form.reads, context)
      XCTAssertEqual(counted.ledger.hbmWriteElements, form.writes, context)
      XCTAssertEqual(counted.ledger[.query].readElements, schedule.rows * schedule.inner * ((schedule.columns + schedule.tileColumns - 1) / schedule.tileColumns), "A is read once per column block of C: \(context)")
      XCTAssertEqual(counted.ledger.matmulFLOPs, 2 * schedule.rows * schedule.inner * schedule.columns, context)
      XCTAssertEqual(executed.ledger, counted.ledger, "execute and count mode count the same: \(context)")
      XCTAssertEqual(counted.sram.peakBytes, schedule.sramBytes, context)

      // The arithmetic, against a float64 product of the same inputs.
      for r in 0..<schedule.rows {
        for col in 0..<schedule.columns {
          var exact = 0.0
          for q in 0..<schedule.inner { exact += Double(a[r * schedule.inner + q]) * Double(b[q * schedule.columns + col]) }
          XCTAssertEqual(Double(c[r * schedule.columns + col]), exact, accuracy: 1e-4 * Double(schedule.inner), context)
        }
      }
    }
  }

  func testTooLittleSRAMIsATypedErrorNamingTheTile() {
    let schedule = TiledMatmul(rows: 8, inner: 8, columns: 8, tileRows: 4, tileInner: 4, tileColumns: 4)
    var machine = Machine(spec: MachineSpec.a100_40GB.withSRAMCapacity(schedule.sramBytes - 1).withRegisterFile(0), mode: .count)
    XCTAssertThrowsError(try schedule.run(on: &machine)) { error in
      guard case let MachineError.sramOverflow(tile, requested, capacity, _, _) = error else {
        return XCTFail("expected an SRAM overflow, got \(error)")
      }
      XCTAssertEqual(tile, "C_ij")
      XCTAssertEqual(requested, 64)
      XCTAssertEqual(capacity, schedule.sramBytes - 1)
    }
  }
}
