import AttentionAlgorithms
import AttentionSimulation
import GPUModel
import MemoryHierarchy
import XCTest

/// The launch model walks the work units of any registered kernel, knowing only `GPUKernel`.
final class WorkUnitKernelTests: XCTestCase {
  func testTheLaunchModelRunsEveryRegisteredKernelsUnits() throws {
    let problem = try AttentionProblem(sequenceLength: 24, headDimension: 16, dataType: .fp16, seed: 5)
    let spec = MachineSpec.teaching.withSRAMCapacity(1 << 16)
    let blocks = BlockSizes(queryBlockSize: 8, keyBlockSize: 8)
    for kernel in KernelRegistry.kernels {
      let (algorithm, pass) = (kernel.algorithm, kernel.pass)
      let trace = try Trace.record(algorithm, pass: pass, problem: problem, spec: spec, blocks: blocks, mode: .count, stepLimit: 100_000)
      let gpuKernel = WorkUnitKernel(trace)
      let traffic = try LaunchSimulator(device: .h100SXM).run(gpuKernel)
      let label = "\(algorithm.rawValue) \(pass.rawValue)"
      XCTAssertEqual(traffic.blockCount, trace.workUnits.count, label)
      // Every byte the trace reads is asked of the L2, in whole 32-byte sectors.
      XCTAssertGreaterThanOrEqual(traffic.requestedReadSectors * 32, trace.ledger.hbmReadBytes, label)
      // A cold L2 that holds everything fetches each sector of each tensor from DRAM at most once.
      let tensorBytes = trace.grids.reduce(0) { $0 + ($1.tensor.rows * $1.tensor.columns * $1.tensor.elementType.byteWidth + 31) / 32 * 32 }
      XCTAssertLessThanOrEqual(traffic.l2.dramReadSectors * 32, tensorBytes, label)
    }
  }

  /// FlashAttention-2's forward on 32-byte rows: the L2 is asked for exactly the bytes the trace
  /// loads, and DRAM gives Q, K and V once.
  func testFlashAttention2ForwardReadsQKVOnceThroughALargeL2() throws {
    let (n, d) = (40, 16)
    let problem = try AttentionProblem(sequenceLength: n, headDimension: d, dataType: .fp16)
    let trace = try Trace.record(
      .flash2, problem: problem, spec: .teaching.withSRAMCapacity(1 << 16), blocks: BlockSizes(queryBlockSize: 8, keyBlockSize: 8),
      mode: .count)
    let traffic = try LaunchSimulator(device: .h100SXM).run(WorkUnitKernel(trace))
    XCTAssertEqual(traffic.blockCount, n / 8)
    XCTAssertEqual(traffic.requestedReadSectors * 32, trace.ledger.hbmReadBytes)
    XCTAssertEqual(traffic.l2.dramReadSectors * 32, 3 * n * d * 2)
  }
}
