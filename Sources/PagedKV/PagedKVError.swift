/// Errors of the paged KV cache and the experiments built on it. Each prints as one line that says
/// what was asked and what the limit is; none of them traps.
public enum PagedKVError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The pool has fewer free physical blocks than an operation needs. The operation changed
  /// nothing (allocation is all-or-nothing), so the caller may free or preempt and retry.
  case outOfBlocks(requested: Int, free: Int, capacity: Int)
  /// No live sequence has this identifier (never allocated, or already freed).
  case unknownSequence(SequenceID)
  /// A size or shape is not valid: which one and why.
  case invalidConfiguration(String)
  /// An argument is out of range for the current state (for example a prefix longer than its
  /// source sequence).
  case invalidArgument(String)
  /// A bookkeeping invariant does not hold (see `KVCacheManager.invariantViolations()`).
  case invariantViolated(String)

  public var description: String {
    switch self {
    case let .outOfBlocks(requested, free, capacity):
      return "out of KV blocks: \(requested) needed, \(free) free of \(capacity)"
    case let .unknownSequence(id):
      return "unknown sequence \(id)"
    case let .invalidConfiguration(reason):
      return "invalid paged KV configuration: \(reason)"
    case let .invalidArgument(reason):
      return "invalid argument: \(reason)"
    case let .invariantViolated(reason):
      return "KV cache invariant violated: \(reason)"
    }
  }
}
