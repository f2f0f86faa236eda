import GPUModel

/// FlashAttention-2's tile choices, as PyTorch's bundled copy launches them
/// (`flash_fwd_launch_template.h`, `flash_bwd_launch_template.h`; see Docs/Kernels.md).
public struct FlashAttention2Tiles: Hashable, Sendable, Codable {
  /// Head dimension the kernel is compiled for (d rounded up to 32, 64, 96, 128, 192 or 256).
  public var headDimension: Int
  /// Forward: query rows per CTA (kBlockM) and key rows per step (kBlockN), warps per CTA.
  public var forwardBlockM: Int
  public var forwardBlockN: Int
  public var forwardWarps: Int
  /// Backward main kernel: query rows per step (kBlockM), key rows per CTA (kBlockN), warps.
  public var backwardBlockM: Int?
  public var backwardBlockN: Int?
  public var backwardWarps: Int

  /// The tiles for head dimension `d` on a GPU of compute capability `capability` (×10), causal
  /// or not, without dropout.
  public static func choose(headDimension d: Int, computeCapability capability: Int, causal: Bool) throws -> FlashAttention2Tiles {
    let sm8x = capability / 10 == 8 && capability % 10 > 0
    let rounded: Int
    let forward: (m: Int, n: Int, warps: Int)
    switch d {
    case ...32: rounded = 32; forward = (128, 128, 4)
    case ...64: rounded = 64; forward = (128, 128, 4)
    case ...96: rounded = 96; forward = sm8x && causal ? (64, 64, 4) : (128, 64, 4)
    case ...128: rounded = 128; forward = sm8x ? (causal ? (64, 64, 4) : (128, 32, 4)) : (128, 64, 4)
    case ...192: rounded = 192; forward = (128, 64, 8)
    case ...256: rounded = 256; forward = capability >= 80 && !sm8x ? (128, 64, 8) : (64, 64, 4)
    default: throw GPUModelError.unsupported("FlashAttention-2 supports head dimensions up to 256, got \(d)")
    }
    // Backward main kernel (non-deterministic, seqk-parallel) for GPUs with at least 144 KiB of
    // shared memory per block: hdim ≤ 64 runs 128×128 with 8 warps, hdim 128 runs 64×128.
    var backward: (m: Int, n: Int)? = nil
    if rounded <= 64 { backward = (128, 128) } else if rounded == 128 { backward = (64, 128) }
    return FlashAttention2Tiles(
      headDimension: rounded, forwardBlockM: forward.m, forwardBlockN: forward.n, forwardWarps: forward.warps,
      backwardBlockM: backward?.m, backwardBlockN: backward?.n, backwardWarps: 8)
  }
}

/// `flash_fwd_kernel`: grid (⌈N/kBlockM⌉, B, H). Each CTA loads its Q tile once, then visits
/// K/V blocks in descending order (causal: only blocks at or left of its diagonal), and writes
/// its O tile and LSE rows at the end. K and V are single-buffered in shared memory; loads go
/// through L2 only (`cp.async.cg`).
///
/// Per CTA, in elements: reads kBlockM·d of Q and 2·kBlockN·d per visited block; writes kBlockM·d
/// of O and kBlockM fp32 of LSE.
struct FlashAttention2Forward: GPUKernel {
  let name = "flash_fwd_kernel"
  let grid: GridShape
  let resources: CTAResources
  let blockM: Int
  let blockN: Int
  let sequenceLength: Int
  let causal: Bool
  let q, k, v, o, lse: HeadMatrix

  init(workload w: AttentionWorkload, tiles: FlashAttention2Tiles, q: HeadMatrix, k: HeadMatrix, v: HeadMatrix, o: HeadMatrix, lse: HeadMatrix) {
    blockM = tiles.forwardBlockM
    blockN = tiles.forwardBlockN
    sequenceLength = w.sequenceLength
    causal = w.causal
    grid = GridShape(x: ceilDiv(w.sequenceLength, blockM), y: w.batch, z: w.heads)
    let elementBytes = w.elementBytes
    resources = CTAResources(
      threads: tiles.forwardWarps * 32, registersPerThread: 255,
      sharedMemoryBytes: (blockM + 2 * blockN) * tiles.headDimension * elementBytes)
    self.q = q
    self.k = k
    self.v = v
    self.o = o
    self.lse = lse
  }

  var blockCount: Int { grid.count }

  /// K/V blocks CTA m visits: all ⌈N/kBlockN⌉, or up to its diagonal when causal.
  @inline(__always) func visitedBlocks(_ m: Int) -> Int {
    let all = ceilDiv(sequenceLength, blockN)
    return causal ? min(all, ceilDiv((m + 1) * blockM, blockN)) : all
  }

  func stepCount(ofBlock block: Int) -> Int { visitedBlocks(grid.coordinates(of: block).x) }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let (m, b, h) = grid.coordinates(of: block)
    let visited = visitedBlocks(m)
    let first = m * blockM
    let rows = min(blockM, sequenceLength - first)
    if step == 0 { accesses.append(q.rows(.read, batch: b, head: h, first: first, count: rows)) }
    let j = visited - 1 - step
    let keyRows = min(blockN, sequenceLength - j * blockN)
    accesses.append(k.rows(.read, batch: b, head: h, first: j * blockN, count: keyRows))
    accesses.append(v.rows(.read, batch: b, head: h, first: j * blockN, count: keyRows))
    if step == visited - 1 {
      accesses.append(o.rows(.write, batch: b, head: h, first: first, count: rows))
      accesses.append(lse.rows(.write, batch: b, head: h, first: first, count: rows))
    }
  }
}

/// PyTorch's `.contiguous()` of a `[B, N, H, d]` view of a `[B, H, N, d]` tensor
/// (`direct_copy_kernel_cuda`): every element read once and written once in token-major order.
/// Modelled as one CTA per (batch, token), reading that token's row of every head.
struct TokenMajorCopy: GPUKernel {
  let name = "direct_copy_kernel_cuda"
  let resources = CTAResources(threads: 128, registersPerThread: 18, sharedMemoryBytes: 0)
  let batch: Int
  let heads: Int
  let sequenceLength: Int
  let source: HeadMatrix
  let destination: HeadMatrix

  var blockCount: Int { batch * sequenceLength }
  func stepCount(ofBlock block: Int) -> Int { 1 }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let b = block / sequenceLength
    let n = block % sequenceLength
    for h in 0..<heads { accesses.append(source.rows(.read, batch: b, head: h, first: n, count: 1)) }
    accesses.append(.contiguous(.write, at: destination.address(batch: b, head: 0, row: n), bytes: heads * destination.rowBytes))
  }
}

/// A one-step kernel over blocks of query rows, grid (⌈N/kBlockM⌉, B, H): each CTA reads or
/// writes the same `kBlockM` rows of each operand. FA2's backward has two:
/// - `flash_bwd_dot_do_o_kernel` reads dO and O tiles, writes D = rowsum(dO ∘ O) (fp32) and
///   zero-fills its slice of the fp32 dQ accumulator;
/// - `flash_bwd_convert_dq_kernel` reads the accumulator and writes dQ in the input's precision.
struct QueryRowBlockKernel: GPUKernel {
  let name: String
  let grid: GridShape
  let resources: CTAResources
  let blockM: Int
  let sequenceLength: Int
  let operands: [(matrix: HeadMatrix, kind: GlobalAccessKind)]

  var blockCount: Int { grid.count }
  func stepCount(ofBlock block: Int) -> Int { 1 }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let (m, b, h) = grid.coordinates(of: block)
    let first = m * blockM
    let rows = min(blockM, sequenceLength - first)
    for (matrix, kind) in operands { accesses.append(matrix.rows(kind, batch: b, head: h, first: first, count: rows)) }
  }
}

/// `flash_bwd_dq_dk_dv_loop_seqk_parallel_kernel`: grid (⌈N/kBlockN⌉, B, H). Each CTA owns one
/// K/V block: it loads K_j and V_j once, then for every query block i in descending order (causal:
/// only blocks at or below its diagonal) loads Q_i, dO_i, LSE_i and D_i and adds its partial dQ_i
/// to the fp32 accumulator with atomics; dK_j and dV_j are written at the end.
struct FlashAttention2BackwardMain: GPUKernel {
  let name = "flash_bwd_dq_dk_dv_loop_seqk_parallel_kernel"
  let grid: GridShape
  let resources: CTAResources
  let blockM: Int
  let blockN: Int
  let sequenceLength: Int
  let causal: Bool
  let q, k, v, dO, lse, dSum, dqAccumulator, dK, dV: HeadMatrix

  var blockCount: Int { grid.count }

  @inline(__always) func queryBlocks(_ n: Int) -> (first: Int, end: Int) {
    let end = ceilDiv(sequenceLength, blockM)
    return (causal ? min(end, n * blockN / blockM) : 0, end)
  }

  func stepCount(ofBlock block: Int) -> Int {
    let range = queryBlocks(grid.coordinates(of: block).x)
    return max(1, range.end - range.first)
  }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let (n, b, h) = grid.coordinates(of: block)
    let range = queryBlocks(n)
    let keyFirst = n * blockN
    let keyRows = min(blockN, sequenceLength - keyFirst)
    if step == 0 {
      accesses.append(k.rows(.read, batch: b, head: h, first: keyFirst, count: keyRows))
      accesses.append(v.rows(.read, batch: b, head: h, first: keyFirst, count: keyRows))
    }
    let i = range.end - 1 - step
    if i >= range.first {
      let first = i * blockM
      let rows = min(blockM, sequenceLength - first)
      accesses.append(q.rows(.read, batch: b, head: h, first: first, count: rows))
      accesses.append(dO.rows(.read, batch: b, head: h, first: first, count: rows))
      accesses.append(lse.rows(.read, batch: b, head: h, first: first, count: rows))
      accesses.append(dSum.rows(.read, batch: b, head: h, first: first, count: rows))
      accesses.append(dqAccumulator.rows(.reduction, batch: b, head: h, first: first, count: rows))
    }
    if step == stepCount(ofBlock: block) - 1 {
      accesses.append(dK.rows(.write, batch: b, head: h, first: keyFirst, count: keyRows))
      accesses.append(dV.rows(.write, batch: b, head: h, first: keyFirst, count: keyRows))
    }
  }
}

/// The kernels PyTorch's SDPA FLASH_ATTENTION backend launches for one call.
enum FlashAttention2Launch {
  static func kernels(_ w: AttentionWorkload, device: GPUDeviceSpec) throws -> [any GPUKernel] {
    let tiles = try FlashAttention2Tiles.choose(headDimension: w.headDimension, computeCapability: device.computeCapability, causal: w.causal)
    var memory = GlobalMemory()
    let (B, H, N) = (w.batch, w.heads, w.sequenceLength)
    let row = w.rowBytes
    let q = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: row)
    let k = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: row)
    let v = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: row)
    let o = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: row)
    let lse = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: 4)
    var kernels: [any GPUKernel] = [FlashAttention2Forward(workload: w, tiles: tiles, q: q, k: k, v: v, o: o, lse: lse)]
    guard w.pass == .forwardBackward else { return kernels }
    guard let blockM = tiles.backwardBlockM, let blockN = tiles.backwardBlockN else {
      throw GPUModelError.unsupported("the FlashAttention-2 backward preset covers head dimensions up to 128 except 96, 128 included; got \(w.headDimension)")
    }
    let dO = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: row)
    // SDPA hands the backward [B, N, H, d] views; `.contiguous()` copies dO and O unless the view
    // is already contiguous (one head, or one token).
    var dOIn = dO
    var oIn = o
    if H > 1 && N > 1 {
      dOIn = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: row, layout: .tokenMajor)
      oIn = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: row, layout: .tokenMajor)
      kernels.append(TokenMajorCopy(batch: B, heads: H, sequenceLength: N, source: dO, destination: dOIn))
      kernels.append(TokenMajorCopy(batch: B, heads: H, sequenceLength: N, source: o, destination: oIn))
    }
    let roundedRows = ceilDiv(N, 128) * 128
    let dSum = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: roundedRows, rowBytes: 4)
    let dqAccumulator = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: roundedRows, rowBytes: tiles.headDimension * 4, layout: .tokenMajor)
    let dQ = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: row)
    let dK = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: row)
    let dV = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: row)
    let gridM = GridShape(x: ceilDiv(N, blockM), y: B, z: H)
    kernels.append(QueryRowBlockKernel(
      name: "flash_bwd_dot_do_o_kernel", grid: gridM, resources: CTAResources(threads: 256, registersPerThread: 40, sharedMemoryBytes: 0),
      blockM: blockM, sequenceLength: N, operands: [(dOIn, .read), (oIn, .read), (dSum, .write), (dqAccumulator, .write)]))
    kernels.append(FlashAttention2BackwardMain(
      grid: GridShape(x: ceilDiv(N, blockN), y: B, z: H),
      resources: CTAResources(
        threads: tiles.backwardWarps * 32, registersPerThread: 255,
        // sQ double-buffered and sdO, sK and sV, sdS and sP.
        sharedMemoryBytes: (3 * blockM * tiles.headDimension + 2 * blockN * tiles.headDimension + 2 * blockM * blockN) * w.elementBytes),
      blockM: blockM, blockN: blockN, sequenceLength: N, causal: w.causal,
      q: q, k: k, v: v, dO: dOIn, lse: lse, dSum: dSum, dqAccumulator: dqAccumulator, dK: dK, dV: dV))
    kernels.append(QueryRowBlockKernel(
      name: "flash_bwd_convert_dq_kernel", grid: gridM, resources: CTAResources(threads: 256, registersPerThread: 48, sharedMemoryBytes: 16_384),
      blockM: blockM, sequenceLength: N, operands: [(dqAccumulator, .read), (dQ, .write)]))
    return kernels
  }
}
