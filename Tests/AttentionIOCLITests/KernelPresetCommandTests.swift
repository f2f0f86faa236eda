import Foundation
import XCTest

/// `simulate --kernel fa1|fa3`: the presets run from the command line, and a GPU they do not run
/// on is one clear line and exit 1.
final class KernelPresetCommandTests: XCTestCase {
  func testFlashAttention1AndThreeRunAndReportTheirKernels() throws {
    let cases: [(kernel: String, device: String, names: [String])] = [
      ("fa1", "a100-40gb", ["fmha_fwd_loop_kernel", "fmha_bwd_dq_dk_dv_loop_kernel"]),
      ("fa3", "h200", ["FlashAttnFwdSm90"]),
    ]
    for c in cases {
      let pass = c.kernel == "fa1" ? "both" : "forward"
      let run = CapturedRun([
        "simulate", "--kernel", c.kernel, "--device", c.device, "--seq-len", "300", "--head-dim", "64", "--batch", "2", "--heads", "40",
        "--pass", pass, "--format", "json",
      ])
      XCTAssertEqual(run.code, 0, run.stderr)
      let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
      let gpu = try XCTUnwrap(json["gpu"] as? [String: Any])
      XCTAssertEqual(gpu["kernel"] as? String, c.kernel)
      let kernels = try XCTUnwrap(gpu["kernels"] as? [[String: Any]])
      XCTAssertEqual(kernels.compactMap { $0["name"] as? String }, c.names, c.kernel)
    }
  }

  func testAGPUThePresetDoesNotRunOnIsOneLineAndExitOne() {
    for arguments in [
      ["--kernel", "fa1", "--device", "h200"], ["--kernel", "fa3", "--device", "a100-40gb"],
      ["--kernel", "fa3", "--device", "h200", "--pass", "both"],
    ] {
      let run = CapturedRun(["simulate", "--seq-len", "256", "--head-dim", "64"] + arguments)
      XCTAssertEqual(run.code, 1, "\(arguments): \(run.stderr)")
      XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.stderr)")
      XCTAssertTrue(run.stdout.isEmpty, "\(arguments): \(run.stdout)")
    }
  }
}
