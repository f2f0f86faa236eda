import XCTest
import _TestSupport
import GPUModel
@testable import GPUKernels

/// The fa1 and fa3 presets: their tile traffic equals the closed form of each kernel's loops on
/// random ragged shapes, and with an L2 that holds everything DRAM reads each input byte once.
final class PresetTests: XCTestCase {
  static let seeds: [UInt64] = [1, 2, 3, 5, 8, 13, 21, 34]

  /// A GPU with `sms` SMs and an L2 far larger than any test's data (96 MiB: a set count that is
  /// not a power of two, so no buffer crowds one set).
  static func device(computeCapability: Int, sms: Int) -> GPUDeviceSpec {
    GPUDeviceSpec(
      name: "test-sm\(computeCapability)", computeCapability: computeCapability, streamingMultiprocessors: sms,
      sharedMemoryPerSMInBytes: 228 * 1024, sharedMemoryPerBlockInBytes: 227 * 1024, maxThreadsPerSM: 2048, maxBlocksPerSM: 32,
      l2: L2CacheSpec(capacityInBytes: 96 * 1024 * 1024, partitions: 2), dramBytesPerSecond: 1e12, source: "test")
  }

  /// Sectors of the byte range [start, start + bytes).
  static func sectors(start: Int, bytes: Int) -> Int { bytes == 0 ? 0 : (start + bytes - 1) / 32 - start / 32 + 1 }

  // MARK: - FlashAttention-1

  func testFlashAttention1TilesFollowTheLauncher() throws {
    let gpt2 = try FlashAttention1Tiles.choose(headDimension: 64, sequenceLength: 1024)
    XCTAssertEqual(gpt2.keyBlock, 256)
    XCTAssertEqual(gpt2.keyBlocks, 4)
    XCTAssertEqual(gpt2.queryStep, 16)
    XCTAssertEqual(gpt2.threads, 128)
    XCTAssertEqual(gpt2.sharedMemoryBytes, 4096 + 32_768 + 128)
    let short = try FlashAttention1Tiles.choose(headDimension: 64, sequenceLength: 100)
    XCTAssertEqual(short.keyBlock, 128)
    XCTAssertEqual(short.keyBlocks, 1)
    XCTAssertEqual(short.sharedMemoryBytes, 4096 + 16_384 + 512, "O staging and softmax scratch outgrow a 128-key K tile")
    let wide = try FlashAttention1Tiles.choose(headDimension: 128, sequenceLength: 1000)
    XCTAssertEqual(wide.keyBlock, 128)
    XCTAssertEqual(wide.keyBlocks, 8)
    XCTAssertThrowsError(try FlashAttention1Tiles.choose(headDimension: 160, sequenceLength: 64))
    XCTAssertThrowsError(try FlashAttention1Tiles.choose(headDimension: 60, sequenceLength: 64))
    // The launcher's comment: 48 heads on 108 SMs prefer 2 splits (efficiency 0.89) to 3 (0.67);
    // with up to 30 splits the heuristic goes on to 9 (4 full waves).
    XCTAssertEqual(FlashAttention1Tiles.splits(batchHeads: 48, multiprocessors: 108, blocksPerSM: 1, maxSplits: 3), 2)
    XCTAssertEqual(FlashAttention1Tiles.splits(batchHeads: 48, multiprocessors: 108, blocksPerSM: 1, maxSplits: 30), 9)
    // GPT-2 medium (1024 heads) at 2 CTAs per SM on an A100: one split wastes 5% of the last wave, 4 waste 0.2%.
    XCTAssertEqual(FlashAttention1Tiles.splits(batchHeads: 1024, multiprocessors: 108, blocksPerSM: 2, maxSplits: 30), 4)
  }

  func testFlashAttention1TileTrafficEqualsTheClosedFormAndDRAMReadsEachInputOnce() throws {
    for seed in Self.seeds {
      var rng = SplitMix64(seed: seed)
      let batch = 1 + Int(rng.next() % 3)
      let heads = 1 + Int(rng.next() % 3)
      let n = 1 + Int(rng.next() % 700)
      let d = 16 * (1 + Int(rng.next() % 8))
      let causal = rng.next() % 2 == 0
      let sms = 1 + Int(rng.next() % 8)
      let device = Self.device(computeCapability: 80, sms: sms)
      let workload = try AttentionWorkload(batch: batch, heads: heads, sequenceLength: n, headDimension: d, causal: causal, pass: .forward)
      let (tiles, splits, _, _) = try FlashAttention1Preset.launch(for: workload, on: device)
      let report = try GPUTrafficModel.run(preset: FlashAttention1Preset(), workload: workload, device: device)
      withTrace("seed: \(seed), B: \(batch), H: \(heads), N: \(n), d: \(d), causal: \(causal), SMs: \(sms), splits: \(splits), Bc: \(tiles.keyBlock)") { context in
        let bc = tiles.keyBlock
        let tc = (n + bc - 1) / bc
        let tr = (n + 15) / 16
        XCTAssertEqual(tiles.keyBlocks, tc, context.message("T_c"))
        // Softmax statistics of query blocks b … T_r−1: 4 bytes per row, 64-byte aligned blocks.
        func statistics(from b: Int) -> Int { (b..<tr).reduce(0) { $0 + (4 * min(16, n - 16 * $1) + 31) / 32 } }
        var reads = 0
        var writes = n * d / 16  // O in fp16, once
        for j in 0..<tc {
          let begin = causal ? j * bc / 16 : 0
          let keyRows = min(bc, n - j * bc)
          let visitingSplits = min(splits, tr - begin)
          reads += visitingSplits * 2 * keyRows * d / 16  // K_j and V_j once per split that visits them
          reads += (n - 16 * begin) * d / 16  // Q_i of every visited query block
          writes += statistics(from: begin)  // ℓ_i written at every visit
          if j > 0 { reads += (n - 16 * begin) * d / 8 + statistics(from: begin) }  // o_tmp_i and ℓ_i
          if j < tc - 1 {
            let partialRows = causal ? max(0, n - (j + 1) * bc) : n
            writes += partialRows * d / 8  // o_tmp_i for query blocks a later key block revisits
          }
        }
        XCTAssertEqual(report.requestedReadSectors, batch * heads * reads, context.message("tile read sectors"))
        XCTAssertEqual(report.total.writeSectors, batch * heads * writes, context.message("L2 write sectors"))
        XCTAssertEqual(report.dramReadBytes, 3 * batch * heads * n * d * 2, context.message("DRAM reads: Q, K and V once"))
        XCTAssertEqual(report.kernels.first?.blockCount, batch * heads * splits, context.message("grid (B, H, splits)"))
      }
    }
  }

  func testFlashAttention1BackwardTrafficEqualsTheClosedFormAndDRAMReadsEachInputOnce() throws {
    var paths = Set<Int>()
    for seed in Self.seeds + [55, 89, 144, 233] {
      var rng = SplitMix64(seed: seed)
      let batch = 1 + Int(rng.next() % 2)
      let heads = 1 + Int(rng.next() % 3)
      let n = 1 + Int(rng.next() % 700)
      let d = 16 * (1 + Int(rng.next() % 8))
      let causal = rng.next() % 2 == 0
      let sms = 1 + Int(rng.next() % 6)
      let device = Self.device(computeCapability: 80, sms: sms)
      let workload = try AttentionWorkload(batch: batch, heads: heads, sequenceLength: n, headDimension: d, causal: causal, pass: .forwardBackward)
      let plan = try FlashAttention1Preset.launch(for: workload, on: device)
      let backward = try XCTUnwrap(plan.backward)
      let parallel = plan.backwardSplits > 1
      paths.insert(plan.backwardSplits > 1 ? 2 : 1)
      // Keep the L2 between kernels: what the forward wrote (O, statistics) is then an L2 hit.
      let report = try GPUTrafficModel.run(preset: FlashAttention1Preset(), workload: workload, device: device, betweenKernels: .keep)
      let forward = try GPUTrafficModel.run(
        preset: FlashAttention1Preset(), workload: try AttentionWorkload(batch: batch, heads: heads, sequenceLength: n, headDimension: d, causal: causal, pass: .forward),
        device: device)
      withTrace("seed: \(seed), B: \(batch), H: \(heads), N: \(n), d: \(d), causal: \(causal), SMs: \(sms), Bc: \(backward.keyBlock), parallel: \(parallel)") { context in
        let bc = backward.keyBlock
        let tc = (n + bc - 1) / bc
        let tr = (n + 15) / 16
        XCTAssertEqual(backward.keyBlocks, tc, context.message("T_c"))
        func statistics(from b: Int) -> Int { (b..<tr).reduce(0) { $0 + (4 * min(16, n - 16 * $1) + 31) / 32 } }
        let rowSectors = d / 16
        var reads = 0
        var writes = 2 * n * rowSectors  // dK and dV once
        var reductions = 0
        for j in 0..<tc {
          let begin = causal ? j * bc / 16 : 0
          reads += 2 * min(bc, n - j * bc) * rowSectors  // K_j, V_j
          reads += 2 * (n - 16 * begin) * rowSectors + 2 * statistics(from: begin)  // Q_i, dO_i, ℓ_i, D_i
          if parallel {
            reductions += (n - 16 * begin) * 2 * rowSectors  // fp32 dQ_i atomics
          } else {
            if j > 0 { reads += (n - 16 * begin) * 2 * rowSectors }  // dq_tmp_i
            if j < tc - 1 { writes += (causal ? max(0, n - (j + 1) * bc) : n) * 2 * rowSectors }  // partial dQ_i
          }
        }
        if parallel {
          // fill dq_tmp; dot(dO, O): read dO and O, write D; copy dq_tmp to dQ.
          writes += n * 2 * rowSectors + statistics(from: 0) + n * rowSectors
          reads += 2 * n * rowSectors + n * 2 * rowSectors
        } else {
          reads += n * rowSectors  // O_i on the first key block
          writes += statistics(from: 0) + n * rowSectors  // D_i, and dQ_i (fp16) once
        }
        let bh = batch * heads
        XCTAssertEqual(report.requestedReadSectors - forward.requestedReadSectors, bh * reads, context.message("backward tile read sectors"))
        XCTAssertEqual(report.total.writeSectors - forward.total.writeSectors, bh * writes, context.message("backward L2 write sectors"))
        XCTAssertEqual(report.total.reductionSectors, bh * reductions, context.message("dQ atomics"))
        XCTAssertEqual(report.dramReadBytes, 4 * bh * n * d * 2, context.message("DRAM reads: Q, K, V and dO once"))
        XCTAssertEqual(report.kernels.count, parallel ? 5 : 2, context.message("kernel sequence"))
      }
    }
    XCTAssertEqual(paths, [1, 2], "both backward paths exercised")
  }

  func testFlashAttention1RefusesHopperAndWideBackwardOffSm80() throws {
    let workload = try AttentionWorkload(batch: 1, heads: 1, sequenceLength: 64, headDimension: 64, causal: false, pass: .forward)
    XCTAssertThrowsError(try GPUTrafficModel.run(preset: FlashAttention1Preset(), workload: workload, device: .h200))
    let wide = try AttentionWorkload(batch: 1, heads: 1, sequenceLength: 64, headDimension: 128, causal: false, pass: .forwardBackward)
    XCTAssertThrowsError(try GPUTrafficModel.run(preset: FlashAttention1Preset(), workload: wide, device: .rtx3090))
    XCTAssertNoThrow(try GPUTrafficModel.run(preset: FlashAttention1Preset(), workload: wide, device: .a100_40GB))
  }

  // MARK: - FlashAttention-3

  func testFlashAttention3TilesFollowTileSize() throws {
    let d64 = try FlashAttention3Tiles.choose(headDimension: 64, sequenceLength: 1024, causal: false)
    XCTAssertEqual([d64.blockM, d64.blockN, d64.threads, d64.clusterM], [192, 192, 512, 1])
    XCTAssertEqual(d64.sharedMemoryBytes, 196_608)
    let d64c = try FlashAttention3Tiles.choose(headDimension: 64, sequenceLength: 1024, causal: true)
    XCTAssertEqual([d64c.blockM, d64c.blockN], [192, 128])
    let d128 = try FlashAttention3Tiles.choose(headDimension: 128, sequenceLength: 1024, causal: false)
    XCTAssertEqual([d128.blockM, d128.blockN, d128.threads, d128.clusterM], [128, 176, 384, 2])
    XCTAssertEqual(d128.sharedMemoryBytes, 212_992)
    // Clusters need an even number of query tiles: 1000 rows make 8, 600 make 5.
    XCTAssertEqual(try FlashAttention3Tiles.choose(headDimension: 128, sequenceLength: 1000, causal: false).clusterM, 2)
    XCTAssertEqual(try FlashAttention3Tiles.choose(headDimension: 128, sequenceLength: 600, causal: false).clusterM, 1)
    XCTAssertEqual(try FlashAttention3Tiles.choose(headDimension: 128, sequenceLength: 1000, causal: true).clusterM, 1)
    XCTAssertEqual(FlashAttention3Tiles.headSwizzle(sequenceLength: 1024, headDimension: 64), 128, "256 KiB of K and V per head: 128 heads fill 32 MiB")
    XCTAssertEqual(FlashAttention3Tiles.headSwizzle(sequenceLength: 1 << 20, headDimension: 128), 1)
  }

  func testFlashAttention3SchedulersVisitEveryTileOnce() {
    for seed in Self.seeds {
      var rng = SplitMix64(seed: seed)
      let mBlocks = 1 + Int(rng.next() % 7)
      let heads = 1 + Int(rng.next() % 5)
      let batchHeads = heads * (1 + Int(rng.next() % 4))
      let swizzle = 1 << Int(rng.next() % 4)
      for causal in [false, true] {
        var seen = Set<[Int]>()
        for t in 0..<(mBlocks * batchHeads) {
          let c = FlashAttention3Forward.coordinates(tile: t, mBlocks: mBlocks, heads: heads, batchHeads: batchHeads, swizzle: swizzle, causal: causal)
          seen.insert([c.m, c.h, c.b])
        }
        XCTAssertEqual(seen.count, mBlocks * batchHeads, "seed: \(seed), causal: \(causal), mBlocks: \(mBlocks), heads: \(heads), BH: \(batchHeads), swizzle: \(swizzle)")
        if causal {
          // Longest first: the first tiles take the last m-block of the first heads of a section.
          let first = FlashAttention3Forward.coordinates(tile: 0, mBlocks: mBlocks, heads: heads, batchHeads: batchHeads, swizzle: swizzle, causal: true)
          XCTAssertEqual([first.m, first.h, first.b], [mBlocks - 1, 0, 0], "seed: \(seed)")
          if batchHeads >= swizzle, swizzle > 1 {
            let second = FlashAttention3Forward.coordinates(tile: 1, mBlocks: mBlocks, heads: heads, batchHeads: batchHeads, swizzle: swizzle, causal: true)
            XCTAssertEqual([second.m, second.h + second.b * heads], [mBlocks - 1, 1], "seed: \(seed): heads run fastest within a section")
          }
        }
      }
    }
  }

  func testFlashAttention3TileTrafficEqualsTheClosedFormAndDRAMReadsEachInputOnce() throws {
    for seed in Self.seeds {
      var rng = SplitMix64(seed: seed)
      let sms = 2 * (1 + Int(rng.next() % 3))
      let batch = 1 + Int(rng.next() % 3)
      let heads = sms + Int(rng.next() % 3)  // B·H ≥ SMs: the launcher does not split the keys
      let n = 1 + Int(rng.next() % 900)
      let d = 16 * (1 + Int(rng.next() % 16))
      let causal = rng.next() % 2 == 0
      let device = Self.device(computeCapability: 90, sms: sms)
      let workload = try AttentionWorkload(batch: batch, heads: heads, sequenceLength: n, headDimension: d, causal: causal, pass: .forward)
      let (tiles, ctas) = try FlashAttention3Preset.launch(for: workload, on: device)
      let report = try GPUTrafficModel.run(preset: FlashAttention3Preset(), workload: workload, device: device)
      withTrace("seed: \(seed), B: \(batch), H: \(heads), N: \(n), d: \(d), causal: \(causal), SMs: \(sms), tile: \(tiles.blockM)×\(tiles.blockN), cluster: \(tiles.clusterM)") { context in
        let (bm, bn) = (tiles.blockM, tiles.blockN)
        let tm = (n + bm - 1) / bm
        let tn = (n + bn - 1) / bn
        func keyValueSectors(_ j: Int) -> Int { 2 * min(bn, n - j * bn) * d / 16 }
        var reads = n * d / 16  // each Q tile once
        for m in 0..<tm {
          let visited = causal ? min(tn, (((m + 1) * bm) + bn - 1) / bn) : tn
          // A 2-CTA cluster loads K and V once for its two query tiles.
          if m % tiles.clusterM == 0 { reads += (0..<visited).reduce(0) { $0 + keyValueSectors($1) } }
        }
        var lseWrites = 0
        for head in 0..<(batch * heads) {
          for m in 0..<tm { lseWrites += Self.sectors(start: (head * n + m * bm) * 4, bytes: 4 * min(bm, n - m * bm)) }
        }
        XCTAssertEqual(ctas, min(sms, tm * batch * heads), context.message("one persistent CTA per SM"))
        XCTAssertEqual(report.requestedReadSectors, batch * heads * reads, context.message("tile read sectors"))
        XCTAssertEqual(report.total.writeSectors, batch * heads * n * d / 16 + lseWrites, context.message("L2 write sectors: O and LSE once"))
        XCTAssertEqual(report.dramReadBytes, 3 * batch * heads * n * d * 2, context.message("DRAM reads: Q, K and V once"))
      }
    }
  }

  func testFlashAttention3RefusesOtherGPUsAndSplitKV() throws {
    let workload = try AttentionWorkload(batch: 1, heads: 1, sequenceLength: 8192, headDimension: 64, causal: false, pass: .forward)
    XCTAssertThrowsError(try GPUTrafficModel.run(preset: FlashAttention3Preset(), workload: workload, device: .a100_40GB))
    // One head of 43 query tiles on 132 SMs: the launcher splits the keys; not modelled.
    XCTAssertThrowsError(try GPUTrafficModel.run(preset: FlashAttention3Preset(), workload: workload, device: .h200)) { error in
      XCTAssertTrue("\(error)".contains("split"), "\(error)")
    }
  }

  // MARK: - Explicit attention before sm90

  func testExplicitAttentionOnAmpereRunsCuBLASTiledGEMMs() throws {
    for seed in Self.seeds.prefix(4) {
      var rng = SplitMix64(seed: seed)
      let batch = 1 + Int(rng.next() % 2)
      let heads = 1 + Int(rng.next() % 2)
      let n = 1 + Int(rng.next() % 400)
      let d = 16 * (1 + Int(rng.next() % 8))
      let device = Self.device(computeCapability: 80, sms: 1 + Int(rng.next() % 8))
      let workload = try AttentionWorkload(batch: batch, heads: heads, sequenceLength: n, headDimension: d, causal: false, pass: .forward)
      let report = try GPUTrafficModel.run(preset: ExplicitPyTorchPreset(), workload: workload, device: device)
      withTrace("seed: \(seed), B: \(batch), H: \(heads), N: \(n), d: \(d)") { context in
        XCTAssertEqual(
          report.kernels.map(\.name),
          ["ampere_fp16_s16816gemm 256x128 S = QKᵀ", "elementwise scale", "softmax_warp_forward", "ampere_fp16_s16816gemm 256x128 O = PV"],
          context.message("kernel sequence"))
        // S = QKᵀ: one CTA per 256-key × 128-query tile; each loads its K rows and Q rows once
        // over the d/32 chunks of k (rows of d·2 bytes, whole sectors).
        let keyTiles = (n + 255) / 256
        let queryTiles = (n + 127) / 128
        let scores = report.kernels[0]
        XCTAssertEqual(scores.blockCount, batch * heads * keyTiles * queryTiles, context.message("grid"))
        XCTAssertEqual(scores.requestedReadSectors, batch * heads * (queryTiles * n + keyTiles * n) * d / 16, context.message("S = QKᵀ tile reads"))
        XCTAssertEqual(scores.blocksPerSM, 1, context.message("one 256-thread CTA of 232 registers per SM"))
      }
    }
  }
}
