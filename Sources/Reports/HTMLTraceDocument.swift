import AttentionAlgorithms
import AttentionSimulation
import Foundation
import MemoryHierarchy

/// One self-contained HTML file that animates traces side by side: the HBM matrices as grids of
/// tiles (shaded by how often each was read and written), the SRAM as a box of its capacity with
/// the resident tiles, a tile flying in or out at each load and store, running HBM read and write
/// counters, and the current m and ℓ values; with play, pause, step forward and back, a scrubber
/// and a speed control.
///
/// Everything is inline (CSS, JavaScript, SVG, and the trace as JSON), with no network reference
/// of any kind, so the file works offline and from an email attachment. The panels share one clock
/// of modelled time, so the traffic race between the algorithms plays out as it would.
///
/// The player applies one step per frame and undoes it going back, touching only the cells and
/// tiles that step changed, so it stays smooth for a few thousand steps; longer traces are
/// refused (`stepLimit`).
public enum HTMLTraceDocument {
  /// The most steps one panel may have.
  public static let stepLimit = 5_000

  /// Why a document could not be written.
  public enum RenderError: Error, Equatable, CustomStringConvertible {
    case tooManySteps(algorithm: String, steps: Int, limit: Int)
    case noTraces

    public var description: String {
      switch self {
      case let .tooManySteps(algorithm, steps, limit):
        return "the HTML animation holds at most \(limit) steps per algorithm, but \(algorithm) takes \(steps); try a smaller problem (smaller --seq-len, or a larger --sram-bytes) or --format chrome"
      case .noTraces:
        return "nothing to render"
      }
    }
  }

  /// The HTML document for `traces` (the first is the main one; usually one or two).
  /// - Throws: `RenderError.tooManySteps` when a trace is longer than `stepLimit`.
  public static func render(_ traces: [Trace]) throws -> String {
    guard let main = traces.first else { throw RenderError.noTraces }
    for trace in traces where trace.steps.count > stepLimit {
      throw RenderError.tooManySteps(algorithm: trace.name, steps: trace.steps.count, limit: stepLimit)
    }
    let layout = HTMLTraceLayout(traces: traces)
    let p = main.problem
    let names = title(traces)
    let subject = "N = \(p.sequenceLength), d = \(p.headDimension), \(p.dataType) on \(main.spec.name)"
    var html = """
      <!DOCTYPE html>
      <html lang="en">
      <head>
      <meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title>\(escape("attention-io trace: \(names), \(subject)"))</title>
      <style>
      \(HTMLTraceStyle.css)
      </style>
      </head>
      <body>
      <header>
      <h1>\(escape(names))</h1>
      <p class="subtitle">\(escape(subtitle(main)))</p>
      </header>
      <nav id="controls" aria-label="player">
      <button id="b-start" title="Back to the start (Home)" aria-label="back to the start">\(icon("M3 2h2v12H3z M14 2v12L6 8z"))</button>
      <button id="b-back" title="Step back (←)">\(icon("M12 2v12L4 8z")) step</button>
      <button id="b-play" title="Play or pause (space)"><span class="when-paused">\(icon("M4 2v12l10-6z")) play</span><span class="when-playing">\(icon("M3 2h4v12H3z M9 2h4v12H9z")) pause</span></button>
      <button id="b-fwd" title="Step forward (→)">step \(icon("M4 2v12l8-6z"))</button>
      <button id="b-end" title="To the end (End)" aria-label="to the end">\(icon("M2 2v12l8-6z M11 2h2v12h-2z"))</button>
      <label class="speed">speed <input id="speed" type="range" min="0" max="9" value="3"> <span id="speed-label"></span></label>
      <input id="scrub" type="range" min="0" max="\(layout.frameCount)" value="0" aria-label="position">
      <span id="clock"></span>
      </nav>
      <main id="panels">

      """
    for (index, trace) in traces.enumerated() {
      html += panel(trace, index: index, layout: layout)
    }
    html += """
      </main>
      \(summary(traces))
      \(legend(traces))
      <script type="application/json" id="trace-data">\(layout.json(traces))</script>
      <script>
      \(HTMLTraceScript.javascript)
      </script>
      </body>
      </html>

      """
    return html
  }

  /// A 16×16 control icon as inline SVG, so it draws the same with any fonts installed.
  static func icon(_ path: String) -> String {
    "<svg class=\"icon\" viewBox=\"0 0 16 16\" width=\"14\" height=\"14\" aria-hidden=\"true\"><path d=\"\(path)\"/></svg>"
  }

  /// The lesson's title: the algorithms, and, when FlashAttention moves more bytes than the
  /// algorithm beside it, that this is the tiny-SRAM reversal.
  public static func title(_ traces: [Trace]) -> String {
    let names = traces.map(\.title).joined(separator: " vs ")
    guard traces.count >= 2, let flash = traces.first(where: { $0.algorithm == .flash }),
      traces.contains(where: { $0.algorithm != .flash && $0.ledger.hbmBytes < flash.ledger.hbmBytes })
    else { return names }
    return "When the SRAM is tiny, standard attention wins: " + names
  }

  static func subtitle(_ trace: Trace) -> String {
    let p = trace.problem
    let s = trace.spec
    return "One head: Q, K, V are \(p.sequenceLength)×\(p.headDimension) \(p.dataType) matrices in HBM (seed \(p.seed)). "
      + "Machine \(s.name): SRAM \(NumberFormatting.grouped(s.sramCapacityInBytes)) B, HBM \(NumberFormatting.fixed(s.hbmBytesPerSecond / 1e9, 0)) GB/s. "
      + "Time is modelled: each transfer takes bytes / HBM bandwidth, each compute step FLOPs / its rate."
  }

  /// One algorithm's panel: a heading, the SVG (HBM grids, SRAM box, traffic bars) and the
  /// live text (counters, m and ℓ, the current step).
  static func panel(_ trace: Trace, index: Int, layout: HTMLTraceLayout) -> String {
    let id = "p\(index)-"
    let geometry = layout.panels[index]
    var svg = SVGWriter(width: layout.width, height: geometry.height, ["class": "diagram", "role": "img",
      "aria-label": "HBM tiles and SRAM of \(trace.name)"])
    svg.text("HBM", x: 0, y: 14, ["class": "level"])
    for (t, placed) in geometry.tensors.enumerated() {
      let grid = placed.grid
      svg.text(HTMLTraceLayout.label(grid), x: placed.x, y: placed.y - 5, ["class": "tensor-name"])
      svg.begin("g", ["class": "tensor op-\(grid.tensor.operand.key)"])
      for r in 0..<grid.rowCount {
        for c in 0..<grid.columnCount {
          let cell = r * grid.columnCount + c
          let box = placed.cell(row: r, column: c)
          svg.rect(x: box.x, y: box.y, width: box.width, height: box.height, ["id": "\(id)c\(t)-\(cell)", "class": "cell"])
          svg.rect(x: box.x, y: box.y, width: box.width, height: box.height, ["id": "\(id)w\(t)-\(cell)", "class": "written"])
          if box.width >= 24, box.height >= 12 {
            svg.text("", x: box.x + box.width / 2, y: box.y + box.height / 2 + 4, ["id": "\(id)l\(t)-\(cell)", "class": "cell-label"])
          }
        }
      }
      svg.rect(x: placed.x, y: placed.y, width: placed.width, height: placed.height, ["class": "outline"])
      svg.end()
    }
    let bar = geometry.sramBar
    svg.text("SRAM (one SM): \(NumberFormatting.grouped(trace.spec.sramCapacityInBytes)) B", x: 0, y: bar.y - 8, ["class": "level"])
    svg.rect(x: bar.x, y: bar.y, width: bar.width, height: bar.height, ["class": "sram"])
    for tile in layout.tiles(of: trace) {
      svg.begin("g", ["id": "\(id)tile\(tile.id)", "class": "tile op-\(tile.operand.key)", "display": "none"])
      svg.rect(x: 0, y: bar.y + 3, width: 10, height: bar.height - 6)
      svg.text(tile.name, x: 3, y: bar.y + bar.height / 2 + 4, ["class": "tile-label"])
      svg.title("\(tile.name): \(tile.rows)×\(tile.columns) \(tile.elementType), \(tile.bytes) B")
      svg.end()
    }
    let traffic = geometry.trafficBars
    svg.text("HBM traffic so far (bytes; the bars share one scale across panels)", x: 0, y: traffic.y - 8, ["class": "level"])
    svg.rect(x: traffic.x, y: traffic.y, width: traffic.width, height: 12, ["class": "track"])
    svg.rect(x: traffic.x, y: traffic.y, width: 0, height: 12, ["id": "\(id)bar-read", "class": "bar-read"])
    svg.rect(x: traffic.x, y: traffic.y + 16, width: traffic.width, height: 12, ["class": "track"])
    svg.rect(x: traffic.x, y: traffic.y + 16, width: 0, height: 12, ["id": "\(id)bar-write", "class": "bar-write"])
    svg.rect(x: 0, y: 0, width: 0, height: 0, ["id": "\(id)flyer", "class": "flyer", "display": "none"])
    let blocks = trace.blocks
    let n = trace.problem.sequenceLength
    return """
      <section class="panel" id="\(id)panel">
      <h2>\(escape(trace.title))</h2>
      <p class="blocks">Br = \(blocks.queryBlockSize), Bc = \(blocks.keyBlockSize) (Tr = \(blocks.queryBlockCount(n)), Tc = \(blocks.keyBlockCount(n))); \(NumberFormatting.grouped(trace.steps.count)) steps; peak SRAM \(NumberFormatting.grouped(trace.peakSRAMBytes)) B</p>
      \(svg.finish())
      <div class="counters"><span class="read-key">HBM reads</span> <span id="\(id)reads"></span><br><span class="write-key">HBM writes</span> <span id="\(id)writes"></span><br><span class="sram-key">SRAM in use</span> <span id="\(id)inuse"></span></div>
      <pre class="stats" id="\(id)stats"></pre>
      <p class="now" id="\(id)now"></p>
      </section>

      """
  }

  /// Totals of every panel and a sentence saying which moves fewer bytes, and why.
  static func summary(_ traces: [Trace]) -> String {
    let g = NumberFormatting.grouped
    var rows = ""
    for trace in traces {
      let l = trace.ledger
      rows += "<tr><td>\(escape(trace.title))</td><td>\(g(trace.steps.count))</td><td>\(g(l.hbmReadElements))</td><td>\(g(l.hbmWriteElements))</td><td>\(g(l.hbmBytes))</td><td>\(escape(TraceText.nanoseconds(trace.totalSeconds)))</td></tr>\n"
    }
    return """
      <section id="summary">
      <h2>Totals</h2>
      <table>
      <thead><tr><th>algorithm</th><th>steps</th><th>HBM reads (elements)</th><th>HBM writes (elements)</th><th>HBM bytes</th><th>modelled time</th></tr></thead>
      <tbody>
      \(rows)</tbody>
      </table>
      <p>\(escape(verdict(traces)))</p>
      </section>
      """
  }

  /// Which algorithm moves fewer bytes, by how much, and (for FlashAttention) why.
  public static func verdict(_ traces: [Trace]) -> String {
    guard traces.count >= 2 else {
      let t = traces[0]
      return "\(t.title) moves \(NumberFormatting.grouped(t.ledger.hbmBytes)) bytes between HBM and SRAM."
    }
    let a = traces[0]
    let b = traces[1]
    let bytesA = a.ledger.hbmBytes
    let bytesB = b.ledger.hbmBytes
    let (winner, loser) = bytesA <= bytesB ? (a, b) : (b, a)
    var text: String
    if bytesA == bytesB {
      text = "Both move \(NumberFormatting.grouped(bytesA)) bytes between HBM and SRAM."
    } else {
      let ratio = Double(loser.ledger.hbmBytes) / Double(winner.ledger.hbmBytes)
      text = "\(winner.title) moves \(NumberFormatting.fixed(ratio, 2))× fewer bytes between HBM and SRAM than \(loser.title): \(NumberFormatting.grouped(winner.ledger.hbmBytes)) against \(NumberFormatting.grouped(loser.ledger.hbmBytes))."
    }
    if let flash = traces.first(where: { $0.algorithm == .flash }), loser.algorithm == .flash, bytesA != bytesB {
      let p = flash.problem
      let m = flash.spec.sramCapacityInBytes / p.dataType.byteWidth
      let d = p.headDimension
      let tc = flash.blocks.keyBlockCount(p.sequenceLength)
      if flash.pass == .backward {
        text += " FlashAttention's backward recomputes S and P on chip and never writes them (or dP, dS) to HBM, but it re-reads Q, O, dO and dQ (and m, ℓ) and writes dQ back once per K/V block, Tc = \(tc) times here. With an SRAM this small (M = \(m) elements against d² = \(d * d)) the blocks are tiny and the re-reads cost more than the N×N matrices; it wins when M ≫ d²."
      } else {
        text += " FlashAttention never writes S or P to HBM, but it re-reads Q and O (and m, ℓ) once per K/V block, Tc = \(tc) times here. With an SRAM this small (M = \(m) elements against d² = \(d * d)) the blocks are tiny and the re-reads cost more than S and P; it wins when M ≫ d²: with --seq-len 64 --head-dim 8 --sram-bytes 2048 it moves 4× fewer bytes than standard attention (see the traffic-race lesson)."
      }
    } else if winner.algorithm == .flash, bytesA != bytesB {
      if winner.pass == .backward {
        text += " FlashAttention's backward recomputes S and P on chip and keeps dK_j, dV_j there for a whole outer iteration; standard attention reads P back and writes and reads dP and dS (N×N each)."
      } else {
        text += " FlashAttention keeps S and P on chip; standard attention writes both (N×N each) to HBM and reads them back."
      }
    }
    return text
  }

  static func legend(_ traces: [Trace]) -> String {
    """
    <section id="legend">
    <h2>How to read it</h2>
    <ul>
    <li><b>HBM grids.</b> Each matrix is cut into the tiles its transfers use. A tile turns blue when it is read into SRAM (darker: read more often) and gets an orange wash when it is written back; the label says reads/writes. The outlined tiles are those the current step moves.</li>
    <li><b>SRAM.</b> The box is the whole on-chip memory; each resident tile is drawn to scale by its bytes. A load flies a tile from HBM into SRAM, a store flies it back.</li>
    <li><b>m and ℓ.</b> The running row maximum and row sum of the online softmax (and the current block's m̃, ℓ̃), for the query rows in SRAM. −∞ means no key has been seen yet. A backward pass loads the forward's final m and ℓ to recompute P.</li>
    <li><b>Time.</b> The panels share a clock of modelled time, so they race: a step starts when the previous one of its algorithm ends.</li>
    <li><b>Keys.</b> Space plays or pauses, ← and → step, Home and End jump. Made by <code>attention-io trace --format html</code>.</li>
    </ul>
    </section>
    """
  }

  /// Escapes text for HTML content and attribute values.
  static func escape(_ text: String) -> String { SVGWriter.escape(text) }
}
