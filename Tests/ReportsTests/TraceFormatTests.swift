import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy
import Reports
import XCTest

/// Text, CSV and Chrome renderings of a trace.
final class TraceFormatTests: XCTestCase {
  func teachingTrace(_ algorithm: AttentionAlgorithmKind, n: Int = 16, d: Int = 8) throws -> Trace {
    try Trace.record(algorithm, problem: try AttentionProblem(sequenceLength: n, headDimension: d, seed: 5), spec: .teaching)
  }

  func testChromeJSONParsesWithMonotoneTimestampsPerTrack() throws {
    let flash = try teachingTrace(.flash)
    let standard = try teachingTrace(.standard)
    let text = TraceChrome.json([flash, standard], timeScale: 1000).serialized()
    let json = try JSONValue.parse(text)
    let events = try XCTUnwrap(json["traceEvents"]?.arrayValue)
    var last: [String: Double] = [:]
    var complete = [0, 0]
    var names: Set<String> = []
    for event in events {
      let ph = try XCTUnwrap(event["ph"]?.stringValue)
      let pid = try XCTUnwrap(event["pid"]?.intValue)
      if ph == "M" {
        if let name = event[path: "args.name"]?.stringValue { names.insert(name) }
        continue
      }
      let tid = try XCTUnwrap(event["tid"]?.intValue)
      let ts = try XCTUnwrap(event["ts"]?.doubleValue)
      let track = "\(pid)/\(tid)/\(ph == "C" ? "counter" : "")"
      XCTAssertGreaterThanOrEqual(ts, last[track] ?? 0, "monotone on track \(track)")
      last[track] = ts
      if ph == "X" {
        complete[pid - 1] += 1
        let dur = try XCTUnwrap(event["dur"]?.doubleValue)
        XCTAssertGreaterThanOrEqual(dur, 0)
        last[track] = ts + dur * (1 - 1e-12)
      }
    }
    for (i, trace) in [flash, standard].enumerated() {
      let timed = trace.steps.filter { if case .allocate = $0.event { return false }; if case .free = $0.event { return false }; return true }
      XCTAssertEqual(complete[i], timed.count, "one X event per load, store and compute")
    }
    XCTAssertTrue(names.contains("HBM reads (load HBM → SRAM)"))
    XCTAssertTrue(names.contains("HBM writes (store SRAM → HBM)"))
    XCTAssertTrue(names.contains("compute (on chip)"))
    XCTAssertEqual(json[path: "otherData.timeScale"]?.doubleValue, 1000)
    // ts is microseconds of modelled time × timeScale.
    let lastEvent = try XCTUnwrap(events.last { $0["ph"]?.stringValue == "X" && $0["pid"]?.intValue == 1 })
    let end = try XCTUnwrap(lastEvent["ts"]?.doubleValue) + (try XCTUnwrap(lastEvent["dur"]?.doubleValue))
    XCTAssertEqual(end, flash.totalSeconds * 1e6 * 1000, accuracy: 1e-9)
  }

  func testCSVHasAHeaderAndOneRowPerEventWhoseColumnsSumToTheLedger() throws {
    for algorithm in Trace.traceableAlgorithms {
      let trace = try teachingTrace(algorithm)
      let rows = parseCSV(TraceCSV.render(trace))
      XCTAssertEqual(rows.first, TraceCSV.columns)
      XCTAssertEqual(rows.count, trace.steps.count + 1)
      XCTAssertTrue(rows.allSatisfy { $0.count == TraceCSV.columns.count }, "every row has every column")
      let column = { (name: String) in TraceCSV.columns.firstIndex(of: name)! }
      let body = rows.dropFirst()
      XCTAssertEqual(body.reduce(0) { $0 + Int($1[column("bytes")])! }, trace.ledger.hbmBytes)
      XCTAssertEqual(body.reduce(0) { $0 + Int($1[column("flops")])! }, trace.ledger.totalFLOPs)
      let loads = body.filter { $0[column("event")] == "load" }
      XCTAssertEqual(loads.reduce(0) { $0 + Int($1[column("elements")])! }, trace.ledger.hbmReadElements)
      XCTAssertEqual(body.last?[column("hbm_write_elements_so_far")], String(trace.ledger.hbmWriteElements))
    }
  }

  func testTextShowsEachSectionAndIsDeterministic() throws {
    let trace = try teachingTrace(.flash)
    let text = TraceText.render(trace)
    XCTAssertEqual(text, TraceText.render(try teachingTrace(.flash)))
    XCTAssertEqual(text.components(separatedBy: "── after outer iteration").count - 1, 4)
    XCTAssertEqual(text.components(separatedBy: "\n  SRAM    [").count - 1, 4)
    XCTAssertTrue(text.contains("The trace's sums equal the IO ledger exactly ✓"))
    XCTAssertTrue(text.contains("     12     0.000 ns  load     K[0..<4, 0..<8] → K_j   32 elements, 64 B"), text)
    let summary = TraceText.render(trace, level: .summary)
    XCTAssertFalse(summary.contains(" ns  alloc"))
    let transfers = TraceText.render(trace, level: .transfers)
    XCTAssertFalse(transfers.contains(" ns  compute"))
    XCTAssertTrue(transfers.contains(" ns  load"))
    XCTAssertTrue(transfers.contains("store    m_i → m[12..<16]"))
    // The bar is the capacity: 48 characters between the brackets, tiles in proportion.
    let tiles = [SRAMTile](trace.steps[10].residents)
    XCTAssertEqual(TraceText.sramBar(residents: tiles, capacity: 384).count, 50)
    XCTAssertEqual(TraceText.sramBar(residents: [], capacity: 384), "[" + String(repeating: "·", count: 48) + "]")
    XCTAssertEqual(TraceText.formatValue(-.infinity), "−∞")
  }

  func testSVGWriterEscapesAndNests() {
    var svg = SVGWriter(width: 10.5, height: 4)
    svg.begin("g", ["class": "a\"b"])
    svg.rect(x: 0, y: 0.333, width: 1, height: 2)
    svg.text("Q < K & V", x: 1, y: 2)
    svg.end()
    XCTAssertEqual(
      svg.finish(),
      #"<svg width="10.5" height="4" viewBox="0 0 10.5 4"><g class="a&quot;b"><rect x="0" y="0.33" width="1" height="2"/><text x="1" y="2">Q &lt; K &amp; V</text></g></svg>"#)
    XCTAssertEqual(SVGWriter.number(3.0), "3")
    XCTAssertEqual(SVGWriter.number(2.5), "2.5")
  }

  /// RFC 4180 fields, with quoted commas, quotes and line breaks.
  func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var chars = Array(text)
    chars.append("\n")
    var i = 0
    while i < chars.count {
      let c = chars[i]
      if quoted {
        if c == "\"" {
          if i + 1 < chars.count, chars[i + 1] == "\"" { field.append("\""); i += 1 } else { quoted = false }
        } else { field.append(c) }
      } else if c == "\"" {
        quoted = true
      } else if c == "," {
        row.append(field); field = ""
      } else if c == "\n" {
        row.append(field); field = ""
        if row != [""] { rows.append(row) }
        row = []
      } else {
        field.append(c)
      }
      i += 1
    }
    return rows
  }
}
