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
    for count in 1...maxSplits where efficiency[count - 1] > 0.95 * best { return count }
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
    guard w.pass == .forward else {
      throw GPUModelError.unsupported("the fa1 preset models FlashAttention-1's forward kernel only; use --pass forward")
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
    return [FlashAttention1Forward(workload: w, tiles: tiles, splits: splits, q: q, k: k, v: v, o: o, oTmp: oTmp, lse: lse)]
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

/// FlashAttention-1 (the paper's own CUDA kernel), forward only.
public struct FlashAttention1Preset: AttentionKernelPreset {
  public let name = "fa1"
  public let summary = "FlashAttention-1's CUDA kernel (fmha_fwd_loop_kernel): grid (B, H, splits), key blocks outer, 16-row query steps inner, fp32 o_tmp and softmax statistics re-read and re-written between key blocks; forward only, sm75/sm8x"
  public init() {}
  public func kernels(for workload: AttentionWorkload, on device: GPUDeviceSpec) throws -> [any GPUKernel] {
    try FlashAttention1Launch.kernels(workload, device: device)
  }

  /// The launch's tiles and grid.z for a workload on a device.
  public static func launch(for workload: AttentionWorkload, on device: GPUDeviceSpec) throws -> (tiles: FlashAttention1Tiles, splits: Int) {
    let tiles = try FlashAttention1Tiles.choose(headDimension: workload.headDimension, sequenceLength: workload.sequenceLength)
    return (tiles, try FlashAttention1Launch.splits(workload, tiles: tiles, device: device))
  }
}
