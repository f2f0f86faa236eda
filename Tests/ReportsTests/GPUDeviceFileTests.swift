import Foundation
import GPUModel
import MemoryHierarchy
import Reports
import XCTest

/// GPU files for `simulate --kernel --device FILE.json`: round trips, the example, and errors
/// that name the field.
final class GPUDeviceFileTests: XCTestCase {
  func testEveryPresetRoundTrips() throws {
    for preset in GPUDeviceSpec.presets {
      let text = GPUDeviceFile.json(for: preset).serialized(pretty: true)
      XCTAssertTrue(GPUDeviceFile.isGPUFile(text))
      XCTAssertEqual(try GPUDeviceFile.parse(text), preset, preset.name)
    }
    XCTAssertFalse(GPUDeviceFile.isGPUFile(DeviceFile.json(for: .a100_40GB).serialized()))
  }

  func testTheExampleFileParses() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Examples/devices/l40s-gpu.json")
    let spec = try GPUDeviceFile.parse(try String(contentsOf: url, encoding: .utf8))
    XCTAssertEqual(spec.name, "l40s")
    XCTAssertEqual(spec.l2.capacityInBytes, 100_663_296)
    XCTAssertEqual(spec.blocksPerSM(CTAResources(threads: 128, registersPerThread: 255, sharedMemoryBytes: 49_152)), 2)
  }

  func testErrorsNameTheField() throws {
    let good = GPUDeviceFile.json(for: .h100SXM).serialized()
    let cases: [(String, String)] = [
      (good.replacingOccurrences(of: "\"lineBytes\":128", with: "\"lineBytes\":100"), "l2.lineBytes"),
      (good.replacingOccurrences(of: "\"lineBytes\":128", with: "\"lineBytes\":256"), "l2.lineBytes"),
      (good.replacingOccurrences(of: "\"lineBytes\":128,", with: ""), "l2.lineBytes"),
      (good.replacingOccurrences(of: "\"capacityBytes\":52428800", with: "\"capacityBytes\":4611686018427387904"), "l2.capacityBytes"),
      (good.replacingOccurrences(of: "\"maxBlocksPerSM\":32", with: "\"maxBlocksPerSM\":0"), "maxBlocksPerSM"),
      (good.replacingOccurrences(of: "\"name\":", with: "\"nmae\":"), "nmae"),
      (good.replacingOccurrences(of: "\"partitions\":2", with: "\"partitions\":\"two\""), "l2.partitions"),
      ("{\"l2\": 3", "json"),
    ]
    for (text, field) in cases {
      XCTAssertThrowsError(try GPUDeviceFile.parse(text), field) { error in
        XCTAssertTrue(String(describing: error).contains(field), "\(field): \(error)")
      }
    }
  }
}
