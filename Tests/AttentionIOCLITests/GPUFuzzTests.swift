import AttentionIOCLI
import Foundation
import XCTest
import _TestSupport

/// Seeded random argument vectors for `simulate --kernel` and `validate`: every run exits 0, 1
/// or 2, never traps, and a failure is exactly one line on stderr.
final class GPUFuzzTests: XCTestCase {
  func testRandomGPUModelArgumentsNeverTrap() throws {
    let seed: UInt64 = 0x6B_E1
    print("GPUFuzzTests seed: \(seed)")
    var random = SplitMix64(seed: seed)
    func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
    // Each option: values a run takes, then values it must refuse (picked one time in eight).
    let options: [(String, [String], [String])] = [
      ("--seq-len", ["1", "7", "64", "129", "300"], ["0", "-5", "x", "9223372036854775807", "4611686018427387904", ""]),
      ("--head-dim", ["32", "64", "96", "128"], ["0", "-1", "nan", "300", "9223372036854775807"]),
      ("--batch", ["1", "2", "3"], ["0", "99999999999999"]),
      ("--heads", ["1", "2", "5"], ["0", "-3"]),
      ("--device", ["h100-sxm", "h200", "a100-40gb", "rtx3090", "t4", "teaching"], ["nowhere", "Examples/devices/my-gpu.json"]),
      ("--pass", ["forward", "both"], ["backward", "sideways"]),
      ("--dtype", ["fp16", "bf16"], ["fp32"]),
      ("--l2-between-kernels", ["flush", "keep"], ["never"]),
      ("--threads", ["1", "2"], ["0"]),
      ("--format", ["table", "json"], ["xml"]),
    ]
    var codes: [Int32: Int] = [:]
    for index in 0..<300 {
      var arguments = ["simulate", "--kernel", random.next() % 8 == 0 ? pick(["paper", "bogus", ""]) : pick(["fa1", "fa2", "fa3", "pytorch-explicit"])]
      for (option, good, bad) in options where option == "--seq-len" || option == "--head-dim" || random.next() % 2 == 0 {
        arguments += [option, random.next() % 8 == 0 ? pick(bad) : pick(good)]
      }
      if random.next() % 4 == 0 { arguments.append("--causal") }
      // Options of the paper model, which --kernel refuses (no --csv: it would write a file here).
      if random.next() % 10 == 0 { arguments += [pick(["--algorithm", "--block-rows", "--mode"]), pick(["flash", "64", "execute", ""])] }
      let run = CapturedRun(arguments)
      codes[run.code, default: 0] += 1
      XCTAssertTrue([0, 1, 2].contains(run.code), "vector \(index): \(arguments) exited \(run.code)")
      if run.code != 0 {
        XCTAssertEqual(run.stderr.split(separator: "\n", omittingEmptySubsequences: false).count, 2, "vector \(index): \(arguments): \(run.stderr)")
      }
    }
    print("GPUFuzzTests exit codes: \(codes.sorted { $0.key < $1.key })")
    XCTAssertGreaterThan(codes[0, default: 0], 10, "some vectors should run")
  }
}
