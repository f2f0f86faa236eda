import AttentionIO

/// C = A·B for A of M×K and B of K×N, computed in tiles on a simulated machine: for each
/// Bm×Bn tile of C, stream the Bm×Bk tiles of A and the Bk×Bn tiles of B through the SRAM,
/// accumulate in an SRAM tile of C, and store it once.
///
/// Written only against the public `Machine` API (allocate, load, store, compute), so the same
/// code runs in count mode (shapes only) and execute mode (real arithmetic).
public struct TiledMatmul: Sendable {
  public var rows: Int        // M
  public var inner: Int       // K
  public var columns: Int     // N
  public var tileRows: Int    // Bm
  public var tileInner: Int   // Bk
  public var tileColumns: Int // Bn

  public init(rows: Int, inner: Int, columns: Int, tileRows: Int, tileInner: Int, tileColumns: Int) {
    (self.rows, self.inner, self.columns) = (rows, inner, columns)
    (self.tileRows, self.tileInner, self.tileColumns) = (tileRows, tileInner, tileColumns)
  }

  static func blocks(_ n: Int, _ b: Int) -> Int { (n + b - 1) / b }

  /// The closed form of the schedule's HBM traffic, in elements: every A tile is read once per
  /// column block of C, every B tile once per row block of C, and C is written once.
  ///   reads  = M·K·⌈N/Bn⌉ + K·N·⌈M/Bm⌉,   writes = M·N.
  /// Ragged last tiles move only their real rows and columns, so this holds for any shape.
  public var closedForm: (reads: Int, writes: Int) {
    (rows * inner * Self.blocks(columns, tileColumns) + inner * columns * Self.blocks(rows, tileRows), rows * columns)
  }

  /// The SRAM the schedule needs: one tile each of A, B and C, in fp32.
  public var sramBytes: Int { 4 * (tileRows * tileInner + tileInner * tileColumns + tileRows * tileColumns) }

  /// Runs the schedule on `machine` and returns C (row-major; empty in count mode).
  /// - Throws: `MachineError.sramOverflow` when the three tiles do not fit the SRAM.
  public func run(on machine: inout Machine, a: [Float]? = nil, b: [Float]? = nil) throws -> [Float] {
    let (m, k, n) = (rows, inner, columns)
    let tensorA = try machine.allocateTensor("A", operand: .query, rows: m, columns: k, elementType: .fp32, contents: a)
    let tensorB = try machine.allocateTensor("B", operand: .key, rows: k, columns: n, elementType: .fp32, contents: b)
    let tensorC = try machine.allocateTensor("C", operand: .output, rows: m, columns: n, elementType: .fp32)
    let tileA = try machine.allocateTile("A_ik", operand: .query, rows: tileRows, columns: tileInner, elementType: .fp32)
    let tileB = try machine.allocateTile("B_kj", operand: .key, rows: tileInner, columns: tileColumns, elementType: .fp32)
    let tileC = try machine.allocateTile("C_ij", operand: .output, rows: tileRows, columns: tileColumns, elementType: .fp32)
    defer { machine.free([tileA, tileB, tileC]) }
    for i in stride(from: 0, to: m, by: tileRows) {
      let bm = min(tileRows, m - i)
      for j in stride(from: 0, to: n, by: tileColumns) {
        let bn = min(tileColumns, n - j)
        machine.compute("C_ij = 0", kind: .other, flops: 0) { view in
          view[tileC].update(repeating: 0, count: tileRows * tileColumns)
        }
        for p in stride(from: 0, to: k, by: tileInner) {
          let bk = min(tileInner, k - p)
          try machine.load(tensorA, rows: i..<(i + bm), columns: p..<(p + bk), into: tileA)
          try machine.load(tensorB, rows: p..<(p + bk), columns: j..<(j + bn), into: tileB)
          let (ldA, ldB, ldC) = (tileInner, tileColumns, tileColumns)
          machine.compute("C_ij += A_ik·B_kj", kind: .matmul, flops: 2 * bm * bn * bk) { view in
            let (x, y, z) = (view[tileA], view[tileB], view[tileC])
            for r in 0..<bm {
              for q in 0..<bk {
                let scale = x[r * ldA + q]
                for c in 0..<bn { z[r * ldC + c] += scale * y[q * ldB + c] }
              }
            }
          }
        }
        try machine.store(tileC, into: tensorC, rows: i..<(i + bm), columns: j..<(j + bn))
      }
    }
    return machine.contents(of: tensorC)
  }
}
