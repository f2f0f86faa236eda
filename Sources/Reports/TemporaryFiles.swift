import Foundation

/// The temporary files being written right now (by `AtomicFile`), so that an interrupted
/// process can remove them: the command-line tool's SIGINT/SIGTERM handler calls `removeAll()`.
///
/// Process-wide by nature (a signal interrupts the process, not a call), hence one shared,
/// locked registry: the only global state of the package.
public final class TemporaryFiles: @unchecked Sendable {
  public static let shared = TemporaryFiles()

  private let lock = NSLock()
  private var paths: Set<String> = []

  /// Starts tracking `path`.
  public func register(_ path: String) {
    lock.lock()
    paths.insert(path)
    lock.unlock()
  }

  /// Stops tracking `path` (it was renamed into place or removed).
  public func unregister(_ path: String) {
    lock.lock()
    paths.remove(path)
    lock.unlock()
  }

  /// The paths tracked now.
  public var current: Set<String> {
    lock.lock()
    defer { lock.unlock() }
    return paths
  }

  /// Removes every tracked file (best effort) and stops tracking them.
  public func removeAll() {
    lock.lock()
    let all = paths
    paths.removeAll()
    lock.unlock()
    for path in all { unlink(path) }
  }
}
