import AttentionIO
import Foundation
import XCTest
@testable import Reproduction

/// Issue 16, item 7: an interrupted `reproduce` never blocks the next one, and nothing the user
/// wrote is overwritten without --force.
final class InterruptedWriteTests: XCTestCase {
  func testAPartialSetUnderTheMarkerIsReplacedWithoutForce() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aio-partial-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let output = ReproductionOutputTests.output
    let names = output.files.map(\.name)
    // What a run killed after its third file leaves: the marker and three files.
    try (names.joined(separator: "\n") + "\n").write(
      toFile: directory + "/" + ReproductionOutput.incompleteMarker, atomically: true, encoding: .utf8)
    for name in names.prefix(3) { try "partial\n".write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
    XCTAssertNoThrow(try ReproductionOutput.prepare(directory: directory, files: names, overwrite: false))
    try output.write(to: directory, overwrite: false)
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/" + ReproductionOutput.incompleteMarker))
    for file in output.files {
      XCTAssertEqual(try String(contentsOfFile: directory + "/" + file.name, encoding: .utf8), file.contents, file.name)
    }
    XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: directory).allSatisfy { !$0.hasSuffix(".tmp") })
    // A complete set (no marker) still needs --force.
    XCTAssertThrowsError(try output.write(to: directory, overwrite: false))
  }

  func testAUserFileOfTheSameNameIsNotReplaced() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aio-user-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try "mine\n".write(toFile: directory + "/report.md", atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try ReproductionOutput.prepare(directory: directory, files: PaperReproduction.fileNames, overwrite: false))
    XCTAssertEqual(try String(contentsOfFile: directory + "/report.md", encoding: .utf8), "mine\n")
  }

  func testAtomicWritesTrackTheirTemporaryFileOnlyWhileWriting() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("aio-atomic-\(UUID().uuidString).txt").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try AtomicFile.write("x\n", to: path)
    XCTAssertFalse(TemporaryFiles.shared.current.contains { $0.contains((path as NSString).lastPathComponent) })
    // removeAll unlinks what is tracked.
    let stray = FileManager.default.temporaryDirectory.appendingPathComponent(".aio-stray-\(UUID().uuidString).tmp").path
    try "y".write(toFile: stray, atomically: false, encoding: .utf8)
    TemporaryFiles.shared.register(stray)
    TemporaryFiles.shared.removeAll()
    XCTAssertFalse(FileManager.default.fileExists(atPath: stray))
  }
}
