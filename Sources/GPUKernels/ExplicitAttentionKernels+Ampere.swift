import GPUModel

/// A non-persistent tiled GEMM as cuBLAS's sm80 kernels run it (`ampere_fp16_s16816gemm_*`):
/// one CTA per output tile of `tileM × tileN`, blockIdx.x over m-tiles, y over n-tiles, z over the
/// batch; each CTA loops over k in chunks of `tileK` (one A block and one B block per chunk) and
/// writes its C tile after the last. No clusters, no multicast.
struct TiledGEMM: GPUKernel {
  let name: String
  let resources: CTAResources
  let batches: Int
  let m, n, k: Int
  let tileM, tileN, tileK: Int
  let a, b, c: StridedMatrix

  var tilesM: Int { ceilDiv(m, tileM) }
  var tilesN: Int { ceilDiv(n, tileN) }
  var blockCount: Int { batches * tilesM * tilesN }
  func stepCount(ofBlock block: Int) -> Int { ceilDiv(k, tileK) }

  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
    let mTile = block % tilesM
    let nTile = (block / tilesM) % tilesN
    let batch = block / (tilesM * tilesN)
    let row = mTile * tileM
    let column = nTile * tileN
    let rows = min(tileM, m - row)
    let columns = min(tileN, n - column)
    let p = step * tileK
    let depth = min(tileK, k - p)
    accesses.append(a.block(.read, batch: batch, row: row, rows: rows, column: p, columns: depth))
    accesses.append(b.block(.read, batch: batch, row: p, rows: depth, column: column, columns: columns))
    if step == stepCount(ofBlock: block) - 1 {
      accesses.append(c.block(.write, batch: batch, row: row, rows: rows, column: column, columns: columns))
    }
  }
}

extension ExplicitAttentionLaunch {
  /// cuBLAS's Ampere tile for every GEMM of the explicit attention: 256 × 128 outputs, k in chunks
  /// of 32 with 3 stages (`ampere_fp16_s16816gemm_fp16_256x128_ldg8_f2f_stages_32x3`), 256 threads.
  /// Registers are an assumption (one CTA per SM); see Docs/Kernels.md.
  static let ampereGEMMResources = CTAResources(threads: 256, registersPerThread: 232, sharedMemoryBytes: 3 * (256 + 128) * 32 * 2)

  /// The same kernel sequence as on Hopper, with each GEMM run as cuBLAS's sm80 tiled kernel
  /// over the same operands (GPUs before sm90 have neither clusters nor persistent nvjet GEMMs).
  static func ampereKernels(_ w: AttentionWorkload, device: GPUDeviceSpec) throws -> [any GPUKernel] {
    try kernels(w, device: device).map { kernel -> any GPUKernel in
      guard let gemm = kernel as? PersistentGEMM else { return kernel }
      let operation = gemm.name.hasPrefix("nvjet_sm90 ") ? String(gemm.name.dropFirst("nvjet_sm90 ".count)) : gemm.name
      return TiledGEMM(
        name: "ampere_fp16_s16816gemm 256x128 \(operation)", resources: ampereGEMMResources, batches: gemm.batches,
        m: gemm.m, n: gemm.n, k: gemm.k, tileM: 256, tileN: 128, tileK: 32, a: gemm.a, b: gemm.b, c: gemm.c)
    }
  }
}
