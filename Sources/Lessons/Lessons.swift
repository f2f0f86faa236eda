import AttentionIO

/// Step-by-step lessons behind the executables in `Examples/`. Each returns deterministic text for
/// its fixed seed (golden-tested in `LessonsTests`), and checks the claims it teaches: a lesson
/// whose claim fails throws `LessonError.claimFailed` instead of printing something false.
public enum Lessons {
  /// The lessons by executable name, in teaching order.
  public static let all: [(name: String, run: @Sendable () throws -> String)] = [
    ("tiling-walkthrough", tilingWalkthrough),
    ("online-softmax", onlineSoftmax),
    ("traffic-race", trafficRace),
    ("mask-gallery", maskGallery),
    ("l2-cache", l2Cache),
    ("backward-pass", backwardPass),
  ]

  /// The teaching problem: one head, N = 16, d = 8, fp16, seed 1 (the `demo` command's run).
  static func teachingProblem(sequenceLength: Int = 16, headDimension: Int = 8) throws -> AttentionProblem {
    try AttentionProblem(sequenceLength: sequenceLength, headDimension: headDimension, dataType: .fp16, seed: 1)
  }

  /// Throws unless `condition` holds: lessons assert what they teach.
  static func claim(_ condition: Bool, _ statement: @autoclosure () -> String) throws {
    if !condition { throw LessonError.claimFailed(statement()) }
  }

  /// A title underlined with `=`.
  static func title(_ text: String) -> String {
    text + "\n" + String(repeating: "=", count: text.count) + "\n\n"
  }

  /// A section heading underlined with `-`.
  static func heading(_ text: String) -> String {
    "\n" + text + "\n" + String(repeating: "-", count: text.count) + "\n\n"
  }
}

/// A lesson found that what it teaches is not what the simulator did.
public enum LessonError: Error, Equatable, CustomStringConvertible {
  case claimFailed(String)

  public var description: String {
    switch self {
    case let .claimFailed(statement): return "lesson claim failed: \(statement)"
    }
  }
}
