import XCTest

final class ReproductionPlaceholderTests: XCTestCase {
  func testModuleBuilds() {}
}
