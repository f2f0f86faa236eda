import Foundation
import MemoryHierarchy
import Reports
import XCTest

final class DeviceFileTests: XCTestCase {
  var exampleURL: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Examples/devices/my-gpu.json")
  }

  func testTheExampleFileParses() throws {
    let spec = try DeviceFile.parse(try String(contentsOf: exampleURL, encoding: .utf8))
    XCTAssertEqual(spec.name, "my-gpu")
    XCTAssertEqual(spec.sramCapacityInBytes, 131_072)
    XCTAssertEqual(spec.streamingMultiprocessors, 84)
    XCTAssertEqual(spec.hbmBytesPerSecond, 1e12)
    XCTAssertEqual(spec.matmulFLOPsPerSecond, 150e12)
  }

  func testPresetsRoundTrip() throws {
    for preset in MachineSpec.presets {
      XCTAssertEqual(try DeviceFile.parse(DeviceFile.json(for: preset).serialized(pretty: true)), preset)
    }
  }

  func testErrorsNameTheField() throws {
    let good = try String(contentsOf: exampleURL, encoding: .utf8)
    let cases: [(String, String, String)] = [
      ("\"count\": 84", "\"count\": 0", "levels.sram.count"),
      ("\"count\": 84", "\"count\": 8.5", "levels.sram.count"),
      ("\"capacityBytes\": 131072", "\"capacityBytes\": \"big\"", "levels.sram.capacityBytes"),
      ("\"bytesPerSecond\": 1.0e12", "\"bytesPerSecond\": -1", "levels.hbm.bytesPerSecond"),
      ("\"matmulFLOPsPerSecond\": 150e12,", "", "compute.matmulFLOPsPerSecond"),
      ("\"name\": \"my-gpu\"", "\"nmae\": \"my-gpu\"", "nmae"),
      ("\"name\": \"my-gpu\"", "\"name\": \"\"", "name"),
      ("\"name\": \"my-gpu\",", "\"name\": \"my-gpu\"", "json"),
    ]
    for (find, replace, field) in cases {
      let text = good.replacingOccurrences(of: find, with: replace)
      XCTAssertNotEqual(text, good, find)
      XCTAssertThrowsError(try DeviceFile.parse(text), field) { error in
        guard case let MachineError.invalidSpecification(f, reason) = error else { return XCTFail("\(error)") }
        XCTAssertEqual(f, field, reason)
        XCTAssertFalse("\(error)".contains("\n"))
      }
    }
  }
}
