import GPUKernels
import GPUModel
import XCTest
import _TestSupport

/// The launch model and the FlashAttention-2 preset's work decomposition against closed forms.
final class LaunchModelTests: XCTestCase {
  func testBlocksPerSMFollowTheOccupancyRules() {
    let h200 = GPUDeviceSpec.h200
    // FA2 forward: 128 threads × 255 registers → 2 CTAs by registers.
    XCTAssertEqual(h200.blocksPerSM(CTAResources(threads: 128, registersPerThread: 255, sharedMemoryBytes: 49_152)), 2)
    // FA2 backward main kernel: 8 warps × 255 registers, 147,456 B shared memory → 1.
    XCTAssertEqual(h200.blocksPerSM(CTAResources(threads: 256, registersPerThread: 255, sharedMemoryBytes: 147_456)), 1)
    // An elementwise kernel: 4 warps × 18 registers → 16 by the 64-warp limit.
    XCTAssertEqual(h200.blocksPerSM(CTAResources(threads: 128, registersPerThread: 18, sharedMemoryBytes: 0)), 16)
    // Shared memory: 100,000 B + 1,024 B reserved → 2 on a 233,472 B SM.
    XCTAssertEqual(h200.blocksPerSM(CTAResources(threads: 64, registersPerThread: 32, sharedMemoryBytes: 100_000)), 2)
    XCTAssertEqual(h200.blocksPerSM(CTAResources(threads: 64, registersPerThread: 32, sharedMemoryBytes: 300_000)), 0)
  }

  /// Sectors of [start, start + bytes).
  func sectors(_ start: Int, _ bytes: Int) -> Int { bytes == 0 ? 0 : (start + bytes - 1) / 32 - start / 32 + 1 }

  /// An L2 large enough that nothing is ever evicted, on an SM-rich device.
  var roomyDevice: GPUDeviceSpec {
    var device = GPUDeviceSpec.h200
    device.l2 = L2CacheSpec(capacityInBytes: 3 << 25, partitions: 2)
    return device
  }

  /// Tile traffic (what the CTAs ask for) of FA2's forward equals the closed form per CTA:
  /// rows_m·d·2 bytes of Q plus Σ over visited blocks j of 2·rows_j·d·2 bytes of K and V; writes
  /// are rows_m·d·2 of O and rows_m·4 of LSE. With an L2 that holds everything, DRAM reads are
  /// Q, K and V once.
  func testFlashAttention2ForwardTileTrafficMatchesItsClosedForm() throws {
    var random = SplitMix64(seed: 15)
    for _ in 0..<6 {
      let n = 1 + Int(random.next() % 700)
      let d = [32, 64, 96, 128][Int(random.next() % 4)]
      let heads = 1 + Int(random.next() % 3)
      let batch = 1 + Int(random.next() % 2)
      let causal = random.next() % 2 == 0
      try withTrace("seed 15, B=\(batch) H=\(heads) N=\(n) d=\(d) causal=\(causal)") { context in
        let workload = try AttentionWorkload(batch: batch, heads: heads, sequenceLength: n, headDimension: d, causal: causal, pass: .forward)
        let device = roomyDevice
        let tiles = try FlashAttention2Tiles.choose(headDimension: d, computeCapability: 90, causal: causal)
        let report = try GPUTrafficModel.run(preset: FlashAttention2Preset(), workload: workload, device: device)
        let (bm, bn) = (tiles.forwardBlockM, tiles.forwardBlockN)
        let rowBytes = d * 2
        var reads = 0
        var writes = 0
        let lseBase = 0  // LSE starts on a 2 MiB boundary, so sector counts do not depend on the base
        for head in 0..<(batch * heads) {
          for m in 0..<((n + bm - 1) / bm) {
            let rows = min(bm, n - m * bm)
            reads += rows * rowBytes / 32
            let all = (n + bn - 1) / bn
            let visited = causal ? min(all, ((m + 1) * bm + bn - 1) / bn) : all
            for j in 0..<visited { reads += 2 * min(bn, n - j * bn) * rowBytes / 32 }
            writes += rows * rowBytes / 32 + sectors(lseBase + (head * n + m * bm) * 4, rows * 4)
          }
        }
        let kernel = report.kernels[0]
        XCTAssertEqual(kernel.requestedReadSectors, reads, context.message("tile reads"))
        XCTAssertEqual(kernel.l2.readSectors, reads, context.message("every request reaches the L2 tag stage"))
        XCTAssertEqual(kernel.l2.writeSectors, writes, context.message("O and LSE writes"))
        XCTAssertEqual(report.dramReadBytes, 3 * batch * heads * n * rowBytes, context.message("compulsory reads"))
        XCTAssertEqual(report.dramWriteBytes, 0, context.message("nothing is evicted before the kernel ends"))
      }
    }
  }

  /// The backward's main kernel: each CTA reads K_j and V_j once, and for every visited query
  /// block Q_i, dO_i, LSE_i and D_i; it adds rows_i·d fp32 to the dQ accumulator per visit.
  func testFlashAttention2BackwardMainKernelMatchesItsClosedForm() throws {
    var random = SplitMix64(seed: 41)
    for _ in 0..<4 {
      let n = 1 + Int(random.next() % 600)
      let d = [64, 128][Int(random.next() % 2)]
      let causal = random.next() % 2 == 0
      let heads = 1 + Int(random.next() % 2)
      try withTrace("seed 41, H=\(heads) N=\(n) d=\(d) causal=\(causal)") { context in
        let workload = try AttentionWorkload(batch: 1, heads: heads, sequenceLength: n, headDimension: d, causal: causal, pass: .forwardBackward)
        let report = try GPUTrafficModel.run(preset: FlashAttention2Preset(), workload: workload, device: roomyDevice)
        XCTAssertEqual(report.kernels.count, heads > 1 ? 6 : 4, context.message("kernel sequence"))
        let tiles = try FlashAttention2Tiles.choose(headDimension: d, computeCapability: 90, causal: causal)
        let (bm, bn) = (tiles.backwardBlockM!, tiles.backwardBlockN!)
        let rowBytes = d * 2
        let roundedRows = (n + 127) / 128 * 128
        var reads = 0
        var reductions = 0
        for head in 0..<heads {
          for j in 0..<((n + bn - 1) / bn) {
            reads += 2 * min(bn, n - j * bn) * rowBytes / 32
            let end = (n + bm - 1) / bm
            let first = causal ? min(end, j * bn / bm) : 0
            for i in first..<end {
              let rows = min(bm, n - i * bm)
              reads += 2 * rows * rowBytes / 32
              reads += sectors((head * n + i * bm) * 4, rows * 4) + sectors((head * roundedRows + i * bm) * 4, rows * 4)
              reductions += rows * d * 4 / 32
            }
          }
        }
        let main = report.kernels.first { $0.name.hasPrefix("flash_bwd_dq_dk_dv") }!
        XCTAssertEqual(main.requestedReadSectors, reads, context.message("main kernel reads"))
        XCTAssertEqual(main.l2.reductionSectors, reductions, context.message("dQ atomics"))
        XCTAssertEqual(main.blocksPerSM, 1)
      }
    }
  }

  /// The launch model is independent of which kernel it runs: a kernel made here, with one CTA
  /// reading the same line every step, costs one DRAM fill and hits afterwards.
  func testLaunchModelWalksAnyKernel() throws {
    struct RepeatedRead: GPUKernel {
      let name = "repeated read"
      let blockCount = 3
      let resources = CTAResources(threads: 32, registersPerThread: 32, sharedMemoryBytes: 0)
      func stepCount(ofBlock block: Int) -> Int { block + 1 }
      func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess]) {
        accesses.append(.contiguous(.read, at: 1 << 21, bytes: 128))
      }
    }
    let simulator = LaunchSimulator(device: .teaching)
    let traffic = try simulator.run(RepeatedRead())
    XCTAssertEqual(traffic.steps, 3)
    XCTAssertEqual(traffic.requestedReadSectors, 4 * (1 + 2 + 3))
    XCTAssertEqual(traffic.l2.dramReadSectors, 4)
  }
}
