import AttentionAlgorithms
import Foundation
import MemoryHierarchy

/// The tensors of a decode run: K and V of every token (prompt and generated), and the query of
/// every token, per head. Token t's K and V enter the cache at position t; the decode step that
/// generates token t attends with token t's query.
///
/// Layout, row-major: `keys` and `values` are h_kv × N × d (head-major), `queries` is h_q × N × d.
public struct DecodeInputs: Sendable {
  /// N, tokens described (at least prompt + steps of the run that uses them).
  public let tokenCount: Int
  public let headDimension: Int
  public let queryHeads: Int
  public let keyValueHeads: Int
  public let keys: [Float]
  public let values: [Float]
  public let queries: [Float]
  /// Where the inputs came from, for reports ("structured(seed 0, …)", "npy", "normal").
  public let origin: String

  /// - Throws: `PagedKVError.invalidArgument` when a size is not positive, h_q is not a multiple
  ///   of h_kv, an array does not hold its shape's values, or a value is not finite.
  public init(
    tokenCount: Int, headDimension: Int, queryHeads: Int, keyValueHeads: Int, keys: [Float], values: [Float],
    queries: [Float], origin: String
  ) throws {
    guard tokenCount > 0, headDimension > 0, queryHeads > 0, keyValueHeads > 0 else {
      throw PagedKVError.invalidArgument(
        "inputs need positive sizes, got N=\(tokenCount), d=\(headDimension), h_q=\(queryHeads), h_kv=\(keyValueHeads)")
    }
    guard queryHeads % keyValueHeads == 0 else {
      throw PagedKVError.invalidArgument("query heads (\(queryHeads)) must be a multiple of KV heads (\(keyValueHeads))")
    }
    let kv = keyValueHeads * tokenCount * headDimension
    let q = queryHeads * tokenCount * headDimension
    guard keys.count == kv, values.count == kv, queries.count == q else {
      throw PagedKVError.invalidArgument(
        "inputs hold \(keys.count) K, \(values.count) V and \(queries.count) Q values; the shape needs \(kv), \(kv) and \(q)")
    }
    for (name, array) in [("K", keys), ("V", values), ("Q", queries)] {
      if let bad = array.firstIndex(where: { !$0.isFinite }) {
        throw PagedKVError.invalidArgument("\(name) value \(bad) is not finite (\(array[bad]))")
      }
    }
    self.tokenCount = tokenCount
    self.headDimension = headDimension
    self.queryHeads = queryHeads
    self.keyValueHeads = keyValueHeads
    self.keys = keys
    self.values = values
    self.queries = queries
    self.origin = origin
  }

  /// Independent standard normals: near-uniform attention, the worst case for every pruning policy.
  public static func normal(tokenCount: Int, headDimension: Int, queryHeads: Int, keyValueHeads: Int, seed: UInt64) throws -> DecodeInputs {
    var rng = SeededRandom(seed: seed ^ 0x0DEC_0DE0_1A7E_D5EE)
    let kv = keyValueHeads * tokenCount * headDimension
    return try DecodeInputs(
      tokenCount: tokenCount, headDimension: headDimension, queryHeads: queryHeads, keyValueHeads: keyValueHeads,
      keys: rng.normals(kv), values: rng.normals(kv), queries: rng.normals(queryHeads * tokenCount * headDimension),
      origin: "normal(seed \(seed))")
  }

  /// The same inputs with every value rounded to `type` (what the cache stores).
  /// - Throws: `PagedKVError.invalidArgument` when a value overflows `type` (fp16 above 65,504).
  func rounded(to type: ElementType) throws -> DecodeInputs {
    func round(_ a: [Float]) -> [Float] { a.map { type.rounded($0) } }
    do {
      return try DecodeInputs(
        tokenCount: tokenCount, headDimension: headDimension, queryHeads: queryHeads, keyValueHeads: keyValueHeads,
        keys: round(keys), values: round(values), queries: round(queries), origin: origin)
    } catch let PagedKVError.invalidArgument(reason) {
      throw PagedKVError.invalidArgument("rounded to \(type): \(reason)")
    }
  }
}

/// A seeded generator of decode inputs with the structure pruning policies rely on (attention
/// sinks, locality, a few heavy hitters), so that their accuracy can be told apart; independent
/// normals give near-uniform attention where every policy looks equally bad.
///
/// For each KV head g it draws unit directions u_sink and u_heavy and a unit "topic" process
/// z_t = ρ·z_{t−1} + √(1−ρ²)·ε_t/√d with ρ = e^{−1/λ} (λ = `localityLength`), and builds, with
/// c = d^{1/4} so that τ·(c·u)·(a·c·u) = a for τ = 1/√d:
///
/// ```
/// k_t = σ·n_t + c·(a_sink·u_sink·[t < sinks] + a_heavy·u_heavy·[t ∈ heavy] + a_local·z_t)
/// q_t = σ·n'_t + c·(u_sink + u_heavy + z_t)          (one q per query head of the group)
/// v_t = standard normal
/// ```
///
/// so a query's logit on a sink is about a_sink, on a heavy hitter about a_heavy, and on a key
/// Δ tokens back about a_local·ρ^Δ, plus noise of order σ². Heavy hitters are `heavyHitters`
/// positions drawn uniformly from [sinks, prompt) per KV head.
public struct StructuredDecodeInputs: Hashable, Sendable {
  /// Leading tokens every query attends to (attention sinks).
  public var sinks = 4
  /// Tokens of the prompt every query attends to strongly.
  public var heavyHitters = 8
  /// λ, the distance over which the local logit decays by e.
  public var localityLength = 32.0
  /// Logit of a sink, of a heavy hitter, and of the nearest key (before noise).
  public var sinkLogit = 8.0
  public var heavyLogit = 6.0
  public var localLogit = 6.0
  /// σ, the standard deviation of the noise added to every q and k coordinate.
  public var noise = 0.3
  public var seed: UInt64 = 0

  public init() {}

  /// - Throws: `PagedKVError.invalidArgument` for a negative count or noise, a non-positive
  ///   locality length or a non-finite logit.
  public func validate() throws {
    guard sinks >= 0, heavyHitters >= 0 else {
      throw PagedKVError.invalidArgument("sinks and heavy hitters must be ≥ 0, got \(sinks) and \(heavyHitters)")
    }
    guard localityLength > 0, localityLength.isFinite else {
      throw PagedKVError.invalidArgument("locality length must be positive, got \(localityLength)")
    }
    guard noise >= 0, noise.isFinite, sinkLogit.isFinite, heavyLogit.isFinite, localLogit.isFinite,
      abs(sinkLogit) <= 100, abs(heavyLogit) <= 100, abs(localLogit) <= 100, noise <= 100
    else {
      throw PagedKVError.invalidArgument("logits must lie in −100…100 and noise in 0…100")
    }
  }

  public var description: String {
    "structured(seed \(seed), sinks \(sinks), heavy \(heavyHitters), locality \(localityLength), "
      + "logits \(sinkLogit)/\(heavyLogit)/\(localLogit), noise \(noise))"
  }

  /// N tokens of inputs; heavy hitters fall in [sinks, promptLength).
  public func generate(tokenCount n: Int, promptLength: Int, headDimension d: Int, queryHeads: Int, keyValueHeads: Int) throws -> DecodeInputs {
    try validate()
    guard n > 0, d > 0, queryHeads > 0, keyValueHeads > 0, queryHeads % keyValueHeads == 0 else {
      throw PagedKVError.invalidArgument("structured inputs need positive sizes and h_q a multiple of h_kv")
    }
    var rng = SeededRandom(seed: seed ^ 0x57C7_0C7E_D1A9_5EED)
    let c = Foundation.pow(Double(d), 0.25)
    let rho = Foundation.exp(-1 / localityLength)
    let fresh = (1 - rho * rho).squareRoot()
    let group = queryHeads / keyValueHeads
    var keys = [Float](repeating: 0, count: keyValueHeads * n * d)
    var values = keys
    var queries = [Float](repeating: 0, count: queryHeads * n * d)
    func unit() -> [Double] {
      let v = (0..<d).map { _ in Double(rng.nextNormal()) }
      let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
      return norm > 0 ? v.map { $0 / norm } : v
    }
    for g in 0..<keyValueHeads {
      let uSink = unit()
      let uHeavy = unit()
      let heavyRange = min(sinks, promptLength)..<max(min(sinks, promptLength), promptLength)
      var heavy = Set<Int>()
      if !heavyRange.isEmpty {
        for _ in 0..<min(heavyHitters, heavyRange.count) {
          var t: Int
          repeat { t = heavyRange.lowerBound + Int(rng.next() % UInt64(heavyRange.count)) } while heavy.contains(t)
          heavy.insert(t)
        }
      }
      var z = unit()
      for t in 0..<n {
        if t > 0 {
          for x in 0..<d { z[x] = rho * z[x] + fresh * Double(rng.nextNormal()) / Double(d).squareRoot() }
        }
        let sinkWeight = t < sinks ? sinkLogit : 0
        let heavyWeight = heavy.contains(t) ? heavyLogit : 0
        let row = (g * n + t) * d
        for x in 0..<d {
          let structure = c * (sinkWeight * uSink[x] + heavyWeight * uHeavy[x] + localLogit * z[x])
          keys[row + x] = Float(noise * Double(rng.nextNormal()) + structure)
          values[row + x] = rng.nextNormal()
        }
        for h in (g * group)..<((g + 1) * group) {
          let qRow = (h * n + t) * d
          for x in 0..<d {
            queries[qRow + x] = Float(noise * Double(rng.nextNormal()) + c * (uSink[x] + uHeavy[x] + z[x]))
          }
        }
      }
    }
    return try DecodeInputs(
      tokenCount: n, headDimension: d, queryHeads: queryHeads, keyValueHeads: keyValueHeads, keys: keys, values: values,
      queries: queries, origin: description)
  }
}
