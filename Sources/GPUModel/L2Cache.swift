/// Traffic counted at the L2 and at DRAM for one kernel, in 32-byte sectors (the unit of
/// Nsight Compute's `lts__t_sectors_*` and of sector-granular DRAM fills).
public struct L2Counters: Hashable, Sendable, Codable {
  /// Read sectors that reach the L2's tag stage from the SMs (`lts__t_sectors_srcunit_tex_op_read`).
  public var readSectors = 0
  /// Of those, sectors found in the near partition.
  public var readHitSectors = 0
  /// Write sectors from the SMs (`lts__t_sectors_srcunit_tex_op_write`).
  public var writeSectors = 0
  /// Reduction (atomic add) sectors from the SMs (`lts__t_sectors_srcunit_tex_op_red`).
  public var reductionSectors = 0
  /// Near-partition misses looked up again in the far (home) partition
  /// (`lts__t_sectors_srcunit_ltcfabric_op_read`).
  public var fabricReadSectors = 0
  /// Sectors filled from DRAM.
  public var dramReadSectors = 0
  /// Dirty sectors written back to DRAM while the kernel ran.
  public var dramWriteSectors = 0

  public init() {}

  public static func + (a: L2Counters, b: L2Counters) -> L2Counters {
    var sum = a
    sum.readSectors += b.readSectors
    sum.readHitSectors += b.readHitSectors
    sum.writeSectors += b.writeSectors
    sum.reductionSectors += b.reductionSectors
    sum.fabricReadSectors += b.fabricReadSectors
    sum.dramReadSectors += b.dramReadSectors
    sum.dramWriteSectors += b.dramWriteSectors
    return sum
  }
}

/// A sector-granular, write-back L2 with one or two partitions.
///
/// Replacement: least recently used within a set of `associativity` lines; consecutive lines go to
/// consecutive sets. Fills bring in only the sectors asked for; writes allocate without a fill
/// (whole sectors are written) and mark sectors dirty; a dirty sector is written to DRAM when its
/// line is evicted. Reductions are performed at the line's home and need the sector present.
///
/// Two partitions: every line has a home partition (a hash of its address). A read from an SM is
/// looked up in the SM's own (near) partition; sectors missing there are looked up in the home
/// partition (a fabric read), filled from DRAM if missing there too, and then kept as a clean copy
/// in the near partition as well. So data that SMs of both halves read occupies both halves.
public final class L2Cache {
  public let spec: L2CacheSpec
  /// The counters since the last `clear` or `resetCounters`.
  public var counters: L2Counters { state.pointee }
  private let partitions: Int
  private let sets: Int
  private let ways: Int
  private let slotCount: Int
  /// One 8-byte word per way: the line address + 1 in the low 56 bits (0 marks an empty way),
  /// valid sectors in bits 56–59 and dirty sectors in bits 60–63. The ways of a set sit side by
  /// side in recency order, most recent first, so LRU needs no timestamps and a lookup scans one
  /// or two CPU cache lines.
  private let table: UnsafeMutablePointer<UInt64>
  private static let tagMask: UInt64 = (1 << 56) - 1
  /// Counters live behind a pointer: the hot path updates them for every sector, and a class's
  /// stored properties would pay a dynamic exclusivity check each time.
  private let state: UnsafeMutablePointer<L2Counters>

  public init(_ spec: L2CacheSpec) {
    self.spec = spec
    partitions = min(8, max(1, spec.partitions))
    ways = min(64, max(1, spec.associativity))
    // Sized from the clamped spec, so an invalid one (which `GPUDeviceSpec.validate` rejects before
    // any run) cannot ask for an absurd table.
    sets = max(1, min(spec.capacityInBytes, 1 << 30) / max(1, spec.lineBytes) / partitions / ways)
    slotCount = partitions * sets * ways
    table = .allocate(capacity: slotCount)
    state = .allocate(capacity: 1)
    state.initialize(to: L2Counters())
    clear()
  }

  deinit {
    table.deallocate()
    state.deallocate()
  }

  /// Empties the cache without counting write-backs (Nsight's cache flush between kernels) and
  /// resets the counters.
  public func clear() {
    table.initialize(repeating: 0, count: slotCount)
    state.pointee = L2Counters()
  }

  /// Resets the counters and keeps the contents (the next kernel starts warm).
  public func resetCounters() { state.pointee = L2Counters() }

  /// Dirty sectors now in the cache.
  public var dirtySectors: Int {
    var total = 0
    for index in 0..<slotCount { total += Int(truncatingIfNeeded: table[index] >> 60).nonzeroBitCount }
    return total
  }

  @inline(__always) static func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// The home partition of a line.
  @inline(__always) public func home(ofLine line: UInt64) -> Int {
    partitions == 1 ? 0 : Int(truncatingIfNeeded: (Self.mix(line) >> 20) & 0xFFF) % partitions
  }

  /// Finds `line` in `partition`, or allocates it (evicting the least recently used line and
  /// writing back its dirty sectors), moves it to the most recent position, and returns a
  /// pointer to its word.
  @inline(__always) private func find(_ line: UInt64, in partition: Int) -> UnsafeMutablePointer<UInt64> {
    // Consecutive lines fall in consecutive sets, as in a hardware cache indexed by address
    // bits (the set count is not a power of two, so large power-of-two strides still spread).
    let set = Int(truncatingIfNeeded: line % UInt64(sets))
    let base = table + (partition * sets + set) * ways
    let tag = line &+ 1
    var index = 0
    while index < ways {
      let word = base[index]
      if word & Self.tagMask == tag || word == 0 { break }
      index += 1
    }
    var word: UInt64
    if index == ways {
      index = ways - 1
      state.pointee.dramWriteSectors += Int(truncatingIfNeeded: base[index] >> 60).nonzeroBitCount
      word = tag
    } else if base[index] == 0 {
      word = tag
    } else {
      word = base[index]
    }
    // Move to the front: the ways before it shift back by one.
    while index > 0 {
      base[index] = base[index - 1]
      index -= 1
    }
    base[0] = word
    return base
  }

  @inline(__always) private static func valid(_ word: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: (word >> 56) & 0xF) }

  /// `count` identical read requests for the sectors `mask` of `line` from an SM of `partition`;
  /// all but the first are hits.
  public func read(line: UInt64, mask: UInt8, from partition: Int, count: Int = 1) {
    let sectors = mask.nonzeroBitCount
    state.pointee.readSectors += sectors * count
    state.pointee.readHitSectors += sectors * (count - 1)
    let homePartition = home(ofLine: line)
    let near = partitions == 1 ? homePartition : partition % partitions
    let nearWay = find(line, in: near)
    let missingNear = mask & ~Self.valid(nearWay.pointee)
    state.pointee.readHitSectors += sectors - missingNear.nonzeroBitCount
    guard missingNear != 0 else { return }
    nearWay.pointee |= UInt64(missingNear) << 56
    if near == homePartition {
      state.pointee.dramReadSectors += missingNear.nonzeroBitCount
      return
    }
    state.pointee.fabricReadSectors += missingNear.nonzeroBitCount
    let homeWay = find(line, in: homePartition)
    let missingHome = missingNear & ~Self.valid(homeWay.pointee)
    state.pointee.dramReadSectors += missingHome.nonzeroBitCount
    homeWay.pointee |= UInt64(missingHome) << 56
  }

  /// `count` write requests for the whole sectors `mask` of `line`, performed at its home.
  public func write(line: UInt64, mask: UInt8, count: Int = 1) {
    state.pointee.writeSectors += mask.nonzeroBitCount * count
    let way = find(line, in: home(ofLine: line))
    way.pointee |= UInt64(mask) << 56 | UInt64(mask) << 60
  }

  /// `count` reductions (atomic adds) on the sectors `mask` of `line`, performed at its home:
  /// a sector not present is first read from DRAM.
  public func reduce(line: UInt64, mask: UInt8, count: Int = 1) {
    state.pointee.reductionSectors += mask.nonzeroBitCount * count
    let way = find(line, in: home(ofLine: line))
    let missing = mask & ~Self.valid(way.pointee)
    state.pointee.dramReadSectors += missing.nonzeroBitCount
    way.pointee |= UInt64(mask) << 56 | UInt64(mask) << 60
  }
}
