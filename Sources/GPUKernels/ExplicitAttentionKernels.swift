import GPUModel

/// A matrix operand of a batched GEMM: element (i, p) of batch entry `batch` at
/// `base + batch·batchStride + i·strideRow + p·strideColumn` bytes.
struct StridedMatrix: Sendable {
  var base: Int
  var batchStride: Int
  var strideRow: Int
  var strideColumn: Int
  var elementBytes: Int

  /// Rows [row, row + rows) × columns [column, column + columns) as one access.
  @inline(__always) func block(_ kind: GlobalAccessKind, batch: Int, row: Int, rows: Int, column: Int, columns: Int) -> GlobalAccess {
    let origin = base + batch * batchStride + row * strideRow + column * strideColumn
    if strideColumn == elementBytes {
      return GlobalAccess(address: origin, rowBytes: columns * elementBytes, rowStride: strideRow, rows: rows, kind: kind)
    }
    return GlobalAccess(address: origin, rowBytes: rows * elementBytes, rowStride: strideColumn, rows: columns, kind: kind)
  }
}

/// A persistent batched GEMM as cuBLASLt's sm90 kernels run it, in cuBLAS's column-major terms:
/// C (m × n) = A (m × k) · B (k × n) for each batch entry. One CTA per SM walks output tiles
/// `tileM × tileN` in order (batch, then n-tile, then m-tile, tiles dealt round-robin to the
/// CTAs), each tile a loop over k in chunks of `tileK` that loads an A block and a B block; the C
/// tile is written after the last chunk. In a cluster of two CTAs the operand both need (A for a
/// 1×2 cluster, B for 2×1) is loaded once and multicast.
struct PersistentGEMM: GPUKernel {
  let name: String
  let resources: CTAResources
  let ctas: Int
  let batches: Int
  let m, n, k: Int
  let tileM, tileN, tileK: Int
  /// 1×2 cluster: CTAs 2c and 2c+1 take neighbouring n-tiles and share A; 2×1: neighbouring m-tiles share B.
  let clusterSharesA: Bool
  let a, b, c: StridedMatrix

  var tilesM: Int { ceilDiv(m, tileM) }
  var tilesN: Int { ceilDiv(n, tileN) }
  var tileCount: Int { batches * tilesM * tilesN }
  var chunks: Int { ceilDiv(k, tileK) }
  var blockCount: Int { min(ctas, tileCount) }

  func stepCount(ofBlock block: Int) -> Int {
    let tiles = tileCount / blockCount + (block < tileCount % blockCount ? 1 : 0)
    return tiles * chunks
  }

  /// Tile t as (batch, m-tile, n-tile): in a 1×2 cluster consecutive tiles are neighbours in n,
  /// in a 2×1 cluster neighbours in m.
  @inline(__always) func tile(_ t: Int) -> (batch: Int, mTile: Int, nTile: Int) {
    let perBatch = tilesM * tilesN
    let batch = t / perBatch
    let r = t % perBatch
    if clusterSharesA { return (batch, r / tilesN, r % tilesN) }
    return (batch, r % tilesM, r / tilesM)
  }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let t = (step / chunks) * blockCount + block
    let chunk = step % chunks
    let (batch, mTile, nTile) = tile(t)
    let row = mTile * tileM
    let column = nTile * tileN
    let rows = min(tileM, m - row)
    let columns = min(tileN, n - column)
    let p = chunk * tileK
    let depth = min(tileK, k - p)
    // The second CTA of a cluster receives the shared operand by multicast.
    let partner = block % 2 == 1 && t - 1 >= 0 && tile(t - 1).batch == batch
      && (clusterSharesA ? tile(t - 1).mTile == mTile : tile(t - 1).nTile == nTile)
    if !(partner && clusterSharesA) { accesses.append(a.block(.read, batch: batch, row: row, rows: rows, column: p, columns: depth)) }
    if !(partner && !clusterSharesA) { accesses.append(b.block(.read, batch: batch, row: p, rows: depth, column: column, columns: columns)) }
    if chunk == chunks - 1 { accesses.append(c.block(.write, batch: batch, row: row, rows: rows, column: column, columns: columns)) }
  }
}

/// An elementwise kernel (scale, softmax, masked fill, a copy): reads each input once and writes
/// each output once, in order. Simulated in chunks of `chunkBytes` of the first operand (several
/// real CTAs each): a stream with no reuse moves the same sectors however it is cut.
struct StreamingKernel: GPUKernel {
  let name: String
  let resources = CTAResources(threads: 128, registersPerThread: 32, sharedMemoryBytes: 0)
  /// (base address, bytes) of each input and output; all are walked in proportion.
  let inputs: [(base: Int, bytes: Int)]
  let outputs: [(base: Int, bytes: Int)]
  let chunks: Int

  init(name: String, inputs: [(base: Int, bytes: Int)], outputs: [(base: Int, bytes: Int)], chunkBytes: Int = 1 << 16) {
    self.name = name
    self.inputs = inputs
    self.outputs = outputs
    let largest = (inputs + outputs).map(\.bytes).max() ?? 0
    chunks = max(1, ceilDiv(largest, chunkBytes))
  }

  var blockCount: Int { chunks }
  func stepCount(ofBlock block: Int) -> Int { 1 }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    for (kind, operands) in [(GlobalAccessKind.read, inputs), (.write, outputs)] {
      for operand in operands {
        // Chunk boundaries on 128-byte lines, so no line is split between two chunks.
        let lines = ceilDiv(operand.bytes, 128)
        let first = lines * block / chunks * 128
        let end = min(operand.bytes, lines * (block + 1) / chunks * 128)
        if end > first { accesses.append(.contiguous(kind, at: operand.base + first, bytes: end - first)) }
      }
    }
  }
}

/// Attention written out in PyTorch: `matmul → scale → (mask) → softmax → matmul`, and autograd's
/// backward, with the GEMM tiles cuBLASLt picks on Hopper (see Docs/Kernels.md).
enum ExplicitAttentionLaunch {
  static let gemmResources = CTAResources(threads: 384, registersPerThread: 168, sharedMemoryBytes: 213_190)
  static let narrowGemmResources = CTAResources(threads: 384, registersPerThread: 168, sharedMemoryBytes: 163_970)

  static func kernels(_ w: AttentionWorkload, device: GPUDeviceSpec) throws -> [any GPUKernel] {
    var memory = GlobalMemory()
    let (B, H, N, d, e) = (w.batch, w.heads, w.sequenceLength, w.headDimension, w.elementBytes)
    let heads = B * H
    let tensor = w.tensorBytes
    let scoreBytes = heads * N * N * e
    let q = memory.allocate(bytes: tensor)
    let k = memory.allocate(bytes: tensor)
    let v = memory.allocate(bytes: tensor)
    let headStride = N * d * e
    let scoreStride = N * N * e
    let ctas = device.streamingMultiprocessors
    // Row-major [N, d] and [N, N] matrices per head, as cuBLAS operands.
    func rows(_ base: Int) -> StridedMatrix {  // (token, feature) of a [N, d] matrix
      StridedMatrix(base: base, batchStride: headStride, strideRow: d * e, strideColumn: e, elementBytes: e)
    }
    func columns(_ base: Int) -> StridedMatrix {  // (feature, token) of a [N, d] matrix
      StridedMatrix(base: base, batchStride: headStride, strideRow: e, strideColumn: d * e, elementBytes: e)
    }
    func scoresByKey(_ base: Int) -> StridedMatrix {  // (key, query) of a [N, N] score matrix
      StridedMatrix(base: base, batchStride: scoreStride, strideRow: e, strideColumn: N * e, elementBytes: e)
    }
    func scoresByQuery(_ base: Int) -> StridedMatrix {  // (query, key) of a [N, N] score matrix
      StridedMatrix(base: base, batchStride: scoreStride, strideRow: N * e, strideColumn: e, elementBytes: e)
    }
    // S = QKᵀ: m = keys, n = queries, k = d; 256×128 tiles, 1×2 clusters.
    func scoreGEMM(_ name: String, left: Int, right: Int, out: Int) -> PersistentGEMM {
      PersistentGEMM(
        name: name, resources: gemmResources, ctas: ctas, batches: heads, m: N, n: N, k: d, tileM: 256, tileN: 128, tileK: 64,
        clusterSharesA: true, a: rows(left), b: columns(right), c: scoresByKey(out))
    }
    // O = PV (and dQ = dS·K): m = d, n = queries, k = keys; 64×512 tiles (128×256 for d > 64).
    func valueGEMM(_ name: String, scores: Int, values: Int, out: Int) -> PersistentGEMM {
      let wide = d > 64
      return PersistentGEMM(
        name: name, resources: wide ? gemmResources : narrowGemmResources, ctas: ctas, batches: heads, m: d, n: N, k: N,
        tileM: wide ? 128 : 64, tileN: wide ? 256 : 512, tileK: 64,
        clusterSharesA: true, a: columns(values), b: scoresByKey(scores), c: columns(out))
    }
    let s = memory.allocate(bytes: scoreBytes)
    let scaled = memory.allocate(bytes: scoreBytes)
    var kernels: [any GPUKernel] = [
      scoreGEMM("nvjet_sm90 S = QKᵀ", left: k, right: q, out: s),
      StreamingKernel(name: "elementwise scale", inputs: [(s, scoreBytes)], outputs: [(scaled, scoreBytes)]),
    ]
    var logits = scaled
    var mask = 0
    let maskBytes = N * N
    if w.causal {
      let ones = memory.allocate(bytes: maskBytes)
      mask = memory.allocate(bytes: maskBytes)
      let filled = memory.allocate(bytes: scoreBytes)
      kernels.append(StreamingKernel(name: "fill (ones)", inputs: [], outputs: [(ones, maskBytes)]))
      kernels.append(StreamingKernel(name: "triu", inputs: [(ones, maskBytes)], outputs: [(mask, maskBytes)]))
      kernels.append(MaskedFillKernel(name: "masked_fill", heads: heads, scores: scaled, mask: mask, out: filled, scoreStride: scoreStride, maskBytes: maskBytes))
      logits = filled
    }
    let p = memory.allocate(bytes: scoreBytes)
    let o = memory.allocate(bytes: tensor)
    kernels.append(StreamingKernel(name: "softmax_warp_forward", inputs: [(logits, scoreBytes)], outputs: [(p, scoreBytes)]))
    kernels.append(valueGEMM("nvjet_sm90 O = PV", scores: p, values: v, out: o))
    guard w.pass == .forwardBackward else { return kernels }

    let dO = memory.allocate(bytes: tensor)
    let dV = memory.allocate(bytes: tensor)
    let dP = memory.allocate(bytes: scoreBytes)
    let product = memory.allocate(bytes: scoreBytes)
    let dLogits = memory.allocate(bytes: scoreBytes)
    let dS = memory.allocate(bytes: scoreBytes)
    let dKTransposed = memory.allocate(bytes: tensor)
    let dQ = memory.allocate(bytes: tensor)
    let dK = memory.allocate(bytes: tensor)
    // dV = Pᵀ·dO: m = d, n = keys, k = queries.
    kernels.append(PersistentGEMM(
      name: "nvjet_sm90 dV = PᵀdO", resources: narrowGemmResources, ctas: ctas, batches: heads, m: d, n: N, k: N,
      tileM: 64, tileN: 512, tileK: 64, clusterSharesA: true, a: columns(dO), b: scoresByQuery(p), c: columns(dV)))
    kernels.append(scoreGEMM("nvjet_sm90 dP = dO·Vᵀ", left: v, right: dO, out: dP))
    kernels.append(StreamingKernel(name: "elementwise dP∘P", inputs: [(dP, scoreBytes), (p, scoreBytes)], outputs: [(product, scoreBytes)]))
    kernels.append(StreamingKernel(name: "softmax_warp_backward", inputs: [(product, scoreBytes), (p, scoreBytes)], outputs: [(dLogits, scoreBytes)]))
    var dScaled = dLogits
    if w.causal {
      dScaled = memory.allocate(bytes: scoreBytes)
      kernels.append(MaskedFillKernel(name: "masked_fill (backward)", heads: heads, scores: dLogits, mask: mask, out: dScaled, scoreStride: scoreStride, maskBytes: maskBytes))
    }
    kernels.append(StreamingKernel(name: "elementwise scale (backward)", inputs: [(dScaled, scoreBytes)], outputs: [(dS, scoreBytes)]))
    // dKᵀ = (dSᵀ·Q)ᵀ: m = keys, n = d, k = queries; 512×64 tiles, 2×1 clusters share B.
    kernels.append(PersistentGEMM(
      name: "nvjet_sm90 dKᵀ", resources: narrowGemmResources, ctas: ctas, batches: heads, m: N, n: d, k: N,
      tileM: 512, tileN: 64, tileK: 64, clusterSharesA: false, a: scoresByKey(dS),
      b: rows(q), c: StridedMatrix(base: dKTransposed, batchStride: headStride, strideRow: e, strideColumn: N * e, elementBytes: e)))
    kernels.append(valueGEMM("nvjet_sm90 dQ = dS·K", scores: dS, values: k, out: dQ))
    kernels.append(StreamingKernel(name: "direct_copy_kernel_cuda (dK)", inputs: [(dKTransposed, tensor)], outputs: [(dK, tensor)]))
    return kernels
  }
}

/// `masked_fill` with an N×N boolean mask broadcast over batch and heads: each head's scores are
/// read and written once; the mask is read for every head (and stays in the L2 when it fits).
struct MaskedFillKernel: GPUKernel {
  let name: String
  let resources = CTAResources(threads: 128, registersPerThread: 32, sharedMemoryBytes: 0)
  let heads: Int
  let scores: Int
  let mask: Int
  let out: Int
  let scoreStride: Int
  let maskBytes: Int
  let rowsPerChunk = 1 << 15

  var chunksPerHead: Int { ceilDiv(maskBytes, rowsPerChunk) }
  var blockCount: Int { heads * chunksPerHead }
  func stepCount(ofBlock block: Int) -> Int { 1 }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let head = block / chunksPerHead
    let chunk = block % chunksPerHead
    let first = chunk * rowsPerChunk
    let count = min(rowsPerChunk, maskBytes - first)
    accesses.append(.contiguous(.read, at: mask + first, bytes: count))
    accesses.append(.contiguous(.read, at: scores + head * scoreStride + first * 2, bytes: count * 2))
    accesses.append(.contiguous(.write, at: out + head * scoreStride + first * 2, bytes: count * 2))
  }
}
