/// The L2 cache of a GPU: what sits between the SMs and DRAM.
///
/// Lines of `lineBytes` hold `lineBytes / sectorBytes` sectors; a miss fills only the sectors
/// asked for (sector-granular fills). With two partitions, each SM reaches one partition directly
/// (near) and the other through a fabric (far); every line has one home partition.
public struct L2CacheSpec: Hashable, Sendable, Codable {
  /// Total capacity as CUDA reports it (`cudaDevAttrL2CacheSize`), in bytes.
  public var capacityInBytes: Int
  /// Line size in bytes (128 on every NVIDIA GPU since Volta).
  public var lineBytes: Int
  /// Sector size in bytes: the unit of fills, write-backs and Nsight's `lts__t_sectors` counters.
  public var sectorBytes: Int
  /// Ways per set of the modelled cache. NVIDIA does not document the L2's associativity; this is
  /// the model's choice, with sets indexed by a hash of the line address.
  public var associativity: Int
  /// Partitions (1, or 2 for A100/H100/H200's two halves joined by a fabric).
  public var partitions: Int

  public init(capacityInBytes: Int, lineBytes: Int = 128, sectorBytes: Int = 32, associativity: Int = 16, partitions: Int) {
    self.capacityInBytes = capacityInBytes
    self.lineBytes = lineBytes
    self.sectorBytes = sectorBytes
    self.associativity = associativity
    self.partitions = partitions
  }

  /// Sectors per line (at most 8, so a line's sector masks fit a byte).
  public var sectorsPerLine: Int { lineBytes / sectorBytes }
}

/// A GPU as the launch and L2 models see it: SMs, the per-SM limits that decide how many CTAs
/// of a kernel run at once, and the L2.
public struct GPUDeviceSpec: Hashable, Sendable, Codable {
  public var name: String
  /// Compute capability times ten (80 for sm80, 90 for sm90): kernels pick tiles by it.
  public var computeCapability: Int
  public var streamingMultiprocessors: Int
  /// 32-bit registers per SM.
  public var registersPerSM: Int
  /// Shared memory per SM usable by CTAs, in bytes.
  public var sharedMemoryPerSMInBytes: Int
  /// Shared memory one CTA may opt in to, in bytes.
  public var sharedMemoryPerBlockInBytes: Int
  /// Shared memory the driver reserves for each resident CTA, in bytes.
  public var reservedSharedMemoryPerBlockInBytes: Int
  public var maxThreadsPerSM: Int
  public var maxBlocksPerSM: Int
  public var l2: L2CacheSpec
  /// DRAM bandwidth in bytes per second (for the time column only).
  public var dramBytesPerSecond: Double
  /// Where the numbers come from.
  public var source: String

  public init(
    name: String, computeCapability: Int, streamingMultiprocessors: Int, registersPerSM: Int = 65_536,
    sharedMemoryPerSMInBytes: Int, sharedMemoryPerBlockInBytes: Int, reservedSharedMemoryPerBlockInBytes: Int = 1024,
    maxThreadsPerSM: Int, maxBlocksPerSM: Int, l2: L2CacheSpec, dramBytesPerSecond: Double, source: String
  ) {
    self.name = name
    self.computeCapability = computeCapability
    self.streamingMultiprocessors = streamingMultiprocessors
    self.registersPerSM = registersPerSM
    self.sharedMemoryPerSMInBytes = sharedMemoryPerSMInBytes
    self.sharedMemoryPerBlockInBytes = sharedMemoryPerBlockInBytes
    self.reservedSharedMemoryPerBlockInBytes = reservedSharedMemoryPerBlockInBytes
    self.maxThreadsPerSM = maxThreadsPerSM
    self.maxBlocksPerSM = maxBlocksPerSM
    self.l2 = l2
    self.dramBytesPerSecond = dramBytesPerSecond
    self.source = source
  }

  /// Checks that the numbers describe a GPU the model can run: positive counts, lines of one to
  /// four whole sectors, at least one set per partition, and an L2 of at most 1 GiB (the model
  /// keeps 8 bytes per line).
  /// - Throws: `GPUModelError.invalid` naming the field.
  public func validate() throws {
    func check(_ condition: Bool, _ field: String, _ reason: String) throws {
      if !condition { throw GPUModelError.invalid("\(field) \(reason)") }
    }
    try check(!name.isEmpty, "name", "must not be empty")
    try check((30...200).contains(computeCapability), "computeCapability", "must be 30…200 (major × 10 + minor), got \(computeCapability)")
    try check((1...10_000).contains(streamingMultiprocessors), "streamingMultiprocessors", "must be 1…10,000, got \(streamingMultiprocessors)")
    try check((256...(1 << 24)).contains(registersPerSM), "registersPerSM", "must be 256…16,777,216, got \(registersPerSM)")
    try check((0...(1 << 30)).contains(sharedMemoryPerSMInBytes), "sharedMemoryPerSMBytes", "must be 0…2^30, got \(sharedMemoryPerSMInBytes)")
    try check((0...sharedMemoryPerSMInBytes).contains(sharedMemoryPerBlockInBytes), "sharedMemoryPerBlockBytes", "must be 0…sharedMemoryPerSMBytes, got \(sharedMemoryPerBlockInBytes)")
    try check((0...(1 << 20)).contains(reservedSharedMemoryPerBlockInBytes), "reservedSharedMemoryPerBlockBytes", "must be 0…2^20, got \(reservedSharedMemoryPerBlockInBytes)")
    try check((32...(1 << 16)).contains(maxThreadsPerSM), "maxThreadsPerSM", "must be 32…65,536, got \(maxThreadsPerSM)")
    try check((1...1024).contains(maxBlocksPerSM), "maxBlocksPerSM", "must be 1…1,024, got \(maxBlocksPerSM)")
    try check(dramBytesPerSecond.isFinite && dramBytesPerSecond > 0, "dramBytesPerSecond", "must be a positive number")
    try check((1...4096).contains(l2.sectorBytes), "l2.sectorBytes", "must be 1…4,096, got \(l2.sectorBytes)")
    try check(
      l2.lineBytes >= l2.sectorBytes && l2.lineBytes % l2.sectorBytes == 0 && (1...4).contains(l2.lineBytes / l2.sectorBytes),
      "l2.lineBytes", "must be one to four whole sectors of l2.sectorBytes, got \(l2.lineBytes)")
    try check((1...64).contains(l2.associativity), "l2.associativity", "must be 1…64, got \(l2.associativity)")
    try check((1...8).contains(l2.partitions), "l2.partitions", "must be 1…8, got \(l2.partitions)")
    try check(
      l2.capacityInBytes <= 1 << 30 && l2.capacityInBytes >= l2.lineBytes * l2.associativity * l2.partitions,
      "l2.capacityBytes", "must hold at least one set per partition (lineBytes × associativity × partitions) and at most 2^30 bytes, got \(l2.capacityInBytes)")
  }

  /// How many CTAs of a kernel fit on one SM at once: the least of the register, shared-memory,
  /// thread and block limits (the CUDA occupancy calculator's rules: registers are allocated per
  /// warp in units of 256, shared memory per CTA adds the driver's reservation).
  public func blocksPerSM(_ resources: CTAResources) -> Int {
    let warps = (resources.threads + 31) / 32
    let registersPerWarp = ((resources.registersPerThread * 32 + 255) / 256) * 256
    let byRegisters = registersPerWarp == 0 ? maxBlocksPerSM : (registersPerSM / registersPerWarp) / max(1, warps)
    let sharedPerBlock = resources.sharedMemoryBytes + reservedSharedMemoryPerBlockInBytes
    let byShared = sharedPerBlock == 0 ? maxBlocksPerSM : sharedMemoryPerSMInBytes / sharedPerBlock
    let byThreads = maxThreadsPerSM / max(1, warps * 32)
    return max(0, min(byRegisters, byShared, byThreads, maxBlocksPerSM))
  }
}

/// What one CTA of a kernel holds while it runs.
public struct CTAResources: Hashable, Sendable, Codable {
  public var threads: Int
  public var registersPerThread: Int
  /// Dynamic plus static shared memory, in bytes.
  public var sharedMemoryBytes: Int

  public init(threads: Int, registersPerThread: Int, sharedMemoryBytes: Int) {
    self.threads = threads
    self.registersPerThread = registersPerThread
    self.sharedMemoryBytes = sharedMemoryBytes
  }
}

extension GPUDeviceSpec {
  private static let kibibyte = 1024
  private static let mebibyte = 1024 * 1024

  /// NVIDIA A100 SXM4 40 GB.
  public static let a100_40GB = GPUDeviceSpec(
    name: "a100-40gb", computeCapability: 80, streamingMultiprocessors: 108,
    sharedMemoryPerSMInBytes: 164 * kibibyte, sharedMemoryPerBlockInBytes: 163 * kibibyte,
    maxThreadsPerSM: 2048, maxBlocksPerSM: 32,
    l2: L2CacheSpec(capacityInBytes: 40 * mebibyte, partitions: 2), dramBytesPerSecond: 1.555e12,
    source: "NVIDIA A100 whitepaper (2020) Table 3 (108 SMs, 40 MB L2 in two partitions, 164 KB shared memory per SM); CUDA C Programming Guide, compute capability 8.0 table")
  /// NVIDIA A100 SXM4 80 GB: the same die as the 40 GB part.
  public static let a100_80GB: GPUDeviceSpec = {
    var spec = a100_40GB
    spec.name = "a100-80gb"
    spec.dramBytesPerSecond = 2.039e12
    spec.source = "NVIDIA A100 80GB datasheet (2021); SM and L2 as a100-40gb"
    return spec
  }()
  /// NVIDIA H100 SXM5 80 GB.
  public static let h100SXM = GPUDeviceSpec(
    name: "h100-sxm", computeCapability: 90, streamingMultiprocessors: 132,
    sharedMemoryPerSMInBytes: 228 * kibibyte, sharedMemoryPerBlockInBytes: 227 * kibibyte,
    maxThreadsPerSM: 2048, maxBlocksPerSM: 32,
    l2: L2CacheSpec(capacityInBytes: 50 * mebibyte, partitions: 2), dramBytesPerSecond: 3.35e12,
    source: "NVIDIA H100 whitepaper (2022): 132 SMs, 50 MB L2, 228 KB shared memory per SM; FlashAttention-3 Table 1; CUDA C Programming Guide, compute capability 9.0 table")
  /// NVIDIA H200 SXM 141 GB.
  public static let h200 = GPUDeviceSpec(
    name: "h200", computeCapability: 90, streamingMultiprocessors: 132,
    sharedMemoryPerSMInBytes: 228 * kibibyte, sharedMemoryPerBlockInBytes: 227 * kibibyte,
    maxThreadsPerSM: 2048, maxBlocksPerSM: 32,
    l2: L2CacheSpec(capacityInBytes: 60 * mebibyte, partitions: 2), dramBytesPerSecond: 4.8e12,
    source: "cudaGetDeviceProperties on an H200 (132 SMs, L2 62,914,560 B, 233,472 B shared memory per SM, 232,448 B per block, 1,024 B reserved per block); H200 datasheet (4.8 TB/s)")
  /// NVIDIA GeForce RTX 3090.
  public static let rtx3090 = GPUDeviceSpec(
    name: "rtx3090", computeCapability: 86, streamingMultiprocessors: 82,
    sharedMemoryPerSMInBytes: 100 * kibibyte, sharedMemoryPerBlockInBytes: 99 * kibibyte,
    maxThreadsPerSM: 1536, maxBlocksPerSM: 16,
    l2: L2CacheSpec(capacityInBytes: 6 * mebibyte, partitions: 1), dramBytesPerSecond: 936e9,
    source: "NVIDIA Ampere GA102 whitepaper (2020): 82 SMs, 6 MB L2, 936 GB/s; CUDA C Programming Guide, compute capability 8.6 table")
  /// NVIDIA T4.
  public static let t4 = GPUDeviceSpec(
    name: "t4", computeCapability: 75, streamingMultiprocessors: 40,
    sharedMemoryPerSMInBytes: 64 * kibibyte, sharedMemoryPerBlockInBytes: 64 * kibibyte, reservedSharedMemoryPerBlockInBytes: 0,
    maxThreadsPerSM: 1024, maxBlocksPerSM: 16,
    l2: L2CacheSpec(capacityInBytes: 4 * mebibyte, partitions: 1), dramBytesPerSecond: 320e9,
    source: "NVIDIA Turing TU104 whitepaper (2018) and T4 datasheet: 40 SMs, 4 MB L2, 320 GB/s; CUDA C Programming Guide, compute capability 7.5 table")
  /// A toy GPU for lessons: 4 SMs and an L2 of 4 KiB (32 lines, 4-way), small enough that a
  /// trace shows individual hits and misses.
  public static let teaching = GPUDeviceSpec(
    name: "teaching", computeCapability: 80, streamingMultiprocessors: 4,
    sharedMemoryPerSMInBytes: 164 * kibibyte, sharedMemoryPerBlockInBytes: 163 * kibibyte,
    maxThreadsPerSM: 2048, maxBlocksPerSM: 32,
    l2: L2CacheSpec(capacityInBytes: 4 * kibibyte, associativity: 4, partitions: 1), dramBytesPerSecond: 1e12,
    source: "invented for teaching: an sm80-like SM with a tiny L2")

  public static let presets: [GPUDeviceSpec] = [a100_40GB, a100_80GB, h100SXM, h200, rtx3090, t4, teaching]

  public static func preset(named name: String) -> GPUDeviceSpec? {
    presets.first { $0.name == name }
  }
}
