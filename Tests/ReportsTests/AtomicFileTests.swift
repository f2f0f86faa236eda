import Foundation
import Reports
import XCTest

final class AtomicFileTests: XCTestCase {
  func testWritesRefusesToOverwriteAndOverwritesWhenAsked() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("out.txt").path
    try AtomicFile.write("one", to: path)
    XCTAssertThrowsError(try AtomicFile.write("two", to: path)) { error in
      XCTAssertEqual(error as? AtomicFile.WriteError, .exists(path))
    }
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "one")
    try AtomicFile.write("three", to: path, overwrite: true)
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "three")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.txt"], "no temporary files left")
    XCTAssertThrowsError(try AtomicFile.write("x", to: dir.appendingPathComponent("missing/out.txt").path))
  }
}
