import Foundation

/// A progress line on stderr for work that takes more than `delay` seconds: percent done, rate
/// and estimated time left. On a terminal it is rewritten in place (and erased when the work
/// ends); otherwise a plain line is written every `plainInterval` seconds.
final class ProgressLine: @unchecked Sendable {
  private let lock = NSLock()
  private let label: String
  private let unit: String
  private let write: (String) -> Void
  private let isTerminal: Bool
  private let start = DispatchTime.now()
  private var lastWrite = -Double.infinity
  private var shown = false

  /// Seconds before the first line.
  static let delay = 2.0
  /// Seconds between plain lines (not a terminal); on a terminal the line is redrawn every 0.25 s.
  static let plainInterval = 5.0

  init(label: String, unit: String, write: @escaping (String) -> Void, isTerminal: Bool = isatty(2) != 0) {
    self.label = label
    self.unit = unit
    self.write = write
    self.isTerminal = isTerminal
  }

  private var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }

  /// `done` of `total` units are done.
  func update(done: Int, total: Int) {
    lock.lock()
    defer { lock.unlock() }
    let seconds = elapsed
    guard seconds >= Self.delay, seconds - lastWrite >= (isTerminal ? 0.25 : Self.plainInterval), total > 0 else { return }
    lastWrite = seconds
    let fraction = min(1, Double(done) / Double(total))
    let rate = Double(done) / seconds
    let left = fraction > 0 ? seconds * (1 - fraction) / fraction : .infinity
    let line = "\(label): \(String(format: "%.1f", fraction * 100))% (\(Self.compact(rate)) \(unit)/s), "
      + (left.isFinite ? "about \(Self.duration(left)) left" : "estimating time left")
    shown = true
    write(isTerminal ? "\r" + line + "\u{1B}[K" : line + "\n")
  }

  /// The work is over: erase the terminal line.
  func finish() {
    lock.lock()
    defer { lock.unlock() }
    if shown && isTerminal { write("\r\u{1B}[K") }
    shown = false
  }

  static func compact(_ x: Double) -> String {
    switch x {
    case 1e9...: return String(format: "%.2f G", x / 1e9)
    case 1e6...: return String(format: "%.2f M", x / 1e6)
    case 1e3...: return String(format: "%.2f k", x / 1e3)
    default: return String(format: "%.0f", x)
    }
  }

  static func duration(_ seconds: Double) -> String {
    if seconds < 60 { return String(format: "%.0f s", seconds.rounded(.up)) }
    if seconds < 3600 { return "\(Int(seconds) / 60) min \(Int(seconds) % 60) s" }
    return "\(Int(seconds) / 3600) h \(Int(seconds) % 3600 / 60) min"
  }
}

extension CommandLineTool {
  /// A progress line for `label` when the tool shows progress, else nil.
  func progressLine(_ label: String, unit: String) -> ProgressLine? {
    showsProgress ? ProgressLine(label: label, unit: unit, write: standardError) : nil
  }
}
