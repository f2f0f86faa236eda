import AttentionAlgorithms
import Foundation

/// Runs `body` with a description of the current case (seed and shape) that every failure message
/// carries, so a failing case can be replayed exactly: `withTrace("seed: 7, N: 93, d: 35") { … }`.
///
/// Inside the body, use `context.message(...)` in assertion messages.
public func withTrace<R>(_ context: String, _ body: (TestContext) throws -> R) rethrows -> R {
  try body(TestContext(description: context))
}

/// The replayable description of one property-test case.
public struct TestContext: Sendable, CustomStringConvertible {
  public let description: String
  public init(description: String) { self.description = description }

  /// A failure message that starts with the case description.
  public func message(_ detail: @autoclosure () -> String = "") -> String {
    let d = detail()
    return d.isEmpty ? "[\(description)]" : "[\(description)] \(d)"
  }
}

/// Whether the long sweeps are enabled (`SIM_LONG_TESTS=1`); default sweeps stay small because
/// debug builds of SIMD code are slow.
public var longTestsEnabled: Bool {
  ProcessInfo.processInfo.environment["SIM_LONG_TESTS"] == "1"
}

/// Max relative error in the project's sense (`ReferenceAttention.maxRelativeError`), for arrays of
/// one shape.
public func maxRelativeError(_ output: [Float], _ reference: [Double]) -> Double {
  precondition(output.count == reference.count, "shape mismatch")
  return ReferenceAttention.maxRelativeError(output, reference)
}
