import Foundation
import Reports
import XCTest

/// `attention-io bench`: options, errors, and a tiny run's JSON contract (debug builds time
/// nothing meaningful; these check the plumbing).
final class BenchCommandTests: XCTestCase {
  func testHelpListsTheOptionsAndTheBuildFlags() {
    let run = CapturedRun(["bench", "--help"])
    XCTAssertEqual(run.code, 0)
    for option in ["--json", "--threads 1|2", "--quick", "--kernels", "-DTILEKERNELS_AVX512", "-target-cpu"] {
      XCTAssertTrue(run.stdout.contains(option), option)
    }
  }

  func testUsageErrorsExitTwoWithOneLine() {
    for arguments in [["--threads", "3"], ["--seq-len", "64", "--quick"], ["--head-dim", "16"], ["--seq-len", "0"], ["--frobnicate"],
      ["--reps", "0"], ["--kernels", "--quick"], ["--kernels", "--threads", "2"], ["--kernels", "--seq-len", "64,128"],
      ["--seq-len", "100000"], ["--seq-len", "64", "--head-dim", "4096"], ["--kernels", "--seq-len", "10000000"],
    ] {
      let run = CapturedRun(["bench"] + arguments)
      XCTAssertEqual(run.code, 2, "\(arguments): \(run.stderr)")
      XCTAssertEqual(run.stdout, "", "\(arguments)")
      XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.stderr)")
    }
  }

  func testTinyRunPrintsTheJSONContract() throws {
    let run = CapturedRun(["bench", "--json", "--seq-len", "64", "--head-dim", "16", "--reps", "1", "--threads", "2"])
    XCTAssertEqual(run.code, 0, run.stderr)
    let json = try JSONValue.parse(run.stdout)
    XCTAssertNotNil(json["peakGflops"]?.doubleValue)
    XCTAssertNotNil(json["accountingOverhead"]?.doubleValue)
    let results = try XCTUnwrap(json["results"]?.arrayValue)
    XCTAssertEqual(results.count, 4)
    for result in results {
      for key in ["algorithm", "pass", "seqLen", "headDim", "threads", "medianSeconds", "gflops", "fractionOfPeak"] {
        XCTAssertNotNil(result[key], key)
      }
      XCTAssertEqual(result["threads"]?.intValue, 2)
    }
    XCTAssertEqual(Set(results.compactMap { $0["algorithm"]?.stringValue }), ["flash", "standard"])
    XCTAssertTrue(run.stderr.contains("bench: accounting overhead"), run.stderr)
  }

  func testKernelBreakdownPrintsItsParts() throws {
    let run = CapturedRun(["bench", "--kernels", "--json", "--seq-len", "40", "--head-dim", "8", "--reps", "1"])
    XCTAssertEqual(run.code, 0, run.stderr)
    let json = try JSONValue.parse(run.stdout)
    XCTAssertEqual(json["seqLen"]?.intValue, 40)
    XCTAssertEqual(json["headDim"]?.intValue, 8)
    let parts = try XCTUnwrap(json["parts"]?.arrayValue)
    XCTAssertEqual(parts.count, 5)
    XCTAssertNotNil(json["bareStepMicroseconds"]?.doubleValue)
    let table = CapturedRun(["bench", "--kernels", "--seq-len", "40", "--head-dim", "8", "--reps", "1"])
    XCTAssertEqual(table.code, 0, table.stderr)
    XCTAssertTrue(table.stdout.contains("O_i ← α·O_i + β·P̃·V_j"), table.stdout)
  }
}
