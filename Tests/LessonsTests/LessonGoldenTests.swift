import Foundation
import Lessons
import XCTest

/// Each lesson's text against its golden file in `Golden/` (read through `#filePath`, since the
/// files are not target resources). To accept a deliberate change, run the tests once with
/// `LESSONS_UPDATE_GOLDEN=1` and review the diff.
final class LessonGoldenTests: XCTestCase {
  func testTilingWalkthroughMatchesItsGoldenFile() throws {
    try checkGolden("tiling-walkthrough", try Lessons.tilingWalkthrough())
  }

  func testOnlineSoftmaxMatchesItsGoldenFile() throws {
    try checkGolden("online-softmax", try Lessons.onlineSoftmax())
  }

  func testTrafficRaceMatchesItsGoldenFile() throws {
    try checkGolden("traffic-race", try Lessons.trafficRace())
  }

  func testMaskGalleryMatchesItsGoldenFile() throws {
    try checkGolden("mask-gallery", try Lessons.maskGallery())
  }

  func testL2CacheMatchesItsGoldenFile() throws {
    try checkGolden("l2-cache", try Lessons.l2Cache())
  }

  func testBackwardPassMatchesItsGoldenFile() throws {
    try checkGolden("backward-pass", try Lessons.backwardPass())
  }

  func testEveryLessonIsListedAndDeterministic() throws {
    XCTAssertEqual(
      Lessons.all.map(\.name), ["tiling-walkthrough", "online-softmax", "traffic-race", "mask-gallery", "l2-cache", "backward-pass"])
    for lesson in Lessons.all {
      XCTAssertEqual(try lesson.run(), try lesson.run(), lesson.name)
    }
  }

  func checkGolden(_ name: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Golden").appendingPathComponent("\(name).txt")
    if ProcessInfo.processInfo.environment["LESSONS_UPDATE_GOLDEN"] == "1" {
      try text.write(to: url, atomically: true, encoding: .utf8)
      return
    }
    let golden = try String(contentsOf: url, encoding: .utf8)
    guard text != golden else { return }
    let got = text.components(separatedBy: "\n")
    let want = golden.components(separatedBy: "\n")
    let first = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
    XCTFail(
      "\(name) differs from Golden/\(name).txt at line \(first + 1):\n  got:  \(first < got.count ? got[first] : "<end>")\n  want: \(first < want.count ? want[first] : "<end>")\n(rerun with LESSONS_UPDATE_GOLDEN=1 to accept a deliberate change)",
      file: file, line: line)
  }
}
