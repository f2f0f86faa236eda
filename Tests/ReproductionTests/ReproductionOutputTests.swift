import AttentionIO
import Foundation
import XCTest
@testable import Reproduction

/// The whole quick reproduction: the files it writes, their contracts, the report's claims table.
final class ReproductionOutputTests: XCTestCase {
  /// One quick run shared by the tests of this class.
  static let output: ReproductionOutput = {
    do {
      return try PaperReproduction.run(ReproductionOptions(scale: .quick, threads: 2, commandLine: "attention-io reproduce --quick --out /tmp/x"))
    } catch {
      fatalError("the quick reproduction failed: \(error)")
    }
  }()

  func testEveryFileIsProducedOnceAndNamedAsDocumented() {
    let names = Self.output.files.map(\.name)
    XCTAssertEqual(Set(names), Set(PaperReproduction.fileNames))
    XCTAssertEqual(names.count, Set(names).count)
    for name in PaperReproduction.experimentNames { XCTAssertTrue(names.contains(name + ".csv"), name) }
  }

  func testCSVHeadersAreTheContract() throws {
    func header(_ name: String) throws -> String {
      let file = try XCTUnwrap(Self.output.files.first { $0.name == name })
      return String(file.contents.split(separator: "\n").first ?? "")
    }
    XCTAssertEqual(try header("theorem2.csv"), "experiment,N,d,M,algorithm,elements")
    XCTAssertEqual(try header("theorem5.csv"), "experiment,N,d,M,algorithm,elements")
    XCTAssertEqual(try header("figure2-left.csv"), "implementation,hbm_gb,gflops,runtime_ms")
    let theorem2 = try XCTUnwrap(Self.output.files.first { $0.name == "theorem2.csv" }).contents
    for experiment in ["sequence-length", "sram-size", "head-dimension"] {
      XCTAssertTrue(theorem2.contains("\n\(experiment),"), experiment)
    }
  }

  func testReportHasEveryClaimEveryPlotAndTheCommandLine() throws {
    let report = try XCTUnwrap(Self.output.files.first { $0.name == "report.md" }).contents
    XCTAssertTrue(report.contains("attention-io reproduce --quick --out /tmp/x"))
    for claim in Self.output.claims { XCTAssertTrue(report.contains(claim.statement), claim.statement) }
    for file in Self.output.files where file.name.hasSuffix(".svg") {
      XCTAssertTrue(report.contains("](\(file.name))"), "report embeds \(file.name)")
    }
    for name in PaperReproduction.experimentNames { XCTAssertTrue(report.contains("<a id=\"\(name)\"></a>"), name) }
    XCTAssertTrue(report.contains("## Closing note"))
  }

  func testOnlyTheDocumentedClaimsFallShort() {
    // Every claim holds at the quick sizes except those whose notes explain a difference.
    let failing = Self.output.claims.filter { $0.verdict == .fails }
    XCTAssertEqual(failing.map(\.statement), [])
    let partly = Set(Self.output.claims.filter { $0.verdict == .partly }.map(\.source))
    XCTAssertTrue(partly.isSubset(of: ["Thm 2", "Thm 5", "Fig. 2 left", "Table 11 (N = 4K)", "§4.3, Table 21"]), "\(partly)")
  }

  func testWriteIsAtomicCreatesTheDirectoryAndRefusesToOverwrite() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("repro-\(UUID().uuidString)/nested").path
    defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
    try Self.output.write(to: directory, overwrite: false)
    let written = try FileManager.default.contentsOfDirectory(atPath: directory)
    XCTAssertEqual(Set(written), Set(PaperReproduction.fileNames), "no temporary files left behind")
    XCTAssertThrowsError(try Self.output.write(to: directory, overwrite: false)) { error in
      guard case let ReproductionError.exists(path, others)? = error as? ReproductionError else { return XCTFail("\(error)") }
      XCTAssertTrue(path.hasPrefix(directory))
      XCTAssertEqual(others, PaperReproduction.fileNames.count - 1)
      XCTAssertFalse(String(describing: error).contains("\n"))
    }
    XCTAssertNoThrow(try Self.output.write(to: directory, overwrite: true))
  }
}
