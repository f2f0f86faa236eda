import AttentionIO

/// FlashAttention's schedule (Algorithms 1 and 4) with the same tile kernels, in the same order,
/// on plain 64-byte-aligned buffers: no `Machine`, no SRAM copies, no ledger, no checks. The
/// difference between a `Machine` run and this is the cost of simulating the memory hierarchy
/// (the benchmark's `accountingOverhead`).
///
/// Tiles are read and written in place: Q_i, O_i, ℓ_i, m_i (and dO_i, dQ_i) are pointers into
/// the N×d arrays, K_j and V_j likewise, and S_ij, dP_ij, K_jᵀ, V_jᵀ are scratch of the tile
/// sizes. Unmasked, no dropout: the case the benchmark times.
public final class BareFlashAttention: @unchecked Sendable {
  public let sequenceLength: Int
  public let headDimension: Int
  public let blocks: BlockSizes
  public let scale: Float
  let q: AlignedBuffer
  let k: AlignedBuffer
  let v: AlignedBuffer
  let dO: AlignedBuffer
  let o: AlignedBuffer
  let rowMax: AlignedBuffer
  let rowSum: AlignedBuffer
  let dQ: AlignedBuffer
  let dK: AlignedBuffer
  let dV: AlignedBuffer
  /// S_ij (P̃, P), dP_ij (dS), K_jᵀ, V_jᵀ, dK̃_j and dṼ_j accumulators, and per-row scratch.
  let s: AlignedBuffer
  let dP: AlignedBuffer
  let kT: AlignedBuffer
  let vT: AlignedBuffer
  let dKj: AlignedBuffer
  let dVj: AlignedBuffer
  let rows: AlignedBuffer

  /// Copies one head's inputs (row-major N×d each) into aligned buffers.
  public init(queries: [Float], keys: [Float], values: [Float], outputGradient: [Float], sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, scale: Float) {
    precondition(queries.count == n * d && keys.count == n * d && values.count == n * d && outputGradient.count == n * d, "BareFlashAttention: shapes")
    sequenceLength = n
    headDimension = d
    self.blocks = blocks
    self.scale = scale
    let (br, bc) = (blocks.queryBlockSize, blocks.keyBlockSize)
    q = AlignedBuffer(queries)
    k = AlignedBuffer(keys)
    v = AlignedBuffer(values)
    dO = AlignedBuffer(outputGradient)
    o = AlignedBuffer(count: n * d)
    rowMax = AlignedBuffer(count: n)
    rowSum = AlignedBuffer(count: n)
    dQ = AlignedBuffer(count: n * d)
    dK = AlignedBuffer(count: n * d)
    dV = AlignedBuffer(count: n * d)
    s = AlignedBuffer(count: br * bc)
    dP = AlignedBuffer(count: br * bc)
    kT = AlignedBuffer(count: bc * d)
    vT = AlignedBuffer(count: bc * d)
    dKj = AlignedBuffer(count: bc * d)
    dVj = AlignedBuffer(count: bc * d)
    rows = AlignedBuffer(count: 6 * br)
  }

  /// O, row-major N×d, after `forward()`.
  public var output: [Float] { o.array }
  /// dQ, dK, dV after `backward()`.
  public var gradients: (dQ: [Float], dK: [Float], dV: [Float]) { (dQ.array, dK.array, dV.array) }
  /// m and ℓ after `forward()`.
  public var statistics: (rowMax: [Float], rowSum: [Float]) { (rowMax.array, rowSum.array) }

  /// Algorithm 1: O, ℓ, m from Q, K, V.
  public func forward() {
    let (n, d) = (sequenceLength, headDimension)
    let (br, bc) = (blocks.queryBlockSize, blocks.keyBlockSize)
    let (q, k, v, o, m, l, s, kT) = (q.base, k.base, v.base, o.base, rowMax.base, rowSum.base, s.base, kT.base)
    let scratch = rows.base
    let (mt, lt, alpha, beta) = (scratch, scratch + br, scratch + 2 * br, scratch + 3 * br)
    o.update(repeating: 0, count: n * d)
    l.update(repeating: 0, count: n)
    m.update(repeating: -.infinity, count: n)
    for j in 0..<blocks.keyBlockCount(n) {
      let c = min(n, (j + 1) * bc) - j * bc
      let kj = k + j * bc * d
      let vj = v + j * bc * d
      TileGEMM.transpose(kj, ld: d, rows: c, columns: d, into: kT, ldt: bc)
      for i in 0..<blocks.queryBlockCount(n) {
        let row = i * br
        let r = min(n, row + br) - row
        let (qi, oi, mi, li) = (q + row * d, o + row * d, m + row, l + row)
        TileGEMM.multiply(a: qi, lda: d, b: kT, ldb: bc, c: s, ldc: bc, rows: r, columns: c, depth: d, alpha: scale, accumulate: false)
        SoftmaxKernels.exponentiateAboveRowMax(s, ld: bc, rows: r, columns: c, rowMax: mt, rowSum: lt)
        OnlineSoftmax.update(rowMax: mi, rowSum: li, blockMax: mt, blockSum: lt, outputFactor: alpha, blockFactor: beta, rows: r)
        TileGEMM.multiply(a: s, lda: bc, b: vj, ldb: d, c: oi, ldc: d, rows: r, columns: d, depth: c, rowScales: beta, outputScales: alpha)
      }
    }
  }

  /// Algorithm 4: dQ, dK, dV from Q, K, V, O, ℓ, m (run `forward()` first) and dO.
  public func backward() {
    let (n, d) = (sequenceLength, headDimension)
    let (br, bc) = (blocks.queryBlockSize, blocks.keyBlockSize)
    let (q, k, v, o, m, l, dO) = (q.base, k.base, v.base, o.base, rowMax.base, rowSum.base, dO.base)
    let (s, dP, kT, vT, dKj, dVj) = (s.base, dP.base, kT.base, vT.base, dKj.base, dVj.base)
    let (dQ, dK, dV) = (dQ.base, dK.base, dV.base)
    let scratch = rows.base
    let (di, inverse) = (scratch, scratch + br)
    dQ.update(repeating: 0, count: n * d)
    for j in 0..<blocks.keyBlockCount(n) {
      let c = min(n, (j + 1) * bc) - j * bc
      let kj = k + j * bc * d
      let vj = v + j * bc * d
      TileGEMM.transpose(kj, ld: d, rows: c, columns: d, into: kT, ldt: bc)
      TileGEMM.transpose(vj, ld: d, rows: c, columns: d, into: vT, ldt: bc)
      dKj.update(repeating: 0, count: bc * d)
      dVj.update(repeating: 0, count: bc * d)
      for i in 0..<blocks.queryBlockCount(n) {
        let row = i * br
        let r = min(n, row + br) - row
        let (qi, oi, doi, dqi, mi, li) = (q + row * d, o + row * d, dO + row * d, dQ + row * d, m + row, l + row)
        TileGEMM.multiply(a: qi, lda: d, b: kT, ldb: bc, c: s, ldc: bc, rows: r, columns: c, depth: d, alpha: scale, accumulate: false)
        for x in 0..<r { inverse[x] = li[x] > 0 ? 1 / li[x] : 0 }
        SoftmaxKernels.exponentiateRows(s, ld: bc, rows: r, columns: c, rowMax: mi, rowScale: inverse)
        TileGEMM.multiplyTransposedA(a: s, lda: bc, b: doi, ldb: d, c: dVj, ldc: d, rows: c, columns: d, depth: r, alpha: 1, accumulate: true)
        TileGEMM.multiply(a: doi, lda: d, b: vT, ldb: bc, c: dP, ldc: bc, rows: r, columns: c, depth: d, alpha: 1, accumulate: false)
        RowReductions.rowDot(doi, lda: d, oi, ldb: d, rows: r, columns: d, into: di)
        SoftmaxKernels.softmaxGradient(p: s, ldp: bc, dp: dP, lddp: bc, rows: r, columns: c, rowTerms: di)
        TileGEMM.multiply(a: dP, lda: bc, b: kj, ldb: d, c: dqi, ldc: d, rows: r, columns: d, depth: c, alpha: scale, accumulate: true)
        TileGEMM.multiplyTransposedA(a: dP, lda: bc, b: qi, ldb: d, c: dKj, ldc: d, rows: c, columns: d, depth: r, alpha: scale, accumulate: true)
      }
      (dK + j * bc * d).update(from: dKj, count: c * d)
      (dV + j * bc * d).update(from: dVj, count: c * d)
    }
  }
}

/// A 64-byte-aligned `Float` buffer, freed with its owner.
final class AlignedBuffer: @unchecked Sendable {
  let base: UnsafeMutablePointer<Float>
  let count: Int

  init(count: Int) {
    self.count = count
    base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
      .bindMemory(to: Float.self, capacity: max(count, 1))
    base.initialize(repeating: 0, count: count)
  }

  convenience init(_ values: [Float]) {
    self.init(count: values.count)
    values.withUnsafeBufferPointer { base.update(from: $0.baseAddress!, count: values.count) }
  }

  var array: [Float] { Array(UnsafeBufferPointer(start: base, count: count)) }

  deinit { base.deallocate() }
}
