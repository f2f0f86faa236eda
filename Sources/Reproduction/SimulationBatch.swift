import AttentionIO
import Dispatch
import Foundation

/// Runs many independent count-mode simulations on a few threads and returns their results in
/// order. Each simulation is itself single-threaded; experiments parallelise across points.
public struct SimulationBatch: Sendable {
  public var threads: Int

  public init(threads: Int) { self.threads = max(1, threads) }

  /// Runs every request.
  /// - Throws: the first error, in request order.
  public func run(_ requests: [SimulationRequest]) throws -> [SimulationResult] {
    try map(requests) { try Simulator.run($0) }
  }

  /// Applies `body` to every item on up to `threads` threads, keeping the order.
  public func map<Item: Sendable, Output: Sendable>(
    _ items: [Item], _ body: @escaping @Sendable (Item) throws -> Output
  ) throws -> [Output] {
    let slots = Slots<Output>(count: items.count)
    let workers = max(1, min(threads, items.count))
    // Points differ in cost by orders of magnitude (small SRAM sizes mean many blocks), so
    // workers take the next unclaimed item rather than a fixed stripe.
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      while let index = slots.claim() {
        slots.set(index, Result { try body(items[index]) })
      }
    }
    return try slots.collect()
  }
}

/// Results written by worker threads: each slot once, under a lock.
final class Slots<Output: Sendable>: @unchecked Sendable {
  private var values: [Result<Output, Error>?]
  private var next = 0
  private let lock = NSLock()

  init(count: Int) { values = Array(repeating: nil, count: count) }

  /// The next item no worker has taken, if any.
  func claim() -> Int? {
    lock.lock()
    defer { lock.unlock() }
    guard next < values.count else { return nil }
    next += 1
    return next - 1
  }

  func set(_ index: Int, _ value: Result<Output, Error>) {
    lock.lock()
    values[index] = value
    lock.unlock()
  }

  func collect() throws -> [Output] {
    lock.lock()
    defer { lock.unlock() }
    return try values.map { try $0!.get() }
  }
}
