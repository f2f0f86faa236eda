import AttentionAlgorithms
import AttentionSimulation
import Foundation
import MemoryHierarchy

/// A trace as plain terminal text: a header, one line per step, and after each outer iteration
/// (section) a picture of the SRAM (a bar of resident tiles against the capacity), the current m
/// and ℓ values, the HBM tile grid (how often each tile of Q, K, V, O, … has been read and
/// written) and the counters so far; then the totals, checked against the IO ledger.
///
/// Deterministic for a seed, so lessons can be golden-tested.
public enum TraceText {
  /// How much of the step list to print (as tinygrad's DEBUG levels do).
  public enum Level: String, CaseIterable, Sendable {
    /// Only the pictures after each section and the totals.
    case summary
    /// Loads and stores, the pictures and the totals.
    case transfers
    /// Every step (allocations and compute too).
    case all
  }

  /// Width of the SRAM bar in characters (the whole capacity).
  static let barWidth = 48
  /// Grid rows printed per tensor before eliding the rest.
  static let maximumGridRows = 16

  /// The whole trace as text.
  public static func render(_ trace: Trace, level: Level = .all) -> String {
    var out = header(trace) + "\n"
    if level != .summary { out += "   step        start  event\n" }
    var next = 0
    var afterStepLine = false
    for step in trace.steps {
      if level == .all || (level == .transfers && step.event.isTransfer) {
        out += stepLine(step) + "\n"
        afterStepLine = true
      }
      if next < trace.sections.count, trace.sections[next].steps.upperBound == step.index + 1 {
        out += (afterStepLine ? "\n" : "") + picture(trace, section: trace.sections[next]) + "\n"
        afterStepLine = false
        next += 1
      }
    }
    return out + (afterStepLine ? "\n" : "") + footer(trace)
  }

  /// What ran, on what, with which blocks, and how long the trace is.
  public static func header(_ trace: Trace) -> String {
    let p = trace.problem
    let s = trace.spec
    let n = p.sequenceLength
    let m = s.sramCapacityInBytes / p.dataType.byteWidth
    // A registered kernel traces one head; other runs (a decode step) trace the whole batch.
    let scope = trace.algorithm == nil ? "\(p.batch) sequence\(p.batch == 1 ? "" : "s") × \(p.heads) query head\(p.heads == 1 ? "" : "s")" : "one head"
    let blocks = trace.algorithm == nil
      ? "r = \(trace.blocks.queryBlockSize) query row\(trace.blocks.queryBlockSize == 1 ? "" : "s") per work item, B = \(trace.blocks.keyBlockSize) tokens per KV block: ⌈L/B⌉ = \(trace.blocks.keyBlockCount(n)) blocks of the longest context"
      : "Br = \(trace.blocks.queryBlockSize), Bc = \(trace.blocks.keyBlockSize): Tr = \(trace.blocks.queryBlockCount(n)) query blocks, Tc = \(trace.blocks.keyBlockCount(n)) key blocks"
    let size = trace.algorithm == nil ? "L = \(n)" : "N = \(n)"
    return """
      \(trace.title), \(scope), \(trace.mode.rawValue) mode
        problem  \(size), d = \(p.headDimension), \(p.dataType) data, \(p.statisticsType) statistics, τ = \(NumberFormatting.fixed(Double(p.softmaxScale), 4)), seed \(p.seed)
        machine  \(s.name): SRAM \(NumberFormatting.grouped(s.sramCapacityInBytes)) B (M = \(NumberFormatting.grouped(m)) \(p.dataType) elements), HBM \(NumberFormatting.fixed(s.hbmBytesPerSecond / 1e9, 0)) GB/s, matmul \(NumberFormatting.fixed(s.matmulFLOPsPerSecond / 1e12, 1)) TFLOP/s, other \(NumberFormatting.fixed(s.otherFLOPsPerSecond / 1e12, 1)) TFLOP/s
        blocks   \(blocks)
        trace    \(NumberFormatting.grouped(trace.steps.count)) steps, modelled time \(nanoseconds(trace.totalSeconds)) (one step at a time: transfers at HBM bandwidth, compute at its FLOP rate)

      """
  }

  /// `     12     0.082 ns  load     K[0..<4, 0..<8] → K_j   32 elements, 64 B`.
  public static func stepLine(_ step: Trace.Step) -> String {
    pad(String(step.index + 1), 7) + "  " + pad(nanoseconds(step.startSeconds), 11) + "  " + EventNarration.line(step.event)
  }

  /// The machine at the end of a section: SRAM, m and ℓ, the HBM tile grid, the counters.
  public static func picture(_ trace: Trace, section: Trace.Section) -> String {
    let stepCount = section.steps.upperBound
    let step = trace.steps[stepCount - 1]
    let range = "steps \(section.steps.lowerBound + 1)–\(section.steps.upperBound), t = \(nanoseconds(step.endSeconds))"
    var lines = ["  ── after \(section.title) (\(range)) ──"]
    lines.append("  SRAM    " + sramBar(residents: step.residents, capacity: trace.spec.sramCapacityInBytes)
      + "  \(NumberFormatting.grouped(step.sramInUseBytes)) / \(NumberFormatting.grouped(trace.spec.sramCapacityInBytes)) B in use, \(step.residents.count) tiles")
    lines += wrap(step.residents.map { "\($0.name) \($0.bytes) B" }, separator: " · ", width: 92).map { "          " + $0 }
    for (i, stats) in step.statistics.enumerated() {
      lines.append((i == 0 ? "  m, ℓ    " : "          ") + statisticsLine(stats))
    }
    lines.append("  HBM     reads/writes of each tile so far")
    lines += grid(trace.accessCounts(after: stepCount)).map { "          " + $0 }
    lines.append("  so far  " + counters(step.ledger))
    return lines.map { trimTrailing($0) }.joined(separator: "\n") + "\n"
  }

  /// A bar of `barWidth` characters for the SRAM capacity: each resident tile, in allocation
  /// order, as the first character of its name, repeated in proportion to its bytes; `·` is free.
  public static func sramBar(residents: [SRAMTile], capacity: Int) -> String {
    var bar = ""
    var used = 0
    for tile in residents {
      let start = used * barWidth / max(capacity, 1)
      used += tile.bytes
      let end = min(used * barWidth / max(capacity, 1), barWidth)
      let symbol = tile.name.first.map(String.init) ?? "#"
      bar += String(repeating: symbol, count: max(end - start, 0))
    }
    let freeCount = barWidth - bar.count
    return "[" + bar + String(repeating: "·", count: max(freeCount, 0)) + "]"
  }

  /// `m_i[12..<16] = 0.912 1.204 0.385 0.771`; −∞ for rows that have seen no key.
  public static func statisticsLine(_ stats: Trace.TileValues) -> String {
    let rows = stats.rows.map { "[\($0.lowerBound)..<\($0.upperBound)]" } ?? ""
    let shown = stats.values.prefix(8).map(formatValue).joined(separator: " ")
    return "\(stats.tile.name)\(rows) = \(shown)\(stats.values.count > 8 ? " …" : "")"
  }

  /// A statistics value for display: three decimals, `−∞` and `+∞` spelled out.
  public static func formatValue(_ x: Float) -> String {
    if x == -.infinity { return "−∞" }
    if x == .infinity { return "+∞" }
    if x.isNaN { return "NaN" }
    let text = String(format: "%.3f", Double(x))
    return text == "-0.000" ? "0.000" : text
  }

  /// The HBM tile grids side by side: a header per tensor, then a row of `reads/writes` cells
  /// per grid row.
  static func grid(_ counts: [Trace.TileAccessCounts]) -> [String] {
    let cellWidth = counts.flatMap { c in zip(c.reads, c.writes).map { "\($0)/\($1)".count } }.max() ?? 3
    var blocks: [[String]] = []
    for c in counts {
      let g = c.grid
      var block = ["\(g.tensor.name) \(g.tensor.rows)×\(g.tensor.columns)"]
      let shownRows = g.rowCount > maximumGridRows ? maximumGridRows - 1 : g.rowCount
      for r in 0..<shownRows {
        let cells = (0..<g.columnCount).map { col -> String in
          let i = r * g.columnCount + col
          return pad("\(c.reads[i])/\(c.writes[i])", cellWidth)
        }
        block.append(cells.joined(separator: " "))
      }
      if shownRows < g.rowCount { block.append("… \(g.rowCount - shownRows) more rows") }
      blocks.append(block)
    }
    let height = blocks.map(\.count).max() ?? 0
    var lines: [String] = []
    for row in 0..<height {
      var line = ""
      for (b, block) in blocks.enumerated() {
        let width = block.map(\.count).max() ?? 0
        let cell = row < block.count ? block[row] : ""
        line += (b == 0 ? "" : "   ") + cell + String(repeating: " ", count: width - cell.count)
      }
      lines.append(line)
    }
    return lines
  }

  /// `HBM reads 544 elements (1,216 B), writes 160 elements (448 B); FLOPs 2,048 matmul, 624 other`.
  static func counters(_ ledger: IOLedger) -> String {
    let g = NumberFormatting.grouped
    return "HBM reads \(g(ledger.hbmReadElements)) elements (\(g(ledger.hbmReadBytes)) B), writes \(g(ledger.hbmWriteElements)) elements (\(g(ledger.hbmWriteBytes)) B); FLOPs \(g(ledger.matmulFLOPs)) matmul, \(g(ledger.otherFLOPs)) other"
  }

  /// Totals per operand, and the check that the trace's sums equal the IO ledger.
  public static func footer(_ trace: Trace) -> String {
    let g = NumberFormatting.grouped
    let ledger = trace.ledger
    var rows: [[String]] = [["operand", "read elements", "written elements", "read bytes", "written bytes"]]
    for operand in ledger.operandsWithTraffic {
      let t = ledger[operand]
      rows.append([operand.description, g(t.readElements), g(t.writeElements), g(t.readBytes), g(t.writeBytes)])
    }
    rows.append(["total", g(ledger.hbmReadElements), g(ledger.hbmWriteElements), g(ledger.hbmReadBytes), g(ledger.hbmWriteBytes)])
    let matches = trace.eventTotals == ledger
    return """
      Totals: \(g(ledger.hbmElements)) elements (\(g(ledger.hbmBytes)) B) moved between HBM and SRAM; FLOPs \(g(ledger.matmulFLOPs)) matmul, \(g(ledger.otherFLOPs)) other; peak SRAM \(g(trace.peakSRAMBytes)) of \(g(trace.spec.sramCapacityInBytes)) B
      \(NumberFormatting.table(rows))The trace's sums \(matches ? "equal the IO ledger exactly ✓" : "DIFFER from the IO ledger ✗")

      """
  }

  // MARK: Helpers

  /// Seconds as `0.123 ns` (three decimals).
  public static func nanoseconds(_ seconds: Double) -> String { String(format: "%.3f ns", seconds * 1e9) }

  static func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
  }

  static func trimTrailing(_ line: String) -> String {
    var line = line
    while line.hasSuffix(" ") { line.removeLast() }
    return line
  }

  /// Joins items into lines no wider than `width` (an item longer than that gets its own line).
  static func wrap(_ items: [String], separator: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for item in items {
      if line.isEmpty {
        line = item
      } else if line.count + separator.count + item.count <= width {
        line += separator + item
      } else {
        lines.append(line)
        line = item
      }
    }
    if !line.isEmpty { lines.append(line) }
    return lines
  }
}
