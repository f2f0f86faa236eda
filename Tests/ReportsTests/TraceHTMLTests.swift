import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import Reports
import XCTest

/// The animated HTML lesson: self-contained, well-formed, bounded.
final class TraceHTMLTests: XCTestCase {
  func testHTMLIsSelfContainedAndWellFormed() throws {
    let problem = try AttentionProblem(sequenceLength: 16, headDimension: 8, seed: 2)
    let traces = try [AttentionAlgorithmKind.flash, .standard].map { try Trace.record($0, problem: problem, spec: .teaching) }
    for set in [traces, [traces[0]], [traces[1], traces[0]]] {
      let html = try HTMLTraceDocument.render(set)
      let lower = html.lowercased()
      XCTAssertFalse(lower.contains("http:"), "no network reference")
      XCTAssertFalse(lower.contains("https:"), "no network reference")
      XCTAssertFalse(lower.contains("<link"), "no external style sheet")
      XCTAssertFalse(lower.contains(" src="), "no external script or image")
      XCTAssertNoThrow(try checkTagBalance(html))
      XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
      for (index, _) in set.enumerated() {
        XCTAssertTrue(html.contains("id=\"p\(index)-panel\""))
        XCTAssertTrue(html.contains("id=\"p\(index)-flyer\""))
      }
      for id in ["b-play", "b-back", "b-fwd", "speed", "scrub", "trace-data"] {
        XCTAssertTrue(html.contains("id=\"\(id)\""), id)
      }
    }
    // The embedded data parses and carries every step of every panel.
    let html = try HTMLTraceDocument.render(traces)
    let start = try XCTUnwrap(html.range(of: "<script type=\"application/json\" id=\"trace-data\">"))
    let end = try XCTUnwrap(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
    let data = try JSONValue.parse(String(html[start.upperBound..<end.lowerBound]))
    XCTAssertEqual(data["panels"]?.arrayValue?.count, 2)
    XCTAssertEqual(data["panels"]?.arrayValue?[0]["steps"]?.arrayValue?.count, traces[0].steps.count)
    XCTAssertEqual(data["frames"]?.arrayValue?.count, 2 * (traces[0].steps.count + traces[1].steps.count))
    XCTAssertEqual(data["maxBytes"]?.intValue, max(traces[0].ledger.hbmBytes, traces[1].ledger.hbmBytes))
  }

  func testTheVerdictSaysWhoMovesFewerBytes() throws {
    let small = try AttentionProblem(sequenceLength: 16, headDimension: 8)
    let flash = try Trace.record(.flash, problem: small, spec: .teaching, mode: .count)
    let standard = try Trace.record(.standard, problem: small, spec: .teaching, mode: .count)
    XCTAssertTrue(HTMLTraceDocument.verdict([flash, standard]).hasPrefix("standard attention forward (Algorithm 0, tiled) moves 1.29× fewer bytes"))
    let roomy = MachineSpec.teaching.withSRAMCapacity(2_048)
    let larger = try AttentionProblem(sequenceLength: 64, headDimension: 8)
    let verdict = HTMLTraceDocument.verdict([
      try Trace.record(.flash, problem: larger, spec: roomy, mode: .count),
      try Trace.record(.standard, problem: larger, spec: roomy, mode: .count),
    ])
    XCTAssertTrue(verdict.hasPrefix("FlashAttention forward (Algorithm 1) moves 4.00× fewer bytes"), verdict)
  }

  func testLongTracesAreRefused() throws {
    let problem = try AttentionProblem(sequenceLength: 96, headDimension: 8)
    let trace = try Trace.record(.flash, problem: problem, spec: .teaching, mode: .count)
    XCTAssertGreaterThan(trace.steps.count, HTMLTraceDocument.stepLimit)
    XCTAssertThrowsError(try HTMLTraceDocument.render([trace])) { error in
      XCTAssertEqual(
        error as? HTMLTraceDocument.RenderError,
        .tooManySteps(algorithm: "flash", steps: trace.steps.count, limit: HTMLTraceDocument.stepLimit))
      XCTAssertTrue(String(describing: error).contains("smaller"))
    }
  }

  func testTheTagCheckerCatchesMistakes() {
    XCTAssertNoThrow(try checkTagBalance("<!DOCTYPE html><p>a<br>b<svg><rect x=\"1\"/></svg></p><script>if (a<b) {}</script>"))
    XCTAssertThrowsError(try checkTagBalance("<div><p></div></p>"))
    XCTAssertThrowsError(try checkTagBalance("<div>"))
    XCTAssertThrowsError(try checkTagBalance("<p title=\"x>y\">a < b</p>"), "a bare < in text")
  }

  struct MarkupError: Error, CustomStringConvertible { let description: String }

  /// A small well-formedness check: every element closes in order (void elements and `/>` need
  /// not), `<script>` and `<style>` contents are skipped, quoted attributes may hold `>`, and no
  /// bare `<` appears in text.
  func checkTagBalance(_ html: String) throws {
    let voids: Set<String> = ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
    let s = Array(html.unicodeScalars)
    var i = 0
    var stack: [String] = []
    func starts(_ text: String, at k: Int) -> Bool {
      let t = Array(text.unicodeScalars)
      guard k + t.count <= s.count else { return false }
      return (0..<t.count).allSatisfy { String(s[k + $0]).lowercased() == String(t[$0]) }
    }
    while i < s.count {
      guard s[i] == "<" else { i += 1; continue }
      if starts("<!--", at: i) {
        while i < s.count, !starts("-->", at: i) { i += 1 }
        i += 3
        continue
      }
      if starts("<!doctype", at: i) {
        while i < s.count, s[i] != ">" { i += 1 }
        i += 1
        continue
      }
      let closing = i + 1 < s.count && s[i + 1] == "/"
      var j = i + (closing ? 2 : 1)
      var name = ""
      while j < s.count, s[j].properties.isAlphabetic || ("0"..."9").contains(s[j]) || s[j] == "-" {
        name.unicodeScalars.append(s[j]); j += 1
      }
      guard !name.isEmpty else { throw MarkupError(description: "bare < at \(i)") }
      name = name.lowercased()
      var quote: Unicode.Scalar?
      while j < s.count {
        if let q = quote { if s[j] == q { quote = nil } } else if s[j] == "\"" || s[j] == "'" { quote = s[j] } else if s[j] == ">" { break }
        j += 1
      }
      guard j < s.count else { throw MarkupError(description: "unterminated <\(name)") }
      let selfClosing = s[j - 1] == "/"
      i = j + 1
      if closing {
        guard stack.last == name else { throw MarkupError(description: "</\(name)> closes <\(stack.last ?? "nothing")>") }
        stack.removeLast()
      } else if !selfClosing, !voids.contains(name) {
        if name == "script" || name == "style" {
          while i < s.count, !starts("</\(name)", at: i) { i += 1 }
        }
        stack.append(name)
      }
    }
    guard stack.isEmpty else { throw MarkupError(description: "unclosed \(stack)") }
  }
}
