import XCTest

final class LessonsPlaceholderTests: XCTestCase {
  func testModuleBuilds() {}
}
