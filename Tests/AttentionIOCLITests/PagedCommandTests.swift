import Foundation
import Reports
import XCTest

final class PagedCommandTests: XCTestCase {
  func testDecodeJSONHasTheContractKeysAndMatchesTheClosedForm() throws {
    let run = CapturedRun([
      "paged", "decode", "--context-len", "37", "--batch", "2", "--block-size", "8", "--head-dim", "16", "--query-heads", "4",
      "--kv-heads", "2", "--splits", "3", "--mode", "execute", "--dtype", "fp32", "--format", "json",
    ])
    XCTAssertEqual(run.code, 0, run.stderr)
    let json = try JSONValue.parse(run.stdout)
    for path in [
      "hbm.readElements", "hbm.writeElements", "hbm.readBytes", "hbm.writeBytes", "hbm.byOperand", "closedForm.readElements",
      "closedForm.writeElements", "flops.matmul", "flops.other", "time.estimatedSeconds", "check.maxRelativeError",
      "problem.contextLength", "problem.blockSize", "problem.queryHeads", "problem.kvHeads", "problem.splits",
    ] {
      XCTAssertNotNil(json[path: path], path)
    }
    XCTAssertEqual(json[path: "hbm.readElements"]?.intValue, json[path: "closedForm.readElements"]?.intValue)
    XCTAssertEqual(json[path: "hbm.writeElements"]?.intValue, json[path: "closedForm.writeElements"]?.intValue)
    XCTAssertEqual(json[path: "closedForm.matches"], .bool(true))
    // ⌈37/8⌉ = 5 blocks of 8 tokens, read by each of 4 query heads of each of 2 sequences.
    XCTAssertEqual(json[path: "hbm.byOperand.K.readElements"]?.intValue, 2 * 4 * 5 * 8 * 16)
    XCTAssertEqual(json[path: "hbm.byOperand.BT.readElements"]?.intValue, 2 * 4 * 5)
    XCTAssertEqual(json[path: "hbm.byOperand.Opart.writeElements"]?.intValue, 2 * 3 * 4 * 16)
    XCTAssertEqual(json[path: "hbm.byOperand.L.readElements"]?.intValue, 2 * 3 * 4)
    XCTAssertLessThan(try XCTUnwrap(json[path: "check.maxRelativeError"]?.doubleValue), 1e-5)
  }

  func testDecodeDefaultsToOneSequenceOneHeadNoSplit() throws {
    let run = CapturedRun(["paged", "decode", "--context-len", "100", "--block-size", "16", "--head-dim", "64", "--format", "json"])
    XCTAssertEqual(run.code, 0, run.stderr)
    let json = try JSONValue.parse(run.stdout)
    XCTAssertEqual(json[path: "problem.batch"]?.intValue, 1)
    XCTAssertEqual(json[path: "problem.queryHeads"]?.intValue, 1)
    XCTAssertEqual(json[path: "problem.kvHeads"]?.intValue, 1)
    XCTAssertEqual(json[path: "problem.partitions"]?.intValue, 1)
    XCTAssertNil(json[path: "check"], "count mode has no numerical check")
    XCTAssertNil(json[path: "hbm.byOperand.Opart"])
    // q (64) + 7 entries + 2·7·16·64 reads; 2·64 + 64 writes.
    XCTAssertEqual(json[path: "hbm.readElements"]?.intValue, 64 + 7 + 2 * 7 * 16 * 64)
    XCTAssertEqual(json[path: "hbm.writeElements"]?.intValue, 3 * 64)
    XCTAssertEqual(json[path: "hbm.readBytes"]?.intValue, 2 * (64 + 2 * 7 * 16 * 64) + 4 * 7)
    let table = CapturedRun(["paged", "decode", "--context-len=100", "--block-size=16", "--head-dim=64"])
    XCTAssertEqual(table.code, 0)
    XCTAssertTrue(table.stdout.contains("matches the simulation exactly"), table.stdout)
  }

  func testWasteJSONHasTheAllocatorsArray() throws {
    let run = CapturedRun(["paged", "waste", "--workload", "sharegpt", "--requests", "120", "--rate", "20", "--block-size", "16", "--format", "json"])
    XCTAssertEqual(run.code, 0, run.stderr)
    let json = try JSONValue.parse(run.stdout)
    let allocators = try XCTUnwrap(json["allocators"]?.arrayValue)
    XCTAssertEqual(allocators.compactMap { $0["name"]?.stringValue }, ["orca-max", "orca-pow2", "orca-oracle", "paged"])
    for allocator in allocators {
      for key in ["name", "blockSize", "tokenStateShare", "reservedShare", "internalFragmentation", "externalFragmentation", "meanBatch"] {
        XCTAssertNotNil(allocator[key], key)
      }
    }
    XCTAssertEqual(allocators[3]["blockSize"]?.intValue, 16)
    XCTAssertEqual(allocators[0]["blockSize"], .null)
    XCTAssertGreaterThan(try XCTUnwrap(allocators[3]["tokenStateShare"]?.doubleValue), 0.9)
    XCTAssertEqual(json[path: "capacity.tokenSlots"]?.intValue, 15_728)
    let again = CapturedRun(["paged", "waste", "--workload", "sharegpt", "--requests", "120", "--rate", "20", "--block-size", "16", "--format", "json"])
    XCTAssertEqual(again.stdout, run.stdout, "deterministic for a seed")
  }

  func testWasteSweepsEveryBlockSizeByDefault() throws {
    let run = CapturedRun(["paged", "waste", "--workload", "alpaca", "--requests", "60", "--rate", "400", "--format", "json"])
    XCTAssertEqual(run.code, 0, run.stderr)
    let allocators = try XCTUnwrap(JSONValue.parse(run.stdout)["allocators"]?.arrayValue)
    XCTAssertEqual(allocators.compactMap { $0["blockSize"]?.intValue }, [1, 2, 4, 8, 16, 32, 64, 128, 256])
  }

  func testShareJSON() throws {
    let run = CapturedRun(["paged", "share", "--requests", "20", "--format", "json"])
    XCTAssertEqual(run.code, 0, run.stderr)
    let json = try JSONValue.parse(run.stdout)
    let parallel = try XCTUnwrap(json["parallelSampling"]?.arrayValue)
    let beam = try XCTUnwrap(json["beamSearch"]?.arrayValue)
    XCTAssertEqual(parallel.compactMap { $0["outputs"]?.intValue }, [2, 4, 6])
    XCTAssertEqual(beam.compactMap { $0["width"]?.intValue }, [2, 4, 6])
    for entry in parallel + beam { XCTAssertNotNil(entry["savedShare"]?.doubleValue) }
  }

  func testErrorsAreOneLineWithTheRightExitCode() {
    let usage: [[String]] = [
      ["paged", "frobnicate"],
      ["paged", "decode", "--block-size", "16", "--head-dim", "8"],
      ["paged", "decode", "--context-len", "10", "--head-dim", "8"],
      ["paged", "decode", "--context-len", "10", "--block-size", "16"],
      ["paged", "decode", "--context-len", "0", "--block-size", "16", "--head-dim", "8"],
      ["paged", "decode", "--context-len", "10", "--block-size", "16", "--head-dim", "8", "--query-heads", "6", "--kv-heads", "4"],
      ["paged", "decode", "--context-len", "10", "--block-size", "16", "--head-dim", "8", "--splits", "0"],
      ["paged", "decode", "--context-len", "10", "--block-size", "16", "--head-dim", "8", "--mode", "fast"],
      ["paged", "decode", "--context-len", "10", "--block-size", "16", "--head-dim", "8", "--kv-reads", "sometimes"],
      ["paged", "decode", "--context-len", "10", "--block-size", "16", "--head-dim", "8", "--device", "tpu"],
      ["paged", "waste"],
      ["paged", "waste", "--workload", "wikipedia"],
      ["paged", "waste", "--workload", "alpaca", "--requests", "-3"],
      ["paged", "waste", "--workload", "alpaca", "--block-size", "99999"],
      ["paged", "waste", "--workload", "alpaca", "--rate", "0"],
      ["paged", "share", "--block-size", "0"],
    ]
    for arguments in usage {
      let run = CapturedRun(arguments)
      XCTAssertEqual(run.code, 2, "\(arguments): \(run.stderr)")
      XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.stderr)")
      XCTAssertTrue(run.stderr.hasPrefix("error: "), run.stderr)
    }
    let overflow = CapturedRun(["paged", "decode", "--context-len", "10", "--block-size", "256", "--head-dim", "256"])
    XCTAssertEqual(overflow.code, 1, overflow.stderr)
    XCTAssertEqual(overflow.stderr.filter { $0 == "\n" }.count, 1, overflow.stderr)
    XCTAssertTrue(overflow.stderr.contains("SRAM"), overflow.stderr)
  }

  func testHelpDescribesTheSubcommandsAndFlags() {
    let root = CapturedRun(["paged", "--help"])
    XCTAssertEqual(root.code, 0)
    for sub in ["decode", "waste", "share"] { XCTAssertTrue(root.stdout.contains(sub), sub) }
    let decode = CapturedRun(["paged", "decode", "--help"])
    for flag in ["--context-len", "--batch", "--block-size", "--head-dim", "--query-heads", "--kv-heads", "--splits", "--mode", "--format", "--device", "--dtype", "--seed"] {
      XCTAssertTrue(decode.stdout.contains(flag), flag)
    }
    let waste = CapturedRun(["paged", "waste", "--help"])
    for flag in ["--workload", "--seed", "--requests", "--block-size", "--format"] { XCTAssertTrue(waste.stdout.contains(flag), flag) }
  }
}
