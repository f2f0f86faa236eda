import AttentionIO
import Foundation
import XCTest

final class BackwardCommandTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("attention-io-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  func testPassesAreReportedSeparatelyAndSumToTheTotals() throws {
    for algorithm in ["standard", "standard-unfused", "flash", "flash2"] {
      let run = CapturedRun(["simulate", "--algorithm", algorithm, "--pass", "both", "--seq-len", "40", "--head-dim", "8",
        "--causal", "--dropout", "0.1", "--batch", "2", "--valid-lengths", "40,17", "--format", "json", "--mode", "execute", "--dtype", "fp32"])
      XCTAssertEqual(run.code, 0, run.stderr)
      let json = try JSONValue.parse(run.stdout)
      for pass in ["forward", "backward"] {
        for key in ["readElements", "writeElements"] {
          XCTAssertNotNil(json[path: "passes.\(pass).hbm.\(key)"], "\(algorithm) \(pass) \(key)")
        }
      }
      let total = try XCTUnwrap(json[path: "hbm.readElements"]?.intValue)
      let parts = try XCTUnwrap(json[path: "passes.forward.hbm.readElements"]?.intValue) + XCTUnwrap(json[path: "passes.backward.hbm.readElements"]?.intValue)
      XCTAssertEqual(total, parts, algorithm)
      XCTAssertEqual(json[path: "closedForm.matches"], .bool(true), algorithm)
      XCTAssertLessThan(try XCTUnwrap(json[path: "check.maxRelativeError"]?.doubleValue), 1e-4, algorithm)
      XCTAssertNotNil(json[path: "check.byTensor.dK"], algorithm)
    }
    let backwardOnly = try JSONValue.parse(CapturedRun(["simulate", "--algorithm", "flash", "--pass", "backward", "--seq-len", "64", "--head-dim", "8", "--format", "json"]).stdout)
    XCTAssertEqual(backwardOnly[path: "hbm.readElements"], backwardOnly[path: "passes.backward.hbm.readElements"])
    XCTAssertNotNil(backwardOnly[path: "passes.forward.hbm.readElements"], "the implied forward is reported")
  }

  func testNPYInputsAndOutputsRoundTrip() throws {
    let (n, d) = (12, 4)
    var values: [String: [Float]] = [:]
    for (index, name) in ["q", "k", "v", "do"].enumerated() {
      values[name] = (0..<n * d).map { Float(sin(Double($0 * 7 + index * 13))) }
      try NPY.write(NPYArray(shape: [n, d], values: values[name]!), to: directory.appendingPathComponent("\(name).npy").path)
    }
    let out = directory.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let arguments = ["simulate", "--algorithm", "flash", "--pass", "both", "--seq-len", "\(n)", "--head-dim", "\(d)", "--mode", "execute",
      "--dtype", "fp32", "--inputs", directory.path, "--output-dir", out.path]
    let run = CapturedRun(arguments)
    XCTAssertEqual(run.code, 0, run.stderr)
    let o = try NPY.read(path: out.appendingPathComponent("o.npy").path)
    XCTAssertEqual(o.shape, [n, d])
    let exact = ReferenceAttention.gradients(
      queries: values["q"]!, keys: values["k"]!, values: values["v"]!, outputGradient: values["do"]!,
      sequenceLength: n, headDimension: d, scale: 1 / Float(d).squareRoot())
    XCTAssertLessThan(ReferenceAttention.maxRelativeError(o.values, exact.output), 1e-5)
    let dk = try NPY.read(path: out.appendingPathComponent("dk.npy").path)
    XCTAssertLessThan(ReferenceAttention.maxRelativeError(dk.values, exact.dK), 1e-4)
    // Outputs are never overwritten without --force.
    let again = CapturedRun(arguments)
    XCTAssertEqual(again.code, 1)
    XCTAssertTrue(again.stderr.contains("already exists"), again.stderr)
    XCTAssertEqual(CapturedRun(arguments + ["--force"]).code, 0)
    // A missing output directory is created (as `reproduce --out` does); a file is refused.
    let fresh = directory.appendingPathComponent("new/nested")
    let created = CapturedRun(arguments.dropLast() + [fresh.path])
    XCTAssertEqual(created.code, 0, created.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: fresh.appendingPathComponent("dv.npy").path))
    let file = directory.appendingPathComponent("q.npy")
    let refused = CapturedRun(arguments.dropLast() + [file.path])
    XCTAssertEqual(refused.code, 1)
    XCTAssertTrue(refused.stderr.contains("not a directory"), refused.stderr)
    XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
  }

  func testBadNPYFilesAndMaskFlagsAreOneLineUsageErrors() throws {
    try Data("not numpy".utf8).write(to: directory.appendingPathComponent("q.npy"))
    for name in ["k", "v"] {
      try NPY.write(NPYArray(shape: [4, 2], values: [Float](repeating: 1, count: 8)), to: directory.appendingPathComponent("\(name).npy").path)
    }
    let base = ["simulate", "--algorithm", "flash", "--seq-len", "4", "--head-dim", "2"]
    let cases: [([String], String)] = [
      (base + ["--mode", "execute", "--inputs", directory.path], "q.npy"),
      (base + ["--inputs", directory.path], "--mode execute"),
      (base + ["--batch", "2", "--valid-lengths", "3"], "valid lengths"),
      (base + ["--valid-lengths", "9"], "outside"),
      (base + ["--valid-lengths", "x"], "valid-lengths"),
      (base + ["--dropout", "1"], "dropout"),
      (base + ["--pass", "sideways"], "--pass"),
    ]
    for (arguments, fragment) in cases {
      let run = CapturedRun(arguments)
      XCTAssertEqual(run.code, 2, "\(arguments): \(run.stderr)")
      XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, run.stderr)
      XCTAssertTrue(run.stderr.contains(fragment), "\(fragment) not in \(run.stderr)")
    }
    try NPY.write(NPYArray(shape: [5, 2], values: [Float](repeating: 1, count: 10)), to: directory.appendingPathComponent("q.npy").path, overwrite: true)
    let shape = CapturedRun(base + ["--mode", "execute", "--inputs", directory.path])
    XCTAssertEqual(shape.code, 2)
    XCTAssertTrue(shape.stderr.contains("q.npy") && shape.stderr.contains("[5, 2]"), shape.stderr)
  }
}
