import AttentionAlgorithms

/// The seeded generator tests use: the library's own SplitMix64 (`SeededRandom`, with
/// `nextNormal()` and `normals(_:)`), so test inputs and simulator inputs come from one
/// implementation.
public typealias SplitMix64 = SeededRandom
