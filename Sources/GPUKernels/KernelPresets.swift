import Dispatch
import Foundation
import GPUModel

/// A real attention implementation: the sequence of kernels it launches for a workload on a GPU.
/// Adding one is a new type and one line in `KernelPreset.all`.
public protocol AttentionKernelPreset: Sendable {
  /// The name `--kernel` takes.
  var name: String { get }
  /// One line for `--help` and the Docs tables.
  var summary: String { get }
  /// The kernels launched, in launch order, with the buffers they share.
  func kernels(for workload: AttentionWorkload, on device: GPUDeviceSpec) throws -> [any GPUKernel]
}

/// FlashAttention-2 as PyTorch's SDPA FLASH_ATTENTION backend launches it.
public struct FlashAttention2Preset: AttentionKernelPreset {
  public let name = "fa2"
  public let summary = "FlashAttention-2 as PyTorch SDPA launches it: flash_fwd_kernel; backward adds two .contiguous() copies, dot(dO, O), the seqk-parallel main kernel with fp32 dQ atomics, and convert dQ"
  public init() {}
  public func kernels(for workload: AttentionWorkload, on device: GPUDeviceSpec) throws -> [any GPUKernel] {
    try FlashAttention2Launch.kernels(workload, device: device)
  }
}

/// Attention written out in PyTorch with cuBLAS GEMMs.
public struct ExplicitPyTorchPreset: AttentionKernelPreset {
  public let name = "pytorch-explicit"
  public let summary = "matmul, scale, (mask,) softmax, matmul as separate PyTorch kernels with cuBLASLt's persistent Hopper GEMM tiles, and autograd's backward"
  public init() {}
  public func kernels(for workload: AttentionWorkload, on device: GPUDeviceSpec) throws -> [any GPUKernel] {
    try device.computeCapability < 90 ? ExplicitAttentionLaunch.ampereKernels(workload, device: device) : ExplicitAttentionLaunch.kernels(workload, device: device)
  }
}

public enum KernelPreset {
  /// Every real-kernel preset. (`paper`, the default of `simulate --kernel`, is the two-level
  /// model of the FlashAttention paper and is not a GPU preset.)
  public static let all: [any AttentionKernelPreset] = [FlashAttention2Preset(), ExplicitPyTorchPreset(), FlashAttention1Preset(), FlashAttention3Preset()]

  public static func named(_ name: String) -> (any AttentionKernelPreset)? {
    all.first { $0.name == name }
  }
}

/// The modelled traffic of one workload on one GPU: every kernel, and the totals.
public struct GPUTrafficReport: Sendable, Codable {
  public var preset: String
  public var device: GPUDeviceSpec
  public var workload: AttentionWorkload
  public var betweenKernels: L2BetweenKernels
  public var kernels: [KernelTraffic]

  public var total: L2Counters { kernels.reduce(L2Counters()) { $0 + $1.l2 } }
  public var requestedReadSectors: Int { kernels.reduce(0) { $0 + $1.requestedReadSectors } }
  public var sectorBytes: Int { device.l2.sectorBytes }
  public var dramReadBytes: Int { total.dramReadSectors * sectorBytes }
  public var dramWriteBytes: Int { total.dramWriteSectors * sectorBytes }
  /// Share of read sectors found in the L2 (near partition), 0 when nothing was read.
  public var hitRate: Double {
    let t = total
    return t.readSectors == 0 ? 0 : Double(t.readHitSectors) / Double(t.readSectors)
  }
}

public enum GPUTrafficModel {
  /// Runs every kernel of `preset` for `workload` on `device` through the launch and L2 models.
  /// `progress` gets (kernel index, kernel count, share of the kernel's CTAs started).
  public static func run(
    preset: any AttentionKernelPreset, workload: AttentionWorkload, device: GPUDeviceSpec,
    betweenKernels: L2BetweenKernels = .flush, threads: Int = 1, progress: ((Int, Int, Double) -> Void)? = nil
  ) throws -> GPUTrafficReport {
    guard workload.elementBytes == 2 else {
      throw GPUModelError.unsupported("the GPU kernel presets model fp16/bf16 inputs (2-byte elements)")
    }
    guard device.l2.sectorsPerLine >= 1, device.l2.sectorsPerLine <= 4, device.l2.lineBytes % device.l2.sectorBytes == 0 else {
      throw GPUModelError.unsupported("the L2 model takes lines of one to four sectors, got \(device.l2.lineBytes)-byte lines of \(device.l2.sectorBytes)-byte sectors")
    }
    let kernels = try preset.kernels(for: workload, on: device)
    var traffic = [KernelTraffic?](repeating: nil, count: kernels.count)
    if betweenKernels == .keep || threads <= 1 || kernels.count == 1 {
      let simulator = LaunchSimulator(device: device, betweenKernels: betweenKernels)
      for (index, kernel) in kernels.enumerated() {
        traffic[index] = try simulator.run(kernel) { share in progress?(index, kernels.count, share) }
      }
    } else {
      // Each kernel starts with a flushed L2, so kernels are independent: run them side by side,
      // each on its own simulated L2. The results do not depend on the thread count.
      let shared = SharedRun(count: kernels.count, progress: progress)
      DispatchQueue.concurrentPerform(iterations: min(threads, kernels.count)) { _ in
        let simulator = LaunchSimulator(device: device, betweenKernels: .flush)
        while let index = shared.take() {
          do {
            let result = try simulator.run(kernels[index]) { share in shared.report(index, share) }
            shared.store(index, result)
          } catch {
            shared.fail(error)
          }
        }
      }
      if let failure = shared.failure { throw failure }
      traffic = shared.traffic
    }
    return GPUTrafficReport(preset: preset.name, device: device, workload: workload, betweenKernels: betweenKernels, kernels: traffic.map { $0! })
  }
}

/// The state kernels share when they run side by side, behind one lock.
private final class SharedRun: @unchecked Sendable {
  private let lock = NSLock()
  private let count: Int
  private let progress: ((Int, Int, Double) -> Void)?
  private var next = 0
  private(set) var traffic: [KernelTraffic?]
  private(set) var failure: Error?

  init(count: Int, progress: ((Int, Int, Double) -> Void)?) {
    self.count = count
    self.progress = progress
    traffic = Array(repeating: nil, count: count)
  }

  /// The next kernel to run, or nil when all are taken or one failed.
  func take() -> Int? {
    lock.lock()
    defer { lock.unlock() }
    guard next < count, failure == nil else { return nil }
    next += 1
    return next - 1
  }

  func report(_ index: Int, _ share: Double) {
    lock.lock()
    defer { lock.unlock() }
    progress?(index, count, share)
  }

  func store(_ index: Int, _ result: KernelTraffic) {
    lock.lock()
    defer { lock.unlock() }
    traffic[index] = result
  }

  func fail(_ error: Error) {
    lock.lock()
    defer { lock.unlock() }
    failure = error
  }
}
