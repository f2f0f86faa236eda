import PagedKV

/// What one allocator did with the KV memory over a run.
public struct MemoryWasteResult: Hashable, Sendable {
  public let policy: KVAllocatorPolicy
  /// Time-averaged shares of the KV capacity over the measured (memory-bound) iterations.
  public let shares: MemoryShares
  /// Time-averaged number of running requests over the measured iterations.
  public let meanBatch: Double
  /// Iterations (and their simulated seconds) in which a request was left waiting: the window
  /// the averages cover.
  public let measuredIterations: Int
  public let measuredSeconds: Double
  /// All iterations and simulated seconds until the last request finished.
  public let iterations: Int
  public let totalSeconds: Double
  /// Requests evicted to make room and later recomputed (paged only; Orca never needs it).
  public let preemptions: Int
}

/// A discrete-event model of iteration-level batching (Orca, vLLM) under a fixed KV capacity, to
/// measure how each allocator uses the memory (vLLM Fig. 2) and how many requests it batches.
///
/// Each iteration:
/// 1. requests that have arrived join the FCFS queue;
/// 2. every running request stores one more token (the K/V of its latest output token). Paged:
///    a request whose last block is full gets a new block; if none is free, the most recently
///    arrived running request is preempted (its blocks freed, and it returns to the front of the
///    queue to be recomputed later, as vLLM does by default);
/// 3. if nothing was preempted, queued requests are admitted in order until the first that does
///    not fit: contiguous policies buddy-allocate their reservation, paged allocates ⌈tokens/B⌉
///    blocks and keeps 1% of the blocks free (vLLM's watermark). An admitted request stores its
///    prompt (plus any tokens it had generated before a preemption) in this iteration;
/// 4. if a request is still waiting, the iteration is *memory-bound* and is measured, weighted by
///    its duration (`ServingCostModel`);
/// 5. requests that now hold p + o tokens finish and release their memory.
///
/// Shares per measured iteration, summed over running requests with s tokens stored, final length
/// p + o and A slots held (reservation, or ⌈s/B⌉·B): token states s; reserved min(A, p+o) − s;
/// internal fragmentation A − min(A, p+o); external fragmentation the rest of the capacity (free
/// slots, buddy slack, paged's unusable remainder below one block).
public enum MemoryWasteSimulation {
  /// Runs `requests` (sorted by arrival) through `policy`.
  /// - Throws: `PagedKVError.invalidArgument` if a request can never fit the cache.
  public static func run(
    requests: [ServingRequest], policy: KVAllocatorPolicy, costModel: ServingCostModel = .opt13BOnA100, watermark: Double = 0.01
  ) throws -> MemoryWasteResult {
    let capacity = costModel.tokenCapacity
    var state = try State(policy: policy, capacity: capacity, watermark: watermark)
    var waiting: [Int] = []
    var running: [Active] = []
    var generated = Array(repeating: 0, count: requests.count)
    var clock = 0.0
    var nextArrival = 0
    var finished = 0
    var iterations = 0
    var preemptions = 0
    var measured = Accumulator()

    while finished < requests.count {
      while nextArrival < requests.count, requests[nextArrival].arrivalSeconds <= clock {
        waiting.append(nextArrival)
        nextArrival += 1
      }
      if running.isEmpty, waiting.isEmpty {
        clock = requests[nextArrival].arrivalSeconds
        continue
      }
      // 2. One more token for every running request (oldest first; preempt the newest).
      var preempted = false
      var i = 0
      while i < running.count {
        while !(try state.canAppend(running[i])) {
          let victim = running.removeLast()
          state.release(victim)
          generated[victim.request] = victim.stored - requests[victim.request].promptLength
          waiting.insert(victim.request, at: 0)
          preemptions += 1
          preempted = true
          if running.count == i { break }  // the victim was running[i] itself
        }
        if running.count == i { break }
        try state.append(&running[i])
        i += 1
      }
      // 3. Admission, first come first served.
      var promptTokens = 0
      if !preempted {
        var admitted = false
        while let head = waiting.first {
          let request = requests[head]
          let tokens = request.promptLength + generated[head]
          guard let active = try state.admit(request: head, tokens: tokens, reservation: policy.reservation(for: request)) else { break }
          waiting.removeFirst()
          running.append(active)
          promptTokens += tokens
          admitted = true
        }
        if admitted { running.sort { $0.request < $1.request } }
      }
      if running.isEmpty, let head = waiting.first {
        throw PagedKVError.invalidArgument(
          "request \(head) (\(requests[head].finalLength) tokens) can never fit a KV cache of \(capacity) token slots under \(policy)")
      }
      // 4. Measure memory-bound iterations.
      var stored = 0
      for active in running { stored += active.stored }
      let seconds = costModel.iterationSeconds(cachedTokens: stored, promptTokens: promptTokens)
      if !waiting.isEmpty {
        var tokens = 0
        var reserved = 0
        var internalSlots = 0
        var held = 0
        for active in running {
          let slots = state.heldSlots(active)
          let final = requests[active.request].finalLength
          tokens += active.stored
          reserved += min(slots, final) - active.stored
          internalSlots += slots - min(slots, final)
          held += slots
        }
        measured.add(
          weight: seconds, tokens: tokens, reserved: reserved, internalSlots: internalSlots, external: capacity - held,
          batch: running.count)
      }
      // 5. Finish.
      running.removeAll { active in
        guard active.stored == requests[active.request].finalLength else { return false }
        state.release(active)
        finished += 1
        return true
      }
      clock += seconds
      iterations += 1
    }
    let total = measured.weight * Double(capacity)
    func share(_ x: Double) -> Double { total > 0 ? x / total : .nan }
    return MemoryWasteResult(
      policy: policy,
      shares: MemoryShares(
        tokenStates: share(measured.tokens), reserved: share(measured.reserved),
        internalFragmentation: share(measured.internalSlots), externalFragmentation: share(measured.external)),
      meanBatch: measured.weight > 0 ? measured.batch / measured.weight : .nan, measuredIterations: measured.iterations,
      measuredSeconds: measured.weight, iterations: iterations, totalSeconds: clock, preemptions: preemptions)
  }

  /// A running request: tokens stored, and what it holds.
  struct Active {
    let request: Int
    var stored: Int
    /// Contiguous: the reservation and its buddy block.
    var reservation = 0
    var buddyOffset: Int?
    /// Paged: its sequence in the block manager.
    var sequence: SequenceID?
  }

  /// Duration-weighted sums over the measured iterations.
  struct Accumulator {
    var weight = 0.0
    var tokens = 0.0
    var reserved = 0.0
    var internalSlots = 0.0
    var external = 0.0
    var batch = 0.0
    var iterations = 0

    mutating func add(weight w: Double, tokens t: Int, reserved r: Int, internalSlots i: Int, external e: Int, batch b: Int) {
      weight += w
      tokens += w * Double(t)
      reserved += w * Double(r)
      internalSlots += w * Double(i)
      external += w * Double(e)
      batch += w * Double(b)
      iterations += 1
    }
  }

  /// The allocator behind a policy: a buddy allocator or a paged block manager.
  struct State {
    let policy: KVAllocatorPolicy
    var buddy: BuddyAllocator?
    var blocks: KVCacheManager?
    let watermarkBlocks: Int

    init(policy: KVAllocatorPolicy, capacity: Int, watermark: Double) throws {
      self.policy = policy
      if let b = policy.blockSize {
        guard capacity / b > 0 else {
          throw PagedKVError.invalidArgument("block size \(b) is larger than the cache (\(capacity) token slots)")
        }
        blocks = try KVCacheManager(blockSize: b, blockCount: capacity / b)
        watermarkBlocks = Int(watermark * Double(capacity / b))
      } else {
        buddy = BuddyAllocator(capacity: capacity)
        watermarkBlocks = 0
      }
    }

    /// Whether `active` can store one more token now.
    func canAppend(_ active: Active) throws -> Bool {
      guard let blocks, let sequence = active.sequence else { return true }
      return try blocks.blocksNeededToAppend(to: sequence) <= blocks.freeBlockCount
    }

    mutating func append(_ active: inout Active) throws {
      if let sequence = active.sequence { try blocks?.appendToken(to: sequence) }
      active.stored += 1
    }

    /// Admits a request storing `tokens` tokens, or returns nil if it does not fit now.
    mutating func admit(request: Int, tokens: Int, reservation: Int?) throws -> Active? {
      if buddy != nil, let reservation {
        guard let offset = buddy?.allocate(reservation) else { return nil }
        return Active(request: request, stored: tokens, reservation: reservation, buddyOffset: offset)
      }
      guard let blockSize = blocks?.blockSize, let free = blocks?.freeBlockCount else { return nil }
      guard free - BlockTable.blocksNeeded(tokens: tokens, blockSize: blockSize) >= watermarkBlocks else { return nil }
      guard let sequence = try blocks?.allocateSequence(tokenCount: tokens) else { return nil }
      return Active(request: request, stored: tokens, sequence: sequence)
    }

    mutating func release(_ active: Active) {
      if let offset = active.buddyOffset { buddy?.release(offset) }
      if let sequence = active.sequence { try? blocks?.free(sequence) }
    }

    /// Slots `active` holds: its reservation, or its blocks · B.
    func heldSlots(_ active: Active) -> Int {
      guard let blocks, let sequence = active.sequence else { return active.reservation }
      return (blocks.tables[sequence]?.blockCount ?? 0) * blocks.blockSize
    }
  }
}
