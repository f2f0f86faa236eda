/// An exact HBM traffic count in elements.
public struct TrafficCount: Hashable, Sendable, CustomStringConvertible {
  public var readElements: Int
  public var writeElements: Int

  public init(readElements: Int, writeElements: Int) {
    self.readElements = readElements
    self.writeElements = writeElements
  }

  public var totalElements: Int { readElements + writeElements }
  public var description: String { "reads \(readElements), writes \(writeElements)" }

  public static func + (a: TrafficCount, b: TrafficCount) -> TrafficCount {
    TrafficCount(readElements: a.readElements + b.readElements, writeElements: a.writeElements + b.writeElements)
  }

  public static func * (a: TrafficCount, k: Int) -> TrafficCount {
    TrafficCount(readElements: a.readElements * k, writeElements: a.writeElements * k)
  }
}
