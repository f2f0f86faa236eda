import Foundation
import Reports
import XCTest

/// Docs/Design.md's kernel table is the registry's: adding a kernel without updating the Docs fails
/// (`KERNEL_TABLE_UPDATE=1 swift test --filter KernelTableTests` rewrites it).
final class KernelTableTests: XCTestCase {
  func testDesignDocListsEveryRegisteredKernel() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Docs/Design.md")
    var doc = try String(contentsOf: url, encoding: .utf8)
    let start = try XCTUnwrap(doc.range(of: "<!-- kernel-table: begin -->\n"))
    let end = try XCTUnwrap(doc.range(of: "<!-- kernel-table: end -->"))
    let table = String(doc[start.upperBound..<end.lowerBound])
    // To accept a change of the registry, run once with KERNEL_TABLE_UPDATE=1 and review the diff.
    if ProcessInfo.processInfo.environment["KERNEL_TABLE_UPDATE"] == "1" {
      doc.replaceSubrange(start.upperBound..<end.lowerBound, with: KernelTable.markdown())
      try doc.write(to: url, atomically: true, encoding: .utf8)
      return
    }
    XCTAssertEqual(table, KernelTable.markdown(), "Docs/Design.md's kernel table should read:\n\(KernelTable.markdown())")
  }
}
