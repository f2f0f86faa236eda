/// A binary buddy allocator over `capacity` token slots, as the Orca baselines use (vLLM §6.1).
///
/// The space is cut into maximal aligned power-of-two regions (15,728 = 8192 + 4096 + 2048 + 1024 +
/// 256 + 64 + 32 + 16); a request for n slots takes a free block of 2^⌈log₂ n⌉ slots, splitting a
/// larger one if needed, and a freed block merges with its buddy when both are free. The slack
/// 2^⌈log₂ n⌉ − n and free space too fragmented for the next request are both lost to it.
public struct BuddyAllocator: Sendable {
  public let capacity: Int
  /// Free block offsets by order (block size 2^order).
  private var free: [Set<Int>]
  /// Order of each allocated block, by offset.
  private var allocated: [Int: Int] = [:]
  /// Slots in allocated blocks.
  public private(set) var allocatedSlots = 0

  public init(capacity: Int) {
    precondition(capacity > 0, "BuddyAllocator: capacity must be positive")
    self.capacity = capacity
    let top = Int.bitWidth - capacity.leadingZeroBitCount
    free = Array(repeating: [], count: top + 1)
    var offset = 0
    for order in stride(from: top, through: 0, by: -1) where capacity - offset >= 1 << order {
      free[order].insert(offset)
      offset += 1 << order
    }
  }

  /// The order of the block that serves n slots: ⌈log₂ n⌉.
  public static func order(for slots: Int) -> Int {
    slots <= 1 ? 0 : Int.bitWidth - (slots - 1).leadingZeroBitCount
  }

  /// Allocates a block of at least `slots` slots; returns its offset, or nil if no block fits.
  public mutating func allocate(_ slots: Int) -> Int? {
    let order = Self.order(for: slots)
    guard order < free.count, let from = (order..<free.count).first(where: { !free[$0].isEmpty }) else { return nil }
    let offset = free[from].min()!
    free[from].remove(offset)
    var current = from
    while current > order {
      current -= 1
      free[current].insert(offset + (1 << current))
    }
    allocated[offset] = order
    allocatedSlots += 1 << order
    return offset
  }

  /// Frees the block at `offset`, merging buddies.
  public mutating func release(_ offset: Int) {
    guard var order = allocated.removeValue(forKey: offset) else { return }
    allocatedSlots -= 1 << order
    var start = offset
    while order + 1 < free.count {
      let buddy = start ^ (1 << order)
      guard free[order].contains(buddy) else { break }
      free[order].remove(buddy)
      start = min(start, buddy)
      order += 1
    }
    free[order].insert(start)
  }

  /// Free slots (in blocks of any size).
  public var freeSlots: Int { capacity - allocatedSlots }
}
