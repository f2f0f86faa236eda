import Foundation

/// The memory this machine can give a run now.
enum HostMemory {
  /// `MemAvailable` of /proc/meminfo where there is one, else the physical memory.
  static func availableBytes() -> Int {
    if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
      for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        let fields = line.split(separator: " ")
        if fields.count >= 2, let kilobytes = Int(fields[1]) { return kilobytes.multipliedReportingOverflow(by: 1024).partialValue }
      }
    }
    return Int(clamping: ProcessInfo.processInfo.physicalMemory)
  }
}
