import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that readers never see a half-written file and nothing the user has is
/// overwritten by accident: the bytes go to a temporary file in the same directory, which is
/// then renamed over the target.
public enum AtomicFile {
  /// Errors are one line each, naming the path.
  public enum WriteError: Error, Equatable, CustomStringConvertible {
    case exists(String)
    case failed(path: String, reason: String)

    public var description: String {
      switch self {
      case let .exists(path): return "\(path) already exists (pass --force to overwrite it)"
      case let .failed(path, reason): return "cannot write \(path): \(reason)"
      }
    }
  }

  /// Writes `data` to `path` atomically.
  /// - Parameter overwrite: when false (the default) an existing file is an error.
  public static func write(_ data: Data, to path: String, overwrite: Bool = false) throws {
    let url = URL(fileURLWithPath: path)
    let manager = FileManager.default
    if !overwrite, manager.fileExists(atPath: url.path) { throw WriteError.exists(path) }
    let directory = url.deletingLastPathComponent()
    var isDirectory: ObjCBool = false
    guard manager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw WriteError.failed(path: path, reason: "directory \(directory.path) does not exist")
    }
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
    // Tracked while it exists, so SIGINT or SIGTERM can remove it (see `TemporaryFiles`).
    TemporaryFiles.shared.register(temporary.path)
    defer { TemporaryFiles.shared.unregister(temporary.path) }
    do {
      try data.write(to: temporary)
      if overwrite {
        // rename(2) replaces the target atomically. (FileManager.replaceItemAt on Linux removes
        // the target first and can lose it.)
        guard rename(temporary.path, url.path) == 0 else {
          throw WriteError.failed(path: path, reason: String(cString: strerror(errno)))
        }
      } else {
        try manager.moveItem(at: temporary, to: url)
      }
    } catch let error as WriteError {
      try? manager.removeItem(at: temporary)
      throw error
    } catch {
      try? manager.removeItem(at: temporary)
      throw WriteError.failed(path: path, reason: error.localizedDescription)
    }
  }

  /// Writes UTF-8 text atomically.
  public static func write(_ text: String, to path: String, overwrite: Bool = false) throws {
    try write(Data(text.utf8), to: path, overwrite: overwrite)
  }
}
