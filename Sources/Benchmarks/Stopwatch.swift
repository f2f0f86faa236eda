import Dispatch
import Foundation

/// Timing helpers: a monotonic wall clock, the CPU clock of the process, medians, and values the
/// optimiser must keep.
///
/// On a shared host the wall clock also counts the time other processes held the core; the
/// process CPU clock does not. The benchmark reports wall-clock medians (what a user waits for)
/// and the CPU share of each measurement, so a contended run is visible as such.
public enum Stopwatch {
  /// One measurement: wall-clock seconds and this process's CPU seconds over the same interval.
  public struct Sample: Sendable, Hashable {
    public var wallSeconds: Double
    public var cpuSeconds: Double
  }

  /// Seconds `body` took on the monotonic clock.
  @inlinable
  public static func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  }

  /// Wall-clock and process CPU seconds of `body`.
  public static func sample(_ body: () throws -> Void) rethrows -> Sample {
    let cpu = processCPUSeconds()
    let wall = try seconds(body)
    return Sample(wallSeconds: wall, cpuSeconds: processCPUSeconds() - cpu)
  }

  /// CPU seconds used so far by every thread of this process.
  public static func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }

  /// The median of `values` (the mean of the middle two for an even count); 0 when empty.
  public static func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }

  /// Keeps `value` alive so the computation behind it is not removed.
  @inline(never)
  public static func blackHole<T>(_ value: T) { _ = value }

  /// `value`, hidden from constant folding.
  @inline(never)
  public static func opaque(_ value: Float) -> Float { value }
}
