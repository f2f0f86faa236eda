/// What a global-memory access does at the L2.
public enum GlobalAccessKind: UInt8, Hashable, Sendable, Codable {
  case read, write, reduction
}

/// One load, store or reduction a CTA issues in one step: `rows` runs of `rowBytes` bytes,
/// `rowStride` bytes apart, starting at byte `address` of the GPU's global memory.
public struct GlobalAccess: Hashable, Sendable {
  public var address: Int
  public var rowBytes: Int
  public var rowStride: Int
  public var rows: Int
  public var kind: GlobalAccessKind

  public init(address: Int, rowBytes: Int, rowStride: Int, rows: Int, kind: GlobalAccessKind) {
    self.address = address
    self.rowBytes = rowBytes
    self.rowStride = rowStride
    self.rows = rows
    self.kind = kind
  }

  /// A contiguous range of `bytes` bytes.
  public static func contiguous(_ kind: GlobalAccessKind, at address: Int, bytes: Int) -> GlobalAccess {
    GlobalAccess(address: address, rowBytes: bytes, rowStride: bytes, rows: 1, kind: kind)
  }

  /// The bytes moved.
  public var bytes: Int { rowBytes * rows }
}

/// The work decomposition of one GPU kernel: a grid of independent CTAs (thread blocks) in CUDA
/// launch order, each a sequence of steps, each step a list of global accesses.
///
/// The launch model walks any kernel through this protocol without knowing which kernel it is.
/// Block indices are linear (`blockIdx.x` fastest, then y, then z), the order in which the
/// hardware hands CTAs to SMs.
public protocol GPUKernel: Sendable {
  /// The kernel's name as Nsight Compute shows it (shortened).
  var name: String { get }
  /// The number of CTAs in the grid.
  var blockCount: Int { get }
  /// Threads, registers and shared memory of one CTA: they decide CTAs per SM.
  var resources: CTAResources { get }
  /// Steps CTA `block` takes (its main loop's iterations; at least 1).
  func stepCount(ofBlock block: Int) -> Int
  /// Appends the accesses CTA `block` issues in `step`. `slot` is the resident slot the CTA
  /// runs in (0..<SMs × CTAs per SM), for per-slot scratch such as spilled registers.
  func accesses(ofBlock block: Int, step: Int, slot: Int, into accesses: inout [GlobalAccess])
}

/// A 3-D grid in CUDA's order.
public struct GridShape: Hashable, Sendable, Codable {
  public var x: Int
  public var y: Int
  public var z: Int

  public init(x: Int, y: Int = 1, z: Int = 1) {
    self.x = x
    self.y = y
    self.z = z
  }

  public var count: Int { x * y * z }

  /// (blockIdx.x, blockIdx.y, blockIdx.z) of a linear block index.
  @inline(__always) public func coordinates(of block: Int) -> (x: Int, y: Int, z: Int) {
    (block % x, (block / x) % y, block / (x * y))
  }
}

/// Global memory as a bump allocator: each buffer starts on a 2 MiB boundary, as the CUDA caching
/// allocator's large blocks do, so buffers never share L2 lines.
public struct GlobalMemory: Sendable {
  public private(set) var nextAddress = 1 << 21
  public init() {}

  public mutating func allocate(bytes: Int) -> Int {
    let address = nextAddress
    let granule = 1 << 21
    nextAddress += max(granule, (bytes + granule - 1) / granule * granule)
    return address
  }
}
