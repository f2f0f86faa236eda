import GPUModel

/// FlashAttention-1's forward kernel (`fmha_fwd_loop_kernel`, flash-attention v1's `csrc/flash_attn`)
/// and its launch choices: the paper's Algorithm 1 as the CUDA kernel runs it (see Docs/Kernels.md).
public struct FlashAttention1Tiles: Hashable, Sendable, Codable {
  /// Head dimension the kernel is compiled for (32, 64 or 128).
  public var compiledHeadDimension: Int
  /// Key rows per outer step (`Cta_tile_p::N`, the paper's Bc): 128 or 256.
  public var keyBlock: Int
  /// Query rows per inner step (`Cta_tile_p::M` = STEP = 16, the paper's Br).
  public var queryStep: Int
  /// Warps per CTA (`WARPS_M` × `WARPS_N` = 1 × 4): they split the key block, not the query rows.
  public var warps: Int
  /// Key blocks T_c = ⌈N / keyBlock⌉ (the outer loop's steps, `max_loop_steps`).
  public var keyBlocks: Int
  /// Dynamic shared memory of one CTA in bytes (`get_dynamic_smem_size` plus the softmax
  /// statistics' buffer when the kernel loops).
  public var sharedMemoryBytes: Int

  public var threads: Int { warps * 32 }

  /// The launch's choices for head dimension `d` and sequence length `n` (keys), as
  /// `mha_fwd` and `run_fmha_fwd_hdim*` make them.
  public static func choose(headDimension d: Int, sequenceLength n: Int) throws -> FlashAttention1Tiles {
    guard d % 8 == 0, d <= 128 else {
      throw GPUModelError.unsupported("FlashAttention-1 needs a head dimension that is a multiple of 8 and at most 128, got \(d)")
    }
    let compiled = d <= 32 ? 32 : d <= 64 ? 64 : 128
    // mha_fwd rounds max_seqlen_k up to 128, 256 or a multiple of blocksize_c; the hdim32/64
    // launchers take the 128-key kernel only when that rounded length is exactly 128.
    let blocksizeC = d > 64 ? 128 : 256
    let roundedKeys = n <= 128 ? 128 : n <= 256 ? 256 : ceilDiv(n, blocksizeC) * blocksizeC
    let keyBlock = compiled == 128 ? 128 : (roundedKeys == 128 ? 128 : 256)
    let keyBlocks = ceilDiv(roundedKeys, keyBlock)
    // Q (double-buffered) | K, shared with V, or O's fp32 staging and the softmax scratch.
    let query = 2 * 16 * compiled * 2
    let key = keyBlock * compiled * 2
    let output = 16 * compiled * 4 * 4 + 16 * 4 * 4 * 2
    let statistics = keyBlocks > 1 ? 16 * 4 * 2 : 0
    return FlashAttention1Tiles(
      compiledHeadDimension: compiled, keyBlock: keyBlock, queryStep: 16, warps: 4, keyBlocks: keyBlocks,
      sharedMemoryBytes: query + max(key, output) + statistics)
  }

  /// `num_splits_heuristic_fwd`: the fewest splits of the query blocks (grid.z) whose wave
  /// efficiency is above 95% of the best, for `batchHeads` = B·H CTAs per split.
  public static func splits(batchHeads: Int, multiprocessors: Int, blocksPerSM: Int, maxSplits: Int) -> Int {
    guard maxSplits >= 1, multiprocessors * blocksPerSM > 0 else { return 1 }
    var efficiency: [Float] = []
    var best: Float = 0
    for count in 1...maxSplits {
      let waves = Float(batchHeads * count) / Float(multiprocessors * blocksPerSM)
      let value = waves / waves.rounded(.up)
      best = max(best, value)
      efficiency.append(value)
    }
    // `0.95` is a double literal in the source: the comparison is made in double precision.
    for count in 1...maxSplits where Double(efficiency[count - 1]) > 0.95 * Double(best) { return count }
    return 1
  }
}

/// `fmha_fwd_loop_kernel`: grid (B, H, splits). A CTA owns one head and every `splits`-th query
/// block of 16 rows. Its outer loop walks the key blocks j = 0 … T_c−1 in order: it loads K_j and
/// V_j once, then its inner loop walks its query blocks i: load Q_i, and from the second key block
/// on the fp32 partial output O_i (`o_tmp`) and the softmax statistics ℓ_i; write the new
/// statistics, and write O_i in fp16 if no later key block touches it, else the fp32 partial back
/// to `o_tmp`. That is Algorithm 1's order: the output goes back to HBM between key blocks.
/// Causal: key block j starts at query block j·Bc/16 (earlier rows see none of its keys).
///
/// One step of the model is one (key block, query block) pair of the CTA.
struct FlashAttention1Forward: GPUKernel {
  let name = "fmha_fwd_loop_kernel"
  let grid: GridShape
  let resources: CTAResources
  let keyBlock: Int
  let queryStep: Int
  let keyBlocks: Int
  let queryBlocks: Int
  let splits: Int
  let sequenceLength: Int
  let causal: Bool
  let q, k, v, o, oTmp, lse: HeadMatrix
  /// Per split z: the first step of each key block, (T_c + 1) entries from index z·(T_c + 1).
  let stepStarts: [Int]
  /// Per split z and key block j: the first query block visited.
  let firstQueryBlocks: [Int]

  init(workload w: AttentionWorkload, tiles: FlashAttention1Tiles, splits: Int, q: HeadMatrix, k: HeadMatrix, v: HeadMatrix, o: HeadMatrix, oTmp: HeadMatrix, lse: HeadMatrix) {
    keyBlock = tiles.keyBlock
    queryStep = tiles.queryStep
    keyBlocks = tiles.keyBlocks
    queryBlocks = ceilDiv(w.sequenceLength, tiles.queryStep)
    self.splits = splits
    sequenceLength = w.sequenceLength
    causal = w.causal
    grid = GridShape(x: w.batch, y: w.heads, z: splits)
    resources = CTAResources(threads: tiles.threads, registersPerThread: FlashAttention1Launch.registersPerThread, sharedMemoryBytes: tiles.sharedMemoryBytes)
    self.q = q
    self.k = k
    self.v = v
    self.o = o
    self.oTmp = oTmp
    self.lse = lse
    var starts: [Int] = []
    var firsts: [Int] = []
    for z in 0..<splits {
      var total = 0
      for j in 0..<keyBlocks {
        starts.append(total)
        // begin rounded to the split's residue, as the kernel does with begin_mod_z.
        let begin = w.causal ? j * tiles.keyBlock / tiles.queryStep : 0
        let offset = begin % splits
        let first = (offset <= z ? begin - offset : begin + splits - offset) + z
        firsts.append(first)
        if first < queryBlocks { total += ceilDiv(queryBlocks - first, splits) }
      }
      starts.append(total)
    }
    stepStarts = starts
    firstQueryBlocks = firsts
  }

  var blockCount: Int { grid.count }

  func stepCount(ofBlock block: Int) -> Int {
    let z = grid.coordinates(of: block).z
    return stepStarts[z * (keyBlocks + 1) + keyBlocks]
  }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let (b, h, z) = grid.coordinates(of: block)
    let base = z * (keyBlocks + 1)
    guard step < stepStarts[base + keyBlocks] else { return }
    // The key block of this step: the last j whose first step is at or before it.
    var low = 0
    var high = keyBlocks - 1
    while low < high {
      let middle = (low + high + 1) / 2
      if stepStarts[base + middle] <= step { low = middle } else { high = middle - 1 }
    }
    let j = low
    let within = step - stepStarts[base + j]
    let i = firstQueryBlocks[z * keyBlocks + j] + within * splits
    if within == 0 {
      let keyRows = min(keyBlock, sequenceLength - j * keyBlock)
      accesses.append(k.rows(.read, batch: b, head: h, first: j * keyBlock, count: keyRows))
      accesses.append(v.rows(.read, batch: b, head: h, first: j * keyBlock, count: keyRows))
    }
    let first = i * queryStep
    let rows = min(queryStep, sequenceLength - first)
    accesses.append(q.rows(.read, batch: b, head: h, first: first, count: rows))
    if j > 0 {
      accesses.append(oTmp.rows(.read, batch: b, head: h, first: first, count: rows))
      accesses.append(lse.rows(.read, batch: b, head: h, first: first, count: rows))
    }
    accesses.append(lse.rows(.write, batch: b, head: h, first: first, count: rows))
    let final = j == keyBlocks - 1 || (causal && first < (j + 1) * keyBlock)
    accesses.append((final ? o : oTmp).rows(.write, batch: b, head: h, first: first, count: rows))
  }
}

/// The kernels FlashAttention-1's `flash_attn_unpadded_func` launches for one forward call.
enum FlashAttention1Launch {
  /// Registers per thread assumed for occupancy: FlashAttention-1's source sets no launch
  /// bounds, and no measurement of this kernel is at hand (Docs/Kernels.md says so); the
  /// compiler's cap of 255 is the assumption.
  static let registersPerThread = 255

  static func kernels(_ w: AttentionWorkload, device: GPUDeviceSpec) throws -> [any GPUKernel] {
    guard device.computeCapability == 75 || device.computeCapability / 10 == 8 else {
      throw GPUModelError.unsupported("FlashAttention-1 runs on Turing (sm75) and Ampere/Ada (sm8x) only; \(device.name) is sm\(device.computeCapability)")
    }
    if w.pass == .forwardBackward && w.headDimension > 64 && device.computeCapability != 80 {
      throw GPUModelError.unsupported("FlashAttention-1's backward supports head dimensions above 64 on sm80 only; \(device.name) is sm\(device.computeCapability)")
    }
    let tiles = try FlashAttention1Tiles.choose(headDimension: w.headDimension, sequenceLength: w.sequenceLength)
    let splits = try Self.splits(w, tiles: tiles, device: device)
    var memory = GlobalMemory()
    let (B, H, N) = (w.batch, w.heads, w.sequenceLength)
    // The varlen interface takes [total, H, d] tensors: token-major heads.
    let q = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes, layout: .tokenMajor)
    let k = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes, layout: .tokenMajor)
    let v = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes, layout: .tokenMajor)
    let o = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes, layout: .tokenMajor)
    // o_tmp: [total, H, d] fp32, allocated only when the kernel loops over key blocks.
    let oTmp = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: tiles.keyBlocks > 1 ? N : 0, rowBytes: w.headDimension * 4, layout: .tokenMajor)
    // softmax_lse: [B, H, max_seqlen_q] fp32, max_seqlen_q = N rounded up to 16.
    let lse = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: ceilDiv(N, 16) * 16, rowBytes: 4)
    var kernels: [any GPUKernel] = [FlashAttention1Forward(workload: w, tiles: tiles, splits: splits, q: q, k: k, v: v, o: o, oTmp: oTmp, lse: lse)]
    guard w.pass == .forwardBackward else { return kernels }
    let backward = try FlashAttention1BackwardTiles.choose(headDimension: w.headDimension, sequenceLength: N, computeCapability: device.computeCapability)
    let parallel = try Self.backwardSplits(w, tiles: backward, device: device) > 1
    let dO = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes, layout: .tokenMajor)
    let dQ = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes, layout: .tokenMajor)
    let dK = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes, layout: .tokenMajor)
    let dV = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes, layout: .tokenMajor)
    // softmax_d: [B, H, max_seqlen_q] fp32; dq_tmp: [total_q, H, d] fp32 when the kernel loops.
    let dSum = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: ceilDiv(N, 16) * 16, rowBytes: 4)
    let dqTmp = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: backward.keyBlocks > 1 ? N : 0, rowBytes: w.headDimension * 4, layout: .tokenMajor)
    let main = FlashAttention1Backward(
      workload: w, tiles: backward, seqParallel: parallel, q: q, k: k, v: v, o: o, dO: dO, lse: lse, dSum: dSum, dqTmp: dqTmp, dQ: dQ, dK: dK, dV: dV)
    guard parallel else { return kernels + [main] }
    let accumulatorBytes = B * H * N * w.headDimension * 4
    kernels.append(StreamingKernel(name: "fill (dq_tmp.zero_)", inputs: [], outputs: [(dqTmp.base, accumulatorBytes)]))
    kernels.append(FlashAttention1DotDoO(workload: w, tiles: backward, o: o, dO: dO, dSum: dSum))
    kernels.append(main)
    kernels.append(StreamingKernel(name: "copy (dq.copy_(dq_tmp))", inputs: [(dqTmp.base, accumulatorBytes)], outputs: [(dQ.base, w.tensorBytes)]))
    return kernels
  }

  /// `num_splits_heuristic_bwd`: 1 (one CTA per head loops over every key block) or T_c (one CTA
  /// per key block, with dQ accumulated by fp32 atomics), whichever fills the waves better, the
  /// parallel one discounted for its extra work.
  static func backwardSplits(_ w: AttentionWorkload, tiles: FlashAttention1BackwardTiles, device: GPUDeviceSpec) throws -> Int {
    let resources = tiles.resources
    let perSM = device.blocksPerSM(resources)
    guard perSM > 0 else {
      throw GPUModelError.kernelDoesNotFit(
        kernel: "fmha_bwd_dq_dk_dv_loop_kernel", threads: resources.threads, registers: resources.registersPerThread,
        sharedMemory: resources.sharedMemoryBytes, device: device.name)
    }
    let batchHeads = w.batch * w.heads
    let slots = Float(device.streamingMultiprocessors * perSM)
    let waves = Float(batchHeads) / slots
    let efficiency = waves / waves.rounded(.up)
    let parallelSplits = tiles.roundedKeys / tiles.keyBlock
    let parallelWaves = Float(batchHeads * parallelSplits) / slots
    let raw = parallelWaves / parallelWaves.rounded(.up)
    let discount: Float
    if !w.causal {
      discount = 1 + Float(tiles.keyBlock) / Float(tiles.roundedKeys)
    } else {
      if tiles.roundedKeys / tiles.keyBlock >= 10 { return parallelSplits }
      discount = Float(1 + 0.5 * Double(Float(tiles.keyBlock)) / Double(tiles.roundedKeys))
    }
    return efficiency >= raw / discount ? 1 : parallelSplits
  }

  /// grid.z as the launcher picks it (`num_splits = 0` from the Python interface).
  static func splits(_ w: AttentionWorkload, tiles: FlashAttention1Tiles, device: GPUDeviceSpec) throws -> Int {
    let resources = CTAResources(threads: tiles.threads, registersPerThread: registersPerThread, sharedMemoryBytes: tiles.sharedMemoryBytes)
    let perSM = device.blocksPerSM(resources)
    guard perSM > 0 else {
      throw GPUModelError.kernelDoesNotFit(
        kernel: "fmha_fwd_loop_kernel", threads: resources.threads, registers: resources.registersPerThread,
        sharedMemory: resources.sharedMemoryBytes, device: device.name)
    }
    // The source's bound is min(30, (seqlen_q + M - 1 / M)): 1 / M is 0 in integer arithmetic.
    let seqlenQ = ceilDiv(w.sequenceLength, 16) * 16
    let maxSplits = min(30, seqlenQ + tiles.queryStep - 1 / tiles.queryStep)
    return FlashAttention1Tiles.splits(
      batchHeads: w.batch * w.heads, multiprocessors: device.streamingMultiprocessors, blocksPerSM: perSM, maxSplits: maxSplits)
  }
}

/// FlashAttention-1 (the paper's own CUDA kernels), forward and backward.
public struct FlashAttention1Preset: AttentionKernelPreset {
  public let name = "fa1"
  public let summary = "FlashAttention-1's CUDA kernels (fmha_fwd_loop_kernel; backward fmha_bwd_dq_dk_dv_loop_kernel, or dot(dO, O) and the key-block-parallel kernel with fp32 dQ atomics): key blocks outer, 16-row query steps inner, fp32 partials re-read and re-written between key blocks; sm75/sm8x"
  public init() {}
  public func kernels(for workload: AttentionWorkload, on device: GPUDeviceSpec) throws -> [any GPUKernel] {
    try FlashAttention1Launch.kernels(workload, device: device)
  }

  /// The launch's tiles and grid.z for a workload on a device: the forward's, and the
  /// backward's (nil for a forward pass; its splits are 1 or T_c).
  public static func launch(for workload: AttentionWorkload, on device: GPUDeviceSpec) throws -> (
    tiles: FlashAttention1Tiles, splits: Int, backward: FlashAttention1BackwardTiles?, backwardSplits: Int
  ) {
    let tiles = try FlashAttention1Tiles.choose(headDimension: workload.headDimension, sequenceLength: workload.sequenceLength)
    let splits = try FlashAttention1Launch.splits(workload, tiles: tiles, device: device)
    guard workload.pass == .forwardBackward else { return (tiles, splits, nil, 1) }
    let backward = try FlashAttention1BackwardTiles.choose(
      headDimension: workload.headDimension, sequenceLength: workload.sequenceLength, computeCapability: device.computeCapability)
    return (tiles, splits, backward, try FlashAttention1Launch.backwardSplits(workload, tiles: backward, device: device))
  }
}

/// FlashAttention-1's backward choices (`mha_bwd`, `run_fmha_bwd_hdim*`, `run_fmha_bwd_loop`).
public struct FlashAttention1BackwardTiles: Hashable, Sendable, Codable {
  public var compiledHeadDimension: Int
  /// Key rows per outer step (`Cta_tile_p::N`).
  public var keyBlock: Int
  /// Keys rounded as the launcher rounds them (128, 256 or a multiple of the key block).
  public var roundedKeys: Int
  /// Query rows per inner step (16).
  public var queryStep: Int
  /// 1 × 8 warps.
  public var warps: Int
  public var sharedMemoryBytes: Int

  public var keyBlocks: Int { roundedKeys / keyBlock }
  public var threads: Int { warps * 32 }
  var resources: CTAResources {
    CTAResources(threads: threads, registersPerThread: FlashAttention1Launch.registersPerThread, sharedMemoryBytes: sharedMemoryBytes)
  }

  public static func choose(headDimension d: Int, sequenceLength n: Int, computeCapability: Int) throws -> FlashAttention1BackwardTiles {
    guard d % 8 == 0, d <= 128 else {
      throw GPUModelError.unsupported("FlashAttention-1 needs a head dimension that is a multiple of 8 and at most 128, got \(d)")
    }
    let compiled = d <= 32 ? 32 : d <= 64 ? 64 : 128
    let sm75 = computeCapability == 75
    let blocksizeC = d > 64 || (sm75 && d > 32) ? 128 : 256
    let roundedKeys = n <= 128 ? 128 : n <= 256 ? 256 : ceilDiv(n, blocksizeC) * blocksizeC
    let keyBlock = compiled == 128 || roundedKeys == 128 || (sm75 && compiled == 64) ? 128 : 256
    // sm80 runs hdim 64 (keys ≥ 256) and hdim 128 with V in shared memory (flags 0x100);
    // the others keep V in registers (0x08).
    let vInSharedMemory = compiled == 128 || (compiled == 64 && keyBlock == 256 && computeCapability == 80)
    let query = 2 * 16 * compiled * 2
    let value = keyBlock * compiled * 2
    let dq = 16 * compiled * 4 * 8
    let scores = 16 * keyBlock * 2
    return FlashAttention1BackwardTiles(
      compiledHeadDimension: compiled, keyBlock: keyBlock, roundedKeys: roundedKeys, queryStep: 16, warps: 8,
      sharedMemoryBytes: query * 2 + value * (vInSharedMemory ? 2 : 1) + dq + scores * 2)
  }
}

/// `fmha_bwd_dq_dk_dv_loop_kernel` (grid (B, H, 1)) or, when the launcher parallelizes over key
/// blocks, `fmha_bwd_q_dk_dv_loop_seqparallel_kernel` (grid (B, H, T_c)). Per key block j the CTA
/// loads K_j and V_j, then for each query block i from the diagonal (causal) or 0: loads Q_i,
/// dO_i, the statistics ℓ_i and D_i. The looping kernel also, on its first key block, loads O_i and
/// writes D_i = rowsum(dO_i ∘ O_i); from the second key block on it re-reads its fp32 partial dQ_i
/// from `dq_tmp` and writes dQ_i (fp16) when no later key block touches it, else the partial back.
/// The parallel kernel adds its partial dQ_i to `dq_tmp` with fp32 atomics. dK_j and dV_j are
/// written at the end of each key block.
struct FlashAttention1Backward: GPUKernel {
  let name: String
  let grid: GridShape
  let resources: CTAResources
  let keyBlock: Int
  let keyBlocks: Int
  let queryBlocks: Int
  let sequenceLength: Int
  let causal: Bool
  let seqParallel: Bool
  let q, k, v, o, dO, lse, dSum, dqTmp, dQ, dK, dV: HeadMatrix
  /// First step of each key block in the looping kernel (T_c + 1 entries).
  let stepStarts: [Int]

  init(
    workload w: AttentionWorkload, tiles: FlashAttention1BackwardTiles, seqParallel: Bool,
    q: HeadMatrix, k: HeadMatrix, v: HeadMatrix, o: HeadMatrix, dO: HeadMatrix, lse: HeadMatrix, dSum: HeadMatrix,
    dqTmp: HeadMatrix, dQ: HeadMatrix, dK: HeadMatrix, dV: HeadMatrix
  ) {
    name = seqParallel ? "fmha_bwd_q_dk_dv_loop_seqparallel_kernel" : "fmha_bwd_dq_dk_dv_loop_kernel"
    keyBlock = tiles.keyBlock
    keyBlocks = tiles.keyBlocks
    queryBlocks = ceilDiv(w.sequenceLength, 16)
    sequenceLength = w.sequenceLength
    causal = w.causal
    self.seqParallel = seqParallel
    grid = GridShape(x: w.batch, y: w.heads, z: seqParallel ? tiles.keyBlocks : 1)
    resources = tiles.resources
    (self.q, self.k, self.v, self.o, self.dO, self.lse, self.dSum) = (q, k, v, o, dO, lse, dSum)
    (self.dqTmp, self.dQ, self.dK, self.dV) = (dqTmp, dQ, dK, dV)
    var starts: [Int] = []
    var total = 0
    for j in 0..<tiles.keyBlocks {
      starts.append(total)
      total += ceilDiv(w.sequenceLength, 16) - (w.causal ? j * tiles.keyBlock / 16 : 0)
    }
    starts.append(total)
    stepStarts = starts
  }

  var blockCount: Int { grid.count }

  @inline(__always) func begin(_ j: Int) -> Int { causal ? j * keyBlock / 16 : 0 }

  func stepCount(ofBlock block: Int) -> Int {
    seqParallel ? queryBlocks - begin(grid.coordinates(of: block).z) : stepStarts[keyBlocks]
  }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let (b, h, z) = grid.coordinates(of: block)
    var j = z
    var within = step
    if !seqParallel {
      var low = 0
      var high = keyBlocks - 1
      while low < high {
        let middle = (low + high + 1) / 2
        if stepStarts[middle] <= step { low = middle } else { high = middle - 1 }
      }
      j = low
      within = step - stepStarts[j]
    }
    let visits = queryBlocks - begin(j)
    let i = begin(j) + within
    let keyRows = min(keyBlock, sequenceLength - j * keyBlock)
    if within == 0 {
      accesses.append(k.rows(.read, batch: b, head: h, first: j * keyBlock, count: keyRows))
      accesses.append(v.rows(.read, batch: b, head: h, first: j * keyBlock, count: keyRows))
    }
    let first = i * 16
    let rows = min(16, sequenceLength - first)
    accesses.append(q.rows(.read, batch: b, head: h, first: first, count: rows))
    accesses.append(dO.rows(.read, batch: b, head: h, first: first, count: rows))
    let firstKeyBlock = !seqParallel && j == 0
    if firstKeyBlock {
      accesses.append(o.rows(.read, batch: b, head: h, first: first, count: rows))
      accesses.append(dSum.rows(.write, batch: b, head: h, first: first, count: rows))
    }
    accesses.append(lse.rows(.read, batch: b, head: h, first: first, count: rows))
    accesses.append(dSum.rows(.read, batch: b, head: h, first: first, count: rows))
    if seqParallel {
      accesses.append(dqTmp.rows(.reduction, batch: b, head: h, first: first, count: rows))
    } else {
      if j > 0 { accesses.append(dqTmp.rows(.read, batch: b, head: h, first: first, count: rows)) }
      let final = j == keyBlocks - 1 || (causal && first < (j + 1) * keyBlock)
      accesses.append((final ? dQ : dqTmp).rows(.write, batch: b, head: h, first: first, count: rows))
    }
    if within == visits - 1 {
      accesses.append(dV.rows(.write, batch: b, head: h, first: j * keyBlock, count: keyRows))
      accesses.append(dK.rows(.write, batch: b, head: h, first: j * keyBlock, count: keyRows))
    }
  }
}

/// `fmha_bwd_dot_do_o_kernel`, launched before the key-block-parallel kernel: grid (B, H,
/// ⌈round16(N)/128⌉); CTA z takes every z-th 16-row query block, reads dO_i and O_i and writes
/// D_i = rowsum(dO_i ∘ O_i).
struct FlashAttention1DotDoO: GPUKernel {
  let name = "fmha_bwd_dot_do_o_kernel"
  let grid: GridShape
  let resources: CTAResources
  let queryBlocks: Int
  let sequenceLength: Int
  let o, dO, dSum: HeadMatrix

  init(workload w: AttentionWorkload, tiles: FlashAttention1BackwardTiles, o: HeadMatrix, dO: HeadMatrix, dSum: HeadMatrix) {
    queryBlocks = ceilDiv(w.sequenceLength, 16)
    sequenceLength = w.sequenceLength
    grid = GridShape(x: w.batch, y: w.heads, z: ceilDiv(queryBlocks * 16, 128))
    resources = CTAResources(threads: tiles.threads, registersPerThread: FlashAttention1Launch.registersPerThread, sharedMemoryBytes: 0)
    (self.o, self.dO, self.dSum) = (o, dO, dSum)
  }

  var blockCount: Int { grid.count }
  func stepCount(ofBlock block: Int) -> Int {
    let z = grid.coordinates(of: block).z
    return z < queryBlocks ? ceilDiv(queryBlocks - z, grid.z) : 0
  }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let (b, h, z) = grid.coordinates(of: block)
    let i = z + step * grid.z
    guard i < queryBlocks else { return }
    let first = i * 16
    let rows = min(16, sequenceLength - first)
    accesses.append(dO.rows(.read, batch: b, head: h, first: first, count: rows))
    accesses.append(o.rows(.read, batch: b, head: h, first: first, count: rows))
    accesses.append(dSum.rows(.write, batch: b, head: h, first: first, count: rows))
  }
}
