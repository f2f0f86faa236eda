import MemoryHierarchy

/// What a pruning policy needs the decode kernels to keep for it.
public struct PruningNeeds: OptionSet, Hashable, Sendable {
  public let rawValue: Int
  public init(rawValue: Int) { self.rawValue = rawValue }
  /// The elementwise minimum and maximum of each full page's keys, per KV head (Quest's metadata).
  public static let pageKeyBounds = PruningNeeds(rawValue: 1)
  /// The attention each resident token receives, accumulated over steps (H2O's scores).
  public static let attentionScores = PruningNeeds(rawValue: 2)
}

/// The state a policy decides from at one decode step. Positions are token indices 0..<L; pages
/// are indices into `cache.pages`.
public struct PruningView: Sendable {
  /// 1-based decode step.
  public let step: Int
  /// L, the context length including the new token (position L − 1).
  public let contextLength: Int
  public let cache: PrunedKVCache
  public let configuration: PagedDecodeConfiguration
  /// This step's queries, h_q × d, as stored (rounded to the data type).
  public let queries: [Float]
  /// The key bounds of full pages (present when the policy needs `.pageKeyBounds`).
  public let keyBounds: PageKeyBounds?
}

/// The elementwise minimum and maximum of the keys of each full page, per KV head, as the
/// summarising kernel stored them: Quest's page metadata.
public struct PageKeyBounds: Sendable {
  let headDimension: Int
  let keyValueHeads: Int
  /// (block·h_kv + g)·2·d: the minimum (d values) then the maximum.
  var storage: [Float]

  init(blockCount: Int, keyValueHeads: Int, headDimension: Int) {
    self.headDimension = headDimension
    self.keyValueHeads = keyValueHeads
    storage = [Float](repeating: 0, count: blockCount * keyValueHeads * 2 * headDimension)
  }

  /// Upper bound of q·k over the page's keys (Quest, Algorithm 1): Σ_i max(q_i·min_i, q_i·max_i).
  public func upperBound(query q: ArraySlice<Float>, block: Int, head g: Int) -> Double {
    let d = headDimension
    let base = (block * keyValueHeads + g) * 2 * d
    var sum = 0.0
    var x = 0
    for i in q.indices {
      let qi = Double(q[i])
      sum += max(qi * Double(storage[base + x]), qi * Double(storage[base + d + x]))
      x += 1
    }
    return sum
  }
}

/// One decode-time pruning policy: which pages each step reads and which tokens the cache keeps.
///
/// A policy only decides; the run (`PrunedDecodeRun`) does the work on the machine and counts it:
/// the page summaries and the top-K selection when the policy needs key bounds, the logits and
/// the score accumulation when it needs attention scores, and the copies of compaction. Every
/// decision is taken from host arithmetic on the stored values, so count and execute mode decide
/// the same and count the same.
///
/// A policy that cannot prune in a run (a budget at least the run's context) reports it from
/// `prepare`, needs nothing and changes nothing: it runs exactly as `full`, counts and bits.
public protocol DecodePruningPolicy: Sendable {
  /// The policy as written on the command line (`quest:16`, `streaming:4,508`).
  var name: String { get }
  /// What the kernels must keep (empty while the policy is inactive).
  var needs: PruningNeeds { get }
  /// Called once before a run whose context grows to `maximumContext` tokens.
  /// - Returns: whether the policy can prune at all in that run.
  mutating func prepare(maximumContext: Int, configuration: PagedDecodeConfiguration) -> Bool
  /// Pages to free before this step's attention (indices of full pages other than the last).
  mutating func pagesToEvict(_ view: PruningView) -> [Int]
  /// The pages (ascending indices) each work item reads, or nil for every resident page.
  func pagesToRead(_ view: PruningView) -> [[Int]]?
  /// After attention: the slots (page·B + offset) to evict, given the attention each slot
  /// received this step summed over the query heads (present when the policy needs scores).
  mutating func slotsToEvict(_ view: PruningView, attention: [Double]) -> Set<Int>
}

extension DecodePruningPolicy {
  public mutating func pagesToEvict(_ view: PruningView) -> [Int] { [] }
  public func pagesToRead(_ view: PruningView) -> [[Int]]? { nil }
  public mutating func slotsToEvict(_ view: PruningView, attention: [Double]) -> Set<Int> { [] }
}

/// `full`: today's paged decode; every page is read and kept.
public struct FullAttentionPolicy: DecodePruningPolicy {
  public init() {}
  public var name: String { "full" }
  public var needs: PruningNeeds { [] }
  public mutating func prepare(maximumContext: Int, configuration: PagedDecodeConfiguration) -> Bool { false }
}

/// `quest:K` (Tang et al., "Quest: Query-Aware Sparsity for Efficient Long-Context LLM
/// Inference", ICML 2024): every full page keeps the elementwise min and max of its keys; per work
/// item the upper bound Σ_i max(q_i·min_i, q_i·max_i) ranks the full pages, and the K − 1 best
/// plus the last page (which holds the new token and has no bounds yet) are read exactly. A work
/// item of G query heads (per-KV-head reads) ranks by the largest bound over its rows. Nothing is
/// evicted: Quest saves reads, not memory.
public struct QuestPolicy: DecodePruningPolicy {
  /// K, pages read per step and work item.
  public let pages: Int
  private var active = false

  /// - Throws: `PagedKVError.invalidArgument` unless K ≥ 1.
  public init(pages: Int) throws {
    guard pages >= 1 else { throw PagedKVError.invalidArgument("quest:K needs K ≥ 1 pages, got \(pages)") }
    self.pages = pages
  }

  public var name: String { "quest:\(pages)" }
  public var needs: PruningNeeds { active ? .pageKeyBounds : [] }

  public mutating func prepare(maximumContext: Int, configuration: PagedDecodeConfiguration) -> Bool {
    active = pages < configuration.blockCount(contextLength: maximumContext)
    return active
  }

  public func pagesToRead(_ view: PruningView) -> [[Int]]? {
    let n = view.cache.pageCount
    guard active, n > pages, let bounds = view.keyBounds else { return nil }
    let c = view.configuration
    let r = c.rowsPerWorkItem
    let d = c.headDimension
    var selections: [[Int]] = []
    selections.reserveCapacity(c.workItemsPerSequence)
    var ranked: [(bound: Double, page: Int)] = []
    ranked.reserveCapacity(n - 1)
    for w in 0..<c.workItemsPerSequence {
      let g = (w * r) / c.groupSize
      ranked.removeAll(keepingCapacity: true)
      for i in 0..<(n - 1) {
        let block = view.cache.pages[i].physicalBlock
        var best = -Double.infinity
        for h in (w * r)..<((w + 1) * r) {
          best = max(best, bounds.upperBound(query: view.queries[(h * d)..<((h + 1) * d)], block: block, head: g))
        }
        ranked.append((best, i))
      }
      ranked.sort { $0.bound != $1.bound ? $0.bound > $1.bound : $0.page < $1.page }
      selections.append((ranked.prefix(pages - 1).map(\.page) + [n - 1]).sorted())
    }
    return selections
  }
}

/// `streaming:S,W` (Xiao et al., "Efficient Streaming Language Models with Attention Sinks",
/// ICLR 2024): the first S tokens (attention sinks) and the last W tokens are kept. Eviction is
/// page-granular: a page is freed once none of its tokens is a sink or in the window, so up to
/// B − 1 older tokens ride along in the window's first page and are attended too. KV memory held
/// stops growing at about ⌈S/B⌉ + ⌈W/B⌉ + 1 pages.
public struct StreamingPolicy: DecodePruningPolicy {
  public let sinks: Int
  public let window: Int
  private var active = false

  /// - Throws: `PagedKVError.invalidArgument` unless S ≥ 0 and W ≥ 1.
  public init(sinks: Int, window: Int) throws {
    guard sinks >= 0, window >= 1 else {
      throw PagedKVError.invalidArgument("streaming:S,W needs S ≥ 0 and W ≥ 1, got S=\(sinks), W=\(window)")
    }
    self.sinks = sinks
    self.window = window
  }

  public var name: String { "streaming:\(sinks),\(window)" }
  public var needs: PruningNeeds { [] }

  public mutating func prepare(maximumContext: Int, configuration: PagedDecodeConfiguration) -> Bool {
    active = sinks + window < maximumContext
    return active
  }

  public mutating func pagesToEvict(_ view: PruningView) -> [Int] {
    guard active else { return [] }
    let windowStart = view.contextLength - window
    var doomed: [Int] = []
    // Pages hold consecutive positions here (streaming never compacts).
    for (i, page) in view.cache.pages.enumerated().dropLast() {
      guard let first = page.positions.first, let last = page.positions.last else { continue }
      if first >= sinks && last < windowStart { doomed.append(i) }
    }
    return doomed
  }
}

/// `h2o:B,W` (Zhang et al., "H₂O: Heavy-Hitter Oracle for Efficient Generative Inference of
/// Large Language Models", NeurIPS 2023): every token's attention is accumulated over the steps
/// (summed over the query heads, since the block table is shared by all heads); once more than
/// B + W tokens are held, the tokens outside the last W with the least accumulated attention are
/// evicted. Eviction is token-granular and the holes are compacted at once: the highest surviving
/// slots move into the lowest holes, so pages stay full and only the last is partial, at the cost
/// of one K and V copy per moved token (counted).
public struct HeavyHitterPolicy: DecodePruningPolicy {
  /// B, heavy-hitter tokens kept.
  public let budget: Int
  /// W, recent tokens always kept.
  public let window: Int
  private var active = false
  /// Accumulated attention by position.
  public private(set) var scores: [Double] = []

  /// - Throws: `PagedKVError.invalidArgument` unless B ≥ 0 and W ≥ 1.
  public init(budget: Int, window: Int) throws {
    guard budget >= 0, window >= 1 else {
      throw PagedKVError.invalidArgument("h2o:B,W needs B ≥ 0 and W ≥ 1, got B=\(budget), W=\(window)")
    }
    self.budget = budget
    self.window = window
  }

  public var name: String { "h2o:\(budget),\(window)" }
  public var needs: PruningNeeds { active ? .attentionScores : [] }

  public mutating func prepare(maximumContext: Int, configuration: PagedDecodeConfiguration) -> Bool {
    active = budget + window < maximumContext
    scores = active ? [Double](repeating: 0, count: maximumContext) : []
    return active
  }

  public mutating func slotsToEvict(_ view: PruningView, attention: [Double]) -> Set<Int> {
    guard active else { return [] }
    let cache = view.cache
    var candidates: [(score: Double, position: Int, slot: Int)] = []
    let windowStart = view.contextLength - window
    for slot in 0..<cache.tokenCount {
      let position = cache.position(atSlot: slot)
      scores[position] += attention[slot]
      if position < windowStart { candidates.append((0, position, slot)) }
    }
    let excess = cache.tokenCount - (budget + window)
    guard excess > 0 else { return [] }
    for i in candidates.indices { candidates[i].score = scores[candidates[i].position] }
    candidates.sort { $0.score != $1.score ? $0.score < $1.score : $0.position < $1.position }
    return Set(candidates.prefix(excess).map(\.slot))
  }
}

/// A policy as written on the command line.
public enum PruningPolicySpec: Hashable, Sendable, CustomStringConvertible {
  case full
  case quest(pages: Int)
  case streaming(sinks: Int, window: Int)
  case heavyHitters(budget: Int, window: Int)

  /// Parses `full`, `quest:K`, `streaming:S,W` or `h2o:B,W`.
  /// - Throws: `PagedKVError.invalidArgument` naming the text and the accepted forms.
  public init(parsing text: String) throws {
    let bad = PagedKVError.invalidArgument("policy '\(text)' is not one of full, quest:K, streaming:S,W or h2o:B,W")
    let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let numbers = parts.count == 2 ? parts[1].split(separator: ",", omittingEmptySubsequences: false).map { Int($0) } : []
    guard numbers.allSatisfy({ $0 != nil }) else { throw bad }
    let n = numbers.compactMap { $0 }
    switch (parts[0], parts.count, n.count) {
    case ("full", 1, 0): self = .full
    case ("quest", 2, 1): self = .quest(pages: n[0])
    case ("streaming", 2, 2): self = .streaming(sinks: n[0], window: n[1])
    case ("h2o", 2, 2): self = .heavyHitters(budget: n[0], window: n[1])
    default: throw bad
    }
    _ = try makePolicyName()
  }

  /// Validates the numbers by building the policy once.
  private func makePolicyName() throws -> String {
    switch self {
    case .full: return FullAttentionPolicy().name
    case let .quest(k): return try QuestPolicy(pages: k).name
    case let .streaming(s, w): return try StreamingPolicy(sinks: s, window: w).name
    case let .heavyHitters(b, w): return try HeavyHitterPolicy(budget: b, window: w).name
    }
  }

  public var description: String {
    switch self {
    case .full: return "full"
    case let .quest(k): return "quest:\(k)"
    case let .streaming(s, w): return "streaming:\(s),\(w)"
    case let .heavyHitters(b, w): return "h2o:\(b),\(w)"
    }
  }

  /// The family name: full, quest, streaming or h2o.
  public var family: String {
    switch self {
    case .full: return "full"
    case .quest: return "quest"
    case .streaming: return "streaming"
    case .heavyHitters: return "h2o"
    }
  }
}
