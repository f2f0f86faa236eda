import AttentionIO
import AttentionIOCLI
import Foundation
import XCTest

/// `simulate --kernel` and `validate`: their numbers come from the GPU model, nothing else.
final class GPUCommandTests: XCTestCase {
  func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  func testSimulateKernelJSONCarriesTheModelsNumbers() throws {
    let run = CapturedRun([
      "simulate", "--kernel", "fa2", "--device", "h200", "--seq-len", "300", "--head-dim", "64", "--heads", "2", "--format", "json",
      "--threads", "1",
    ])
    XCTAssertEqual(run.code, 0, run.stderr)
    let json = try JSONValue.parse(run.stdout)
    let report = try GPUTrafficModel.run(
      preset: FlashAttention2Preset(),
      workload: AttentionWorkload(batch: 1, heads: 2, sequenceLength: 300, headDimension: 64, causal: false, pass: .forward),
      device: .h200)
    XCTAssertEqual(json[path: "gpu.kernel"], .string("fa2"))
    XCTAssertEqual(json[path: "gpu.smCount"], .int(132))
    XCTAssertEqual(json[path: "gpu.ctasPerSM"], .int(2))
    XCTAssertEqual(json[path: "gpu.dram.readBytes"], .int(report.dramReadBytes))
    XCTAssertEqual(json[path: "gpu.dram.writeBytes"], .int(report.dramWriteBytes))
    XCTAssertEqual(json[path: "gpu.l2.readSectors"], .int(report.total.readSectors))
    XCTAssertEqual(json[path: "gpu.l2.writeSectors"], .int(report.total.writeSectors))
    XCTAssertNotNil(json[path: "gpu.l2.hitRate"])
    guard case let .array(kernels)? = json[path: "gpu.kernels"] else { return XCTFail("gpu.kernels is missing") }
    XCTAssertEqual(kernels.count, 1)
  }

  func testSimulateKernelWritesNsightNamedCSVAndRefusesPaperOptions() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let csv = directory.appendingPathComponent("model.csv").path
    let run = CapturedRun([
      "simulate", "--kernel", "fa2", "--device", "h100-sxm", "--seq-len", "200", "--head-dim", "64", "--pass", "both", "--heads", "2",
      "--csv", csv,
    ])
    XCTAssertEqual(run.code, 0, run.stderr)
    let text = try String(contentsOfFile: csv, encoding: .utf8)
    let lines = text.split(separator: "\n")
    XCTAssertEqual(lines.count, 7, "a header and one row per kernel")
    for metric in ["dram__bytes_read.sum", "dram__bytes_write.sum", "lts__t_sectors_srcunit_tex_op_read.sum", "lts__t_sectors_srcunit_tex_op_write.sum"] {
      XCTAssertTrue(lines[0].contains(metric), metric)
    }
    let again = CapturedRun(["simulate", "--kernel", "fa2", "--seq-len", "200", "--head-dim", "64", "--csv", csv])
    XCTAssertEqual(again.code, 2, "an existing file is not overwritten without --force")

    for arguments in [
      ["--algorithm", "flash"], ["--block-rows", "64", "--block-cols", "64"], ["--mode", "execute"], ["--dtype", "fp32"],
      ["--pass", "backward"], ["--device", "nowhere"],
    ] {
      let refused = CapturedRun(["simulate", "--kernel", "fa2", "--seq-len", "64", "--head-dim", "64"] + arguments)
      XCTAssertEqual(refused.code, 2, "\(arguments)")
      XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
    }
    let paper = CapturedRun(["simulate", "--algorithm", "flash", "--seq-len", "64", "--head-dim", "64", "--l2-between-kernels", "keep"])
    XCTAssertEqual(paper.code, 2, "the paper model takes no L2 options")
  }

  /// validate's errors are (model − measured) / measured with the model run on the row: shift
  /// the measured numbers and the reported errors follow.
  func testValidateComputesErrorsFromTheModel() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let workload = try AttentionWorkload(batch: 2, heads: 2, sequenceLength: 320, headDimension: 64, causal: true, pass: .forward)
    let report = try GPUTrafficModel.run(preset: FlashAttention2Preset(), workload: workload, device: .h100SXM)
    for (scale, expected) in [(1.0, 0.0), (2.0, -0.5), (0.5, 1.0)] {
      let read = Int(Double(report.dramReadBytes) * scale)
      let sectors = Int(Double(report.total.readSectors) * scale)
      let write = max(1, Int(Double(report.dramWriteBytes) * scale))
      let file = directory.appendingPathComponent("m\(scale).csv").path
      try """
        gpu,implementation,pass,batch,heads,seq_len,head_dim,causal,kernels,dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sectors_srcunit_tex_op_read.sum
        NVIDIA H100 80GB HBM3 (132 SMs; 50 MiB L2),sdpa-flash-fa2,forward,2,2,320,64,1,1,\(read),\(write),\(sectors)

        """.write(toFile: file, atomically: true, encoding: .utf8)
      let run = CapturedRun(["validate", "--measured", file, "--format", "json", "--threads", "1"])
      XCTAssertEqual(run.code, 0, run.stderr)
      let json = try JSONValue.parse(run.stdout)
      guard case let .array(rows)? = json["rows"], let row = rows.first else { return XCTFail("no rows") }
      XCTAssertEqual(row[path: "dramRead.predicted"], .int(report.dramReadBytes))
      XCTAssertEqual(row[path: "dramRead.measured"], .int(read))
      func number(_ value: JSONValue?) -> Double? {
        switch value {
        case let .double(x)?: return x
        case let .int(x)?: return Double(x)
        default: return nil
        }
      }
      guard let readError = number(row[path: "dramRead.relativeError"]), let sectorError = number(row[path: "l2ReadSectors.relativeError"])
      else { return XCTFail("errors missing: \(run.stdout)") }
      XCTAssertEqual(readError, expected, accuracy: 1e-6, "scale \(scale)")
      XCTAssertEqual(sectorError, expected, accuracy: 1e-6, "scale \(scale)")
    }
  }

  func testValidateRejectsMalformedFilesWithOneLine() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    for (name, text) in [
      ("header", "gpu,implementation\nH100,sdpa-flash-fa2\n"),
      ("number", "gpu,implementation,pass,batch,heads,seq_len,head_dim,causal,dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sectors_srcunit_tex_op_read.sum\nH100,sdpa-flash-fa2,forward,1,1,x,64,0,1,1,1\n"),
      ("gpu", "gpu,implementation,pass,batch,heads,seq_len,head_dim,causal,dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sectors_srcunit_tex_op_read.sum\nVoodoo2,sdpa-flash-fa2,forward,1,1,64,64,0,1,1,1\n"),
      ("quote", "gpu,implementation\n\"H100,sdpa\n"),
    ] {
      let file = directory.appendingPathComponent("\(name).csv").path
      try text.write(toFile: file, atomically: true, encoding: .utf8)
      let run = CapturedRun(["validate", "--measured", file])
      XCTAssertEqual(run.code, 2, name)
      XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, "\(name): \(run.stderr)")
    }
  }
}

extension GPUCommandTests {
  func testCSVFolderIsCreatedWhenOnlyItIsMissing() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let csv = directory.appendingPathComponent("out/model.csv").path
    let run = CapturedRun(["simulate", "--kernel", "fa2", "--seq-len", "128", "--head-dim", "64", "--csv", csv])
    XCTAssertEqual(run.code, 0, run.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: csv))
    let deeper = directory.appendingPathComponent("a/b/model.csv").path
    let refused = CapturedRun(["simulate", "--kernel", "fa2", "--seq-len", "128", "--head-dim", "64", "--csv", deeper])
    XCTAssertEqual(refused.code, 1)
    XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
  }
}

extension GPUCommandTests {
  func testGPUFileIsAcceptedAndAPaperDeviceFileIsNot() throws {
    let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Examples/devices")
    let gpu = examples.appendingPathComponent("l40s-gpu.json").path
    let run = CapturedRun(["simulate", "--kernel", "fa2", "--device", gpu, "--seq-len", "256", "--head-dim", "64", "--format", "json"])
    XCTAssertEqual(run.code, 0, run.stderr)
    XCTAssertEqual(try JSONValue.parse(run.stdout)[path: "gpu.device"], .string("l40s"))
    XCTAssertEqual(try JSONValue.parse(run.stdout)[path: "gpu.smCount"], .int(142))
    let paper = examples.appendingPathComponent("my-gpu.json").path
    let refused = CapturedRun(["simulate", "--kernel", "fa2", "--device", paper, "--seq-len", "256", "--head-dim", "64"])
    XCTAssertEqual(refused.code, 2)
    XCTAssertTrue(refused.stderr.contains("\"l2\""), refused.stderr)
    XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1)
  }
}
