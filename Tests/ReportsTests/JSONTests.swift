import Reports
import XCTest

final class JSONTests: XCTestCase {
  func testSerializationKeepsKeyOrderAndEscapes() {
    let value = JSONValue.object([
      ("b", .int(1)), ("a", .string("q\"\\\n\u{01}ℓ")), ("c", .array([.bool(true), .null, .double(0.5), .double(1e300)])),
      ("nan", .double(.nan)),
    ])
    XCTAssertEqual(value.serialized(), #"{"b":1,"a":"q\"\\\n\u0001ℓ","c":[true,null,0.5,1e+300],"nan":null}"#)
  }

  func testRoundTrip() throws {
    let text = #"{"x": [1, -2.5e-3, "s\u00e9\ud83d\ude00", {"y": false}], "z": null}"#
    let value = try JSONValue.parse(text)
    XCTAssertEqual(value["x"]?.arrayValue?.count, 4)
    XCTAssertEqual(value["x"]?.arrayValue?[2].stringValue, "sé😀")
    XCTAssertEqual(try JSONValue.parse(value.serialized()), value)
    XCTAssertEqual(try JSONValue.parse(value.serialized(pretty: true)), value)
    XCTAssertEqual(value[path: "x"]?.arrayValue?[1].doubleValue, -2.5e-3)
  }

  func testMalformedJSONGivesAPosition() {
    for (text, line) in [("{\"a\": }", 1), ("[1,\n 2,,]", 2), ("{\"a\" 1}", 1), ("\"abc", 1), ("01", 1), ("[1] x", 1), ("", 1), ("{\"a\":\n\n tru}", 3)] {
      XCTAssertThrowsError(try JSONValue.parse(text), text) { error in
        XCTAssertEqual((error as? JSONParseError)?.line, line, "\(text): \(error)")
      }
    }
  }
}
