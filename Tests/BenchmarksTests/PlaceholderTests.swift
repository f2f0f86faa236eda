import XCTest

final class BenchmarksPlaceholderTests: XCTestCase {
  func testModuleBuilds() {}
}
