/// What to do with the L2 between two kernels: Nsight Compute flushes it before each kernel it
/// profiles (`--cache-control all`, its default), so each kernel starts cold; `keep` models an
/// application run without the profiler.
public enum L2BetweenKernels: String, CaseIterable, Sendable, Codable {
  case flush, keep
}

/// One tick of a launch, for lessons and traces: the CTAs that ran a step and the kernel's L2
/// counters so far.
public struct LaunchTick: Sendable {
  public var tick: Int
  /// Linear block indices of the CTAs that ran a step in this tick, by slot.
  public var blocks: [Int]
  public var counters: L2Counters
}

/// The traffic of one kernel launch.
public struct KernelTraffic: Hashable, Sendable, Codable {
  public var name: String
  public var blockCount: Int
  public var blocksPerSM: Int
  /// CTAs resident at once: SMs × CTAs per SM.
  public var concurrentBlocks: Int
  /// Steps of the lockstep schedule until the last CTA finished.
  public var steps: Int
  /// Read sectors the CTAs ask for (SM side, `l1tex__m_xbar2l1tex_read_sectors`): the tile traffic.
  public var requestedReadSectors: Int
  public var l2: L2Counters
}

/// Runs kernels as a grid of CTAs on a GPU and feeds their accesses to the L2 model.
///
/// Launch model: CTAs start in linear block order, each on the first free slot (slot s is on SM
/// s mod SMs, so consecutive CTAs spread over the SMs); CTAs per SM come from the kernel's
/// resources against the device's limits. All resident CTAs advance together, one step per tick;
/// a CTA that finishes frees its slot for the next CTA at the next tick. Within a tick, identical
/// requests from SMs of one partition reach the L2 as one lookup plus hits.
public struct LaunchSimulator {
  public let device: GPUDeviceSpec
  public let cache: L2Cache
  public var betweenKernels: L2BetweenKernels

  public init(device: GPUDeviceSpec, betweenKernels: L2BetweenKernels = .flush) {
    self.device = device
    self.cache = L2Cache(device.l2)
    self.betweenKernels = betweenKernels
  }

  fileprivate struct RequestKey: Hashable {
    var address: Int
    var rowBytes: Int
    var rowStride: Int
    var rows: Int
    var kind: GlobalAccessKind
    var partition: Int
  }

  /// Runs one kernel and returns its traffic. `progress` is called now and then with the share
  /// of CTAs started.
  public func run<Kernel: GPUKernel>(
    _ kernel: Kernel, progress: ((Double) -> Void)? = nil, observer: ((LaunchTick) -> Void)? = nil
  ) throws -> KernelTraffic {
    try device.validate()
    if betweenKernels == .flush { cache.clear() } else { cache.resetCounters() }
    let perSM = device.blocksPerSM(kernel.resources)
    guard perSM > 0 else {
      throw GPUModelError.kernelDoesNotFit(
        kernel: kernel.name, threads: kernel.resources.threads, registers: kernel.resources.registersPerThread,
        sharedMemory: kernel.resources.sharedMemoryBytes, device: device.name)
    }
    let slots = device.streamingMultiprocessors * perSM
    let partitions = max(1, device.l2.partitions)
    var slotBlock = [Int](repeating: -1, count: slots)
    var slotStep = [Int](repeating: 0, count: slots)
    var slotSteps = [Int](repeating: 0, count: slots)
    var nextBlock = 0
    var active = 0
    var ticks = 0
    var requested = 0
    var accesses: [GlobalAccess] = []
    var requests = RequestTable()
    var residentBlocks: [Int] = []
    let total = kernel.blockCount
    var reported = 0
    let sectorBytes = device.l2.sectorBytes
    repeat {
      for slot in 0..<slots where slotBlock[slot] < 0 && nextBlock < total {
        slotBlock[slot] = nextBlock
        slotStep[slot] = 0
        slotSteps[slot] = max(1, kernel.stepCount(ofBlock: nextBlock))
        nextBlock += 1
        active += 1
      }
      if let progress, nextBlock - reported >= max(1, total / 100) {
        reported = nextBlock
        progress(Double(nextBlock) / Double(max(1, total)))
      }
      guard active > 0 else { break }
      requests.startTick()
      if observer != nil { residentBlocks = slotBlock.filter { $0 >= 0 } }
      for slot in 0..<slots where slotBlock[slot] >= 0 {
        accesses.removeAll(keepingCapacity: true)
        kernel.accesses(ofBlock: slotBlock[slot], step: slotStep[slot], slot: slot, into: &accesses)
        let partition = (slot % device.streamingMultiprocessors) % partitions
        for access in accesses where access.rows > 0 && access.rowBytes > 0 {
          if access.kind == .read { requested += Self.sectors(of: access, sectorBytes: sectorBytes) }
          let key = RequestKey(
            address: access.address, rowBytes: access.rowBytes, rowStride: access.rowStride, rows: access.rows,
            kind: access.kind, partition: access.kind == .read ? partition : 0)
          requests.add(key)
        }
        slotStep[slot] += 1
        if slotStep[slot] == slotSteps[slot] {
          slotBlock[slot] = -1
          active -= 1
        }
      }
      for index in requests.order { apply(requests.keys[index], count: requests.counts[index]) }
      if let observer { observer(LaunchTick(tick: ticks, blocks: residentBlocks, counters: cache.counters)) }
      ticks += 1
    } while active > 0 || nextBlock < total
    return KernelTraffic(
      name: kernel.name, blockCount: total, blocksPerSM: perSM, concurrentBlocks: slots, steps: ticks,
      requestedReadSectors: requested, l2: cache.counters)
  }

  /// Sectors an access touches.
  static func sectors(of access: GlobalAccess, sectorBytes: Int) -> Int {
    var total = 0
    forEachRun(of: access) { start, end in
      total += (end - 1) / sectorBytes - start / sectorBytes + 1
    }
    return total
  }

  /// Calls `body` with each contiguous byte range [start, end) of an access.
  @inline(__always) static func forEachRun(of access: GlobalAccess, _ body: (Int, Int) -> Void) {
    if access.rowStride == access.rowBytes || access.rows == 1 {
      body(access.address, access.address + access.rowBytes * access.rows)
    } else {
      for row in 0..<access.rows {
        let start = access.address + row * access.rowStride
        body(start, start + access.rowBytes)
      }
    }
  }

  private func apply(_ key: RequestKey, count: Int) {
    let lineBytes = device.l2.lineBytes
    let sectorBytes = device.l2.sectorBytes
    let access = GlobalAccess(address: key.address, rowBytes: key.rowBytes, rowStride: key.rowStride, rows: key.rows, kind: key.kind)
    Self.forEachRun(of: access) { start, end in
      var line = start / lineBytes
      let lastLine = (end - 1) / lineBytes
      while line <= lastLine {
        let lineStart = line * lineBytes
        let firstSector = (max(start, lineStart) - lineStart) / sectorBytes
        let lastSector = (min(end, lineStart + lineBytes) - 1 - lineStart) / sectorBytes
        let mask = UInt8(truncatingIfNeeded: ((1 << (lastSector + 1)) - 1) & ~((1 << firstSector) - 1))
        switch key.kind {
        case .read: cache.read(line: UInt64(line), mask: mask, from: key.partition, count: count)
        case .write: cache.write(line: UInt64(line), mask: mask, count: count)
        case .reduction: cache.reduce(line: UInt64(line), mask: mask, count: count)
        }
        line += 1
      }
    }
  }

}

/// The requests of one tick with their multiplicities, in first-seen order: an open-addressing
/// table cleared by bumping a generation number, so a tick allocates nothing.
private struct RequestTable {
  var keys: [LaunchSimulator.RequestKey] = []
  var counts: [Int] = []
  var generations: [UInt32] = []
  var order: [Int] = []
  var generation: UInt32 = 0
  var mask = 0

  mutating func startTick() {
    order.removeAll(keepingCapacity: true)
    generation &+= 1
    if generation == 0 {
      for index in generations.indices { generations[index] = 0 }
      generation = 1
    }
  }

  @inline(__always) static func hash(_ key: LaunchSimulator.RequestKey) -> Int {
    let mixed = UInt64(truncatingIfNeeded: key.address) &* 0x9E37_79B9_7F4A_7C15
      ^ UInt64(truncatingIfNeeded: key.rows &* 31 &+ key.partition &* 7 &+ Int(key.kind.rawValue)) &* 0xBF58_476D_1CE4_E5B9
    return Int(truncatingIfNeeded: mixed ^ (mixed >> 29))
  }

  mutating func add(_ key: LaunchSimulator.RequestKey) {
    if (order.count + 1) * 2 > keys.count { grow() }
    var slot = Self.hash(key) & mask
    while generations[slot] == generation {
      if keys[slot] == key {
        counts[slot] += 1
        return
      }
      slot = (slot + 1) & mask
    }
    generations[slot] = generation
    keys[slot] = key
    counts[slot] = 1
    order.append(slot)
  }

  private mutating func grow() {
    let live = order.map { (keys[$0], counts[$0]) }
    let capacity = max(64, keys.count * 2)
    keys = Array(repeating: LaunchSimulator.RequestKey(address: 0, rowBytes: 0, rowStride: 0, rows: 0, kind: .read, partition: 0), count: capacity)
    counts = Array(repeating: 0, count: capacity)
    generations = Array(repeating: 0, count: capacity)
    mask = capacity - 1
    order.removeAll(keepingCapacity: true)
    for (key, count) in live {
      add(key)
      counts[order.last!] = count
    }
  }
}

/// Errors of the GPU model.
public enum GPUModelError: Error, Hashable, Sendable, CustomStringConvertible {
  case kernelDoesNotFit(kernel: String, threads: Int, registers: Int, sharedMemory: Int, device: String)
  case unsupported(String)
  case invalid(String)

  public var description: String {
    switch self {
    case let .kernelDoesNotFit(kernel, threads, registers, sharedMemory, device):
      return "\(kernel) does not fit one SM of \(device): \(threads) threads, \(registers) registers per thread, \(sharedMemory) bytes of shared memory per CTA"
    case let .unsupported(text), let .invalid(text):
      return text
    }
  }
}
