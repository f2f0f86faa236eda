/// The handle of one sequence in a `KVCacheManager`: a request's prompt, one of its parallel
/// samples, or one beam. Identifiers are never reused within a manager.
public struct SequenceID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public let rawValue: Int

  public init(_ rawValue: Int) { self.rawValue = rawValue }

  public static func < (a: SequenceID, b: SequenceID) -> Bool { a.rawValue < b.rawValue }

  public var description: String { "#\(rawValue)" }
}
