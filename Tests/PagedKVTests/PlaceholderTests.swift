import XCTest

final class PagedKVPlaceholderTests: XCTestCase {
  func testModuleBuilds() {}
}
