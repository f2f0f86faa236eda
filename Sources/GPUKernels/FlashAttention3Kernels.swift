import GPUModel

/// FlashAttention-3's Hopper forward tiles (`hopper/tile_size.h`, `tile_size_fwd_sm90`, 2-byte
/// elements, no local window, no paged KV, no softcap, d_v = d) and its launch choices
/// (`hopper/flash_fwd_launch_template.h`); see Docs/Kernels.md.
public struct FlashAttention3Tiles: Hashable, Sendable, Codable {
  /// d rounded up to 64, 96, 128, 192 or 256 (the compiled head dimension).
  public var compiledHeadDimension: Int
  /// Query rows per tile (kBlockM) and key rows per step (kBlockN).
  public var blockM: Int
  public var blockN: Int
  /// P·V from registers (true) or with P staged in shared memory.
  public var pvFromRegisters: Bool
  /// CTAs per cluster along M (2: the pair shares K and V by TMA multicast).
  public var clusterM: Int
  /// One producer warpgroup and kBlockM / 64 consumer warpgroups.
  public var threads: Int
  /// Shared memory of one CTA: V and K in two stages, Q, and P unless P·V reads registers
  /// (the epilogue's O overlaps V).
  public var sharedMemoryBytes: Int

  public static func choose(headDimension d: Int, sequenceLength n: Int, causal: Bool) throws -> FlashAttention3Tiles {
    guard d % 8 == 0, d <= 256 else {
      throw GPUModelError.unsupported("FlashAttention-3 needs a head dimension that is a multiple of 8 and at most 256, got \(d)")
    }
    let compiled = d <= 64 ? 64 : d <= 96 ? 96 : d <= 128 ? 128 : d <= 192 ? 192 : 256
    let tile: (m: Int, n: Int, rs: Bool)
    switch compiled {
    case 64: tile = (192, causal ? 128 : 192, causal)
    case 96: tile = (192, 144, false)
    case 128: tile = (128, causal ? 128 : 176, true)
    case 192: tile = (128, 112, true)  // d_v = d > 128
    default: tile = (128, 80, true)
    }
    let mBlocks = ceilDiv(n, tile.m)
    let cluster = compiled >= 128 && !causal && mBlocks % 2 == 0 ? 2 : 1
    let stages = 2
    let elementBytes = 2
    let shared = (stages * tile.n * compiled * 2 + tile.m * compiled + (tile.rs ? 0 : tile.m * tile.n)) * elementBytes
    return FlashAttention3Tiles(
      compiledHeadDimension: compiled, blockM: tile.m, blockN: tile.n, pvFromRegisters: tile.rs, clusterM: cluster,
      threads: (tile.m / 64 + 1) * 128, sharedMemoryBytes: shared)
  }

  /// Heads per L2 section of the causal scheduler: the largest power of two of K+V heads that
  /// fit 32 MiB (1 when one head does not).
  public static func headSwizzle(sequenceLength n: Int, headDimension d: Int) -> Int {
    let oneHead = n * (d + d) * 2
    let budget = 32 * 1024 * 1024
    guard budget >= oneHead else { return 1 }
    var swizzle = 1
    while swizzle * 2 <= budget / oneHead { swizzle *= 2 }
    return swizzle
  }
}

/// `FlashAttnFwdSm90` with a persistent tile scheduler: one CTA per SM, each taking output tiles
/// (m-block, head, batch) one after another. Non-causal: the static scheduler deals tile t to CTA
/// t mod grid, tiles ordered m-block fastest, then head, then batch. Causal: the dynamic scheduler
/// hands the next tile to the first CTA that is free, tiles ordered in sections of `swizzle`
/// heads (heads fastest within a section), m-blocks longest first. Each tile loads its Q block
/// once, visits K/V blocks in descending order (causal: up to its diagonal), and writes O and
/// LSE. In a 2-CTA cluster the second CTA receives K and V by multicast.
///
/// One step of the model is one K/V block of one tile.
struct FlashAttention3Forward: GPUKernel {
  let name = "FlashAttnFwdSm90"
  let resources: CTAResources
  let blockM: Int
  let blockN: Int
  let clusterM: Int
  let sequenceLength: Int
  let causal: Bool
  let mBlocks: Int
  let heads: Int
  let ctas: Int
  let q, k, v, o, lse: HeadMatrix
  /// Tiles of CTA c: tileOrder[tileStarts[c] ..< tileStarts[c + 1]] (tile numbers in launch order).
  let tileStarts: [Int]
  let tileOrder: [Int]
  /// Step of each listed tile's first K/V block within its CTA, and the CTA's total (one more entry per CTA).
  let stepStarts: [Int]
  let swizzle: Int
  let batchHeads: Int

  init(workload w: AttentionWorkload, tiles: FlashAttention3Tiles, multiprocessors: Int, q: HeadMatrix, k: HeadMatrix, v: HeadMatrix, o: HeadMatrix, lse: HeadMatrix) {
    blockM = tiles.blockM
    blockN = tiles.blockN
    clusterM = tiles.clusterM
    sequenceLength = w.sequenceLength
    causal = w.causal
    mBlocks = ceilDiv(w.sequenceLength, tiles.blockM)
    heads = w.heads
    batchHeads = w.batch * w.heads
    swizzle = FlashAttention3Tiles.headSwizzle(sequenceLength: w.sequenceLength, headDimension: w.headDimension)
    let registers = (65_536 / tiles.threads) / 8 * 8
    resources = CTAResources(threads: tiles.threads, registersPerThread: registers, sharedMemoryBytes: tiles.sharedMemoryBytes)
    self.q = q
    self.k = k
    self.v = v
    self.o = o
    self.lse = lse
    let total = mBlocks * batchHeads
    let grid = max(tiles.clusterM, min(multiprocessors / tiles.clusterM * tiles.clusterM, ceilDiv(total, tiles.clusterM) * tiles.clusterM))
    ctas = grid
    // Deal the tiles: statically, or to the first free CTA (ties to the lower CTA).
    var perCTA = [[Int]](repeating: [], count: grid)
    let blocksOf = { (m: Int) -> Int in
      let all = ceilDiv(w.sequenceLength, tiles.blockN)
      return w.causal ? min(all, ceilDiv((m + 1) * tiles.blockM, tiles.blockN)) : all
    }
    if !w.causal {
      for t in 0..<total { perCTA[t % grid].append(t) }
    } else {
      var busyUntil = [Int](repeating: 0, count: grid)
      for t in 0..<total {
        var chosen = 0
        if t < grid {
          chosen = t
        } else {
          for c in 1..<grid where busyUntil[c] < busyUntil[chosen] { chosen = c }
        }
        perCTA[chosen].append(t)
        // The tile's m-block decides its K/V blocks.
        let m = Self.coordinates(tile: t, mBlocks: mBlocks, heads: w.heads, batchHeads: batchHeads, swizzle: swizzle, causal: true).m
        busyUntil[chosen] += blocksOf(m)
      }
    }
    var starts: [Int] = [0]
    var order: [Int] = []
    var steps: [Int] = []
    for c in 0..<grid {
      var count = 0
      for t in perCTA[c] {
        order.append(t)
        steps.append(count)
        let m = Self.coordinates(tile: t, mBlocks: mBlocks, heads: w.heads, batchHeads: batchHeads, swizzle: swizzle, causal: w.causal).m
        count += blocksOf(m)
      }
      steps.append(count)
      starts.append(order.count)
    }
    tileStarts = starts
    tileOrder = order
    stepStarts = steps
  }

  /// (m-block, head, batch) of tile `t`: `StaticPersistentTileScheduler` or, when causal,
  /// `DynamicPersistentTileScheduler`'s head sections and longest-first m-blocks.
  static func coordinates(tile t: Int, mBlocks: Int, heads: Int, batchHeads: Int, swizzle: Int, causal: Bool) -> (m: Int, h: Int, b: Int) {
    guard causal else { return (t % mBlocks, (t / mBlocks) % heads, t / (mBlocks * heads)) }
    let section = t / (swizzle * mBlocks)
    let within = t % (swizzle * mBlocks)
    let width = section < batchHeads / swizzle ? swizzle : max(1, batchHeads % swizzle)
    let block = within / width
    let headBatch = section * swizzle + within % width
    return (mBlocks - 1 - block, headBatch % heads, headBatch / heads)
  }

  var blockCount: Int { ctas }

  func stepCount(ofBlock block: Int) -> Int { stepStarts[tileStarts[block + 1] + block] }

  @inline(__always) func keyBlocks(_ m: Int) -> Int {
    let all = ceilDiv(sequenceLength, blockN)
    return causal ? min(all, ceilDiv((m + 1) * blockM, blockN)) : all
  }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let first = tileStarts[block]
    let end = tileStarts[block + 1]
    guard end > first else { return }
    // stepStarts holds one extra entry per earlier CTA.
    let offset = first + block
    var low = 0
    var high = end - first - 1
    while low < high {
      let middle = (low + high + 1) / 2
      if stepStarts[offset + middle] <= step { low = middle } else { high = middle - 1 }
    }
    let tile = tileOrder[first + low]
    let within = step - stepStarts[offset + low]
    let (m, h, b) = Self.coordinates(tile: tile, mBlocks: mBlocks, heads: heads, batchHeads: batchHeads, swizzle: swizzle, causal: causal)
    let visited = keyBlocks(m)
    let queryFirst = m * blockM
    let rows = min(blockM, sequenceLength - queryFirst)
    if within == 0 { accesses.append(q.rows(.read, batch: b, head: h, first: queryFirst, count: rows)) }
    let n = visited - 1 - within
    let keyRows = min(blockN, sequenceLength - n * blockN)
    if clusterM == 1 || block % clusterM == 0 {
      accesses.append(k.rows(.read, batch: b, head: h, first: n * blockN, count: keyRows))
      accesses.append(v.rows(.read, batch: b, head: h, first: n * blockN, count: keyRows))
    }
    if within == visited - 1 {
      accesses.append(o.rows(.write, batch: b, head: h, first: queryFirst, count: rows))
      accesses.append(lse.rows(.write, batch: b, head: h, first: queryFirst, count: rows))
    }
  }
}

enum FlashAttention3Launch {
  static func kernels(_ w: AttentionWorkload, device: GPUDeviceSpec) throws -> [any GPUKernel] {
    guard device.computeCapability == 90 else {
      throw GPUModelError.unsupported("the fa3 preset models FlashAttention-3's Hopper (sm90) kernel; \(device.name) is sm\(device.computeCapability)")
    }
    guard w.pass == .forward else {
      throw GPUModelError.unsupported("the fa3 preset models FlashAttention-3's forward kernel only; use --pass forward")
    }
    let tiles = try FlashAttention3Tiles.choose(headDimension: w.headDimension, sequenceLength: w.sequenceLength, causal: w.causal)
    let splits = Self.splits(w, tiles: tiles, multiprocessors: device.streamingMultiprocessors)
    guard splits == 1 else {
      throw GPUModelError.unsupported(
        "FlashAttention-3 would split the keys \(splits) ways for B=\(w.batch), H=\(w.heads), N=\(w.sequenceLength) on \(device.name) (few query tiles or one very long head); the split-KV path and its combine kernel are not modelled")
    }
    var memory = GlobalMemory()
    let (B, H, N) = (w.batch, w.heads, w.sequenceLength)
    let q = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes)
    let k = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes)
    let v = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes)
    let o = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: w.rowBytes)
    let lse = HeadMatrix.allocate(&memory, batch: B, heads: H, rows: N, rowBytes: 4)
    return [FlashAttention3Forward(workload: w, tiles: tiles, multiprocessors: device.streamingMultiprocessors, q: q, k: k, v: v, o: o, lse: lse)]
  }

  /// `get_num_splits` / `num_splits_heuristic` (hopper/heuristics.h) for one query head per K/V head.
  static func splits(_ w: AttentionWorkload, tiles: FlashAttention3Tiles, multiprocessors sms: Int) -> Int {
    let nBlocks = ceilDiv(w.sequenceLength, tiles.blockN)
    let mBlocks = ceilDiv(w.sequenceLength, tiles.blockM)
    let oneHead = w.sequenceLength * (w.headDimension * 2) * 2
    let total = w.batch * w.heads * mBlocks
    if Float(total) >= 0.8 * Float(sms) {
      let l2 = 50 * 1024 * 1024
      if oneHead > l2 && mBlocks >= sms * 2 && !w.causal { return min(ceilDiv(oneHead, l2), 128) }
      return 1
    }
    if nBlocks <= 4 { return 1 }
    let most = min(128, sms, nBlocks)
    var efficiency: [Float] = []
    var best: Float = 0
    for count in 1...most {
      let waves = Float(total * count) / Float(sms)
      let value = waves / waves.rounded(.up)
      best = max(best, value)
      efficiency.append(value)
    }
    for count in 1...most where Double(efficiency[count - 1]) >= 0.85 * Double(best) { return count }
    return 1
  }
}

/// FlashAttention-3's Hopper forward kernel with its persistent tile schedulers.
public struct FlashAttention3Preset: AttentionKernelPreset {
  public let name = "fa3"
  public let summary = "FlashAttention-3's Hopper forward (FlashAttnFwdSm90): tiles by head dimension, one persistent CTA per SM, static tile order, or causal longest-first order in L2-sized head sections; sm90, forward only, unmeasured"
  public init() {}
  public func kernels(for workload: AttentionWorkload, on device: GPUDeviceSpec) throws -> [any GPUKernel] {
    try FlashAttention3Launch.kernels(workload, device: device)
  }

  /// The tiles and the number of persistent CTAs for a workload on a device.
  public static func launch(for workload: AttentionWorkload, on device: GPUDeviceSpec) throws -> (tiles: FlashAttention3Tiles, ctas: Int) {
    guard let kernel = try FlashAttention3Launch.kernels(workload, device: device).first as? FlashAttention3Forward else {
      throw GPUModelError.invalid("fa3 launched no kernel")
    }
    let tiles = try FlashAttention3Tiles.choose(headDimension: workload.headDimension, sequenceLength: workload.sequenceLength, causal: workload.causal)
    return (tiles, kernel.ctas)
  }
}
