import AttentionAlgorithms
import Foundation
import MemoryHierarchy

/// Progress of a run, in HBM elements read (loads), shared by the worker threads: the heads
/// finished plus what each running head has read so far, against the expected total from the
/// closed forms. Reports go to `report(done, total)` at most every few thousand machine steps.
final class ProgressTracker: @unchecked Sendable {
  private let lock = NSLock()
  private let total: Int
  private let report: @Sendable (Int, Int) -> Void
  private var finished = 0
  private var running: [Int: Int] = [:]

  init(total: Int, report: @escaping @Sendable (Int, Int) -> Void) {
    self.total = max(total, 1)
    self.report = report
  }

  /// Head `head` has read `elements` so far.
  func update(head: Int, elements: Int) {
    lock.lock()
    running[head] = elements
    let done = finished + running.values.reduce(0, +)
    lock.unlock()
    report(min(done, total), total)
  }

  /// Head `head` is done; it read `elements` in all.
  func finish(head: Int, elements: Int) {
    lock.lock()
    running[head] = nil
    finished += elements
    let done = finished + running.values.reduce(0, +)
    lock.unlock()
    report(min(done, total), total)
  }

  /// The HBM elements one head of `request` reads, from the closed forms (block-sparse runs use
  /// the dense count, an upper bound).
  static func expectedReads(_ request: SimulationRequest, blocks: [AttentionSchedule.Pass: BlockSizes]) -> Int {
    var total = 0
    for pass in request.passesRun {
      guard let b = blocks[pass] else { continue }
      let form = AttentionSchedule.closedForm(request.algorithm, pass: pass, problem: request.problem, blocks: b, spec: request.machine)
      total = SizeLimits.saturatingSum(total, form.traffic.readElements)
    }
    return total
  }
}
