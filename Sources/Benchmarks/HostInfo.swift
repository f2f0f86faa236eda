import Foundation

/// What the benchmark ran on and how it was built, read from Linux's /proc and /sys (empty or
/// zero elsewhere).
public struct HostInfo: Sendable, Hashable {
  /// `model name` from /proc/cpuinfo.
  public var cpuModel: String
  /// Online logical CPUs.
  public var logicalCPUs: Int
  /// Size in bytes of the highest cache level of CPU 0 (its last-level cache).
  public var lastLevelCacheBytes: Int
  /// The compile-time switches of this build that change the kernels.
  public var buildFlags: [String]
  /// Whether this is a release (`-O`) build.
  public var isOptimized: Bool
  /// The vector features of /proc/cpuinfo's `flags` line that pick the build flags: `fma`,
  /// `avx2`, `avx512f` (those present).
  public var cpuFeatures: Set<String>
  /// The one-minute load average when the run started (nil where /proc/loadavg is missing): more
  /// than the logical CPUs means other work competed for them.
  public var loadAverage: Double? = nil

  /// One line of advice when the build's `TILEKERNELS_*` flags do not suit this CPU (nil when
  /// they do, or when the CPU's features are unknown): the AVX-512 register blocks spill on a
  /// CPU without AVX-512, and without a flag the multiply–adds are not fused.
  public var buildAdvice: String? { Self.advice(buildFlags: buildFlags, cpuFeatures: cpuFeatures) }

  /// The host this process runs on.
  public static func current() -> HostInfo {
    let model = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
      .split(separator: "\n").first { $0.hasPrefix("model name") }
      .flatMap { $0.split(separator: ":", maxSplits: 1).last }
      .map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    return HostInfo(
      cpuModel: model, logicalCPUs: ProcessInfo.processInfo.activeProcessorCount,
      lastLevelCacheBytes: lastLevelCacheBytes(), buildFlags: buildFlags, isOptimized: isOptimized,
      cpuFeatures: cpuFeatures(),
      loadAverage: (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)).flatMap { $0.split(separator: " ").first }.flatMap { Double($0) })
  }

  /// `fma`, `avx2` and `avx512f` where /proc/cpuinfo lists them (empty elsewhere).
  static func cpuFeatures() -> Set<String> {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return [] }
    return Set(line.split(separator: " ").map(String.init)).intersection(["fma", "avx2", "avx512f"])
  }

  /// The advice behind `buildAdvice`, from the build's flags and the CPU's features.
  static func advice(buildFlags: [String], cpuFeatures: Set<String>) -> String? {
    guard cpuFeatures.contains("fma") else { return nil }
    let avx512 = cpuFeatures.contains("avx512f")
    let rebuild = "rebuild with -Xswiftc -target-cpu -Xswiftc native -Xswiftc -DTILEKERNELS_\(avx512 ? "AVX512" : "FMA")"
    if buildFlags.contains("TILEKERNELS_AVX512") {
      return avx512 ? nil : "this CPU has no AVX-512, so the AVX-512 register blocks spill: \(rebuild)"
    }
    if buildFlags.contains("TILEKERNELS_FMA") {
      return avx512 ? "this CPU has AVX-512: -DTILEKERNELS_AVX512 selects register blocks for its 32 registers" : nil
    }
    return "no TILEKERNELS_* flag, so multiply–adds are not fused: \(rebuild)"
  }

  /// The `-D` flags the kernels look at, as compiled into this binary.
  public static var buildFlags: [String] {
    var flags: [String] = []
    #if TILEKERNELS_AVX512
      flags.append("TILEKERNELS_AVX512")
    #endif
    #if TILEKERNELS_FMA
      flags.append("TILEKERNELS_FMA")
    #endif
    return flags
  }

  /// Whether the build is optimised (release); a debug build's numbers mean nothing.
  public static var isOptimized: Bool {
    #if DEBUG
      return false
    #else
      return true
    #endif
  }

  /// The largest cache of CPU 0 (the highest `level` under /sys/devices/system/cpu/cpu0/cache).
  static func lastLevelCacheBytes() -> Int {
    let root = "/sys/devices/system/cpu/cpu0/cache"
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return 0 }
    var best = (level: 0, bytes: 0)
    for entry in entries where entry.hasPrefix("index") {
      func read(_ name: String) -> String? {
        (try? String(contentsOfFile: "\(root)/\(entry)/\(name)", encoding: .utf8))?
          .trimmingCharacters(in: .whitespacesAndNewlines)
      }
      guard let level = read("level").flatMap(Int.init), let size = read("size"), level >= best.level else { continue }
      best = (level, parseSize(size))
    }
    return best.bytes
  }

  /// "48K", "2048K", "105M" → bytes.
  static func parseSize(_ text: String) -> Int {
    let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
    if let last = text.last, let unit = units[last], let value = Int(text.dropLast()) { return value * unit }
    return Int(text) ?? 0
  }
}

/// The process's resident memory, from /proc/self/status.
public enum ResidentMemory {
  /// Peak resident set size so far (VmHWM), in bytes; 0 where unavailable.
  public static func peakBytes() -> Int { statusField("VmHWM") }

  /// Current resident set size (VmRSS), in bytes.
  public static func currentBytes() -> Int { statusField("VmRSS") }

  /// Resets the peak to the current resident size (writes 5 to /proc/self/clear_refs, Linux ≥ 4.0);
  /// returns whether that worked.
  @discardableResult
  public static func resetPeak() -> Bool {
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    do {
      try handle.write(contentsOf: Data("5".utf8))
      return true
    } catch {
      return false
    }
  }

  static func statusField(_ name: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
      let digits = line.dropFirst(name.count + 1).filter(\.isNumber)
      return (Int(digits) ?? 0) * 1024  // reported in kB
    }
    return 0
  }
}
