import AttentionAlgorithms
import AttentionSimulation
import Foundation
import MemoryHierarchy

/// Where everything goes in the HTML player, and the trace data it embeds.
///
/// All panels share one scale (pixels per matrix element), so equal matrices look equal side by
/// side. Inputs (Q, K, V) sit in the first row of HBM, everything else (S, P, O, ℓ, m) in the
/// second.
struct HTMLTraceLayout {
  struct Box {
    var x: Double
    var y: Double
    var width: Double
    var height: Double
  }

  struct PlacedTensor {
    let grid: Trace.TileGrid
    let x: Double
    let y: Double
    let width: Double
    let height: Double

    func cell(row r: Int, column c: Int) -> Box {
      let rows = Double(max(grid.tensor.rows, 1))
      let columns = Double(max(grid.tensor.columns, 1))
      let y0 = y + Double(grid.rowCuts[r]) / rows * height
      let y1 = y + Double(grid.rowCuts[r + 1]) / rows * height
      let x0 = x + Double(grid.columnCuts[c]) / columns * width
      let x1 = x + Double(grid.columnCuts[c + 1]) / columns * width
      return Box(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
  }

  struct PanelGeometry {
    let tensors: [PlacedTensor]
    let sramBar: Box
    let trafficBars: Box
    let height: Double
  }

  static let width = 500.0
  var width: Double { Self.width }
  static let gap = 16.0
  static let narrowest = 12.0
  static let tallest = 240.0
  let unit: Double
  let panels: [PanelGeometry]
  /// The merged timeline: (panel, step) in order of modelled start time.
  let frames: [(panel: Int, step: Int)]
  var frameCount: Int { frames.count }

  init(traces: [Trace]) {
    let rowsOfTensors = traces.map(Self.rows)
    // The largest scale (≤ 12 px per element) at which every row of every panel fits.
    var unit = 12.0
    func fits(_ u: Double) -> Bool {
      for rows in rowsOfTensors {
        for row in rows {
          let w = row.reduce(0) { $0 + Self.slotWidth($1, unit: u) } + Self.gap * Double(max(row.count - 1, 0))
          if w > Self.width { return false }
          if let tallest = row.map(\.tensor.rows).max(), Double(tallest) * u > Self.tallest { return false }
        }
      }
      return true
    }
    while unit > 0.5, !fits(unit) { unit -= 0.25 }
    self.unit = unit
    panels = rowsOfTensors.map { rows in
      var placed: [PlacedTensor] = []
      var y = 34.0
      for row in rows {
        var x = 0.0
        var rowHeight = 0.0
        for grid in row {
          let w = max(Double(grid.tensor.columns) * unit, Self.narrowest)
          let h = max(Double(grid.tensor.rows) * unit, 4)
          placed.append(PlacedTensor(grid: grid, x: x, y: y, width: w, height: h))
          x += Self.slotWidth(grid, unit: unit) + Self.gap
          rowHeight = max(rowHeight, h)
        }
        y += rowHeight + 30
      }
      let bar = Box(x: 0, y: y + 8, width: 480, height: 36)
      let traffic = Box(x: 0, y: bar.y + bar.height + 32, width: 480, height: 28)
      return PanelGeometry(tensors: placed, sramBar: bar, trafficBars: traffic, height: traffic.y + traffic.height + 4)
    }
    var frames: [(panel: Int, step: Int, start: Double)] = []
    for (p, trace) in traces.enumerated() {
      for step in trace.steps { frames.append((p, step.index, step.startSeconds)) }
    }
    // Stable: by start time, then panel, then step (steps of one panel never reorder).
    frames.sort { ($0.start, $0.panel, $0.step) < ($1.start, $1.panel, $1.step) }
    self.frames = frames.map { ($0.panel, $0.step) }
  }

  /// The label above a tensor: `Q 16×8`.
  static func label(_ grid: Trace.TileGrid) -> String { "\(grid.tensor.name) \(grid.tensor.rows)×\(grid.tensor.columns)" }

  /// The width a tensor takes in its row: its own, or its label's (about 6.6 px a character).
  static func slotWidth(_ grid: Trace.TileGrid, unit: Double) -> Double {
    max(Double(grid.tensor.columns) * unit, narrowest, Double(label(grid).count) * 6.6)
  }

  /// Inputs first, then the rest, each in tensor order.
  static func rows(_ trace: Trace) -> [[Trace.TileGrid]] {
    let inputs: Set<Operand> = [.query, .key, .value]
    let first = trace.grids.filter { inputs.contains($0.tensor.operand) }
    let second = trace.grids.filter { !inputs.contains($0.tensor.operand) }
    return [first, second].filter { !$0.isEmpty }
  }

  /// Every tile the trace allocates, by id.
  func tiles(of trace: Trace) -> [SRAMTile] {
    var seen: [Int: SRAMTile] = [:]
    for step in trace.steps {
      if case let .allocate(tile, _) = step.event { seen[tile.id] = tile }
    }
    return seen.keys.sorted().compactMap { seen[$0] }
  }

  // MARK: Embedded data

  /// The data the player reads, as JSON safe inside a `<script>` element (`<` escaped).
  func json(_ traces: [Trace]) -> String {
    let maxBytes = traces.map(\.ledger.hbmBytes).max() ?? 0
    var panelsJSON: [JSONValue] = []
    for (index, trace) in traces.enumerated() {
      panelsJSON.append(panelJSON(trace, geometry: panels[index]))
    }
    let value = JSONValue.object([
      ("maxBytes", .int(maxBytes)),
      ("frames", .array(frames.flatMap { [JSONValue.int($0.panel), .int($0.step)] })),
      ("panels", .array(panelsJSON)),
    ])
    return value.serialized().replacingOccurrences(of: "<", with: "\\u003c")
  }

  func panelJSON(_ trace: Trace, geometry: PanelGeometry) -> JSONValue {
    let tensorIndex = Dictionary(uniqueKeysWithValues: geometry.tensors.enumerated().map { ($1.grid.tensor.id, $0) })
    let tiles = tiles(of: trace)
    var tileSlots = [JSONValue](repeating: .null, count: (tiles.map(\.id).max() ?? -1) + 1)
    for tile in tiles {
      tileSlots[tile.id] = .array([.string(tile.name), .int(tile.bytes), .string(tile.operand.key)])
    }
    var residentLists: [[Int]] = []
    var residentIndex: [[Int]: Int] = [:]
    var statsTexts: [String] = []
    var statsIndex: [String: Int] = [:]
    var steps: [JSONValue] = []
    var lines: [JSONValue] = []
    for step in trace.steps {
      let ids = step.residents.map(\.id)
      let resRef = residentIndex[ids] ?? {
        residentLists.append(ids)
        residentIndex[ids] = residentLists.count - 1
        return residentLists.count - 1
      }()
      let stats = step.statistics.map(TraceText.statisticsLine).joined(separator: "\n")
      let statRef = statsIndex[stats] ?? {
        statsTexts.append(stats)
        statsIndex[stats] = statsTexts.count - 1
        return statsTexts.count - 1
      }()
      var kind = 4, tensor = -1, r0 = 0, r1 = 0, c0 = 0, c1 = 0, tile = -1
      switch step.event {
      case let .allocate(t, _): kind = 0; tile = t.id
      case let .free(t, _): kind = 1; tile = t.id
      case let .load(t), let .store(t):
        if case .load = step.event { kind = 2 } else { kind = 3 }
        tensor = tensorIndex[t.tensor.id] ?? -1
        (r0, r1, c0, c1) = (t.rowRange.lowerBound, t.rowRange.upperBound, t.columnRange.lowerBound, t.columnRange.upperBound)
        tile = t.tile.id
      case .compute: kind = 4
      }
      let l = step.ledger
      steps.append(.array([
        .int(kind), .double(Self.nanoseconds(step.startSeconds)), .double(Self.nanoseconds(step.endSeconds)),
        .int(tensor), .int(r0), .int(r1), .int(c0), .int(c1), .int(tile),
        .int(l.hbmReadBytes), .int(l.hbmWriteBytes), .int(l.hbmReadElements), .int(l.hbmWriteElements),
        .int(step.sramInUseBytes), .int(resRef), .int(statRef),
      ]))
      lines.append(.string(EventNarration.line(step.event)))
    }
    let tensors: [JSONValue] = geometry.tensors.map { placed in
      .object([
        ("name", .string(placed.grid.tensor.name)), ("key", .string(placed.grid.tensor.operand.key)),
        ("rows", .int(placed.grid.tensor.rows)), ("cols", .int(placed.grid.tensor.columns)),
        ("rowCuts", .array(placed.grid.rowCuts.map { .int($0) })),
        ("colCuts", .array(placed.grid.columnCuts.map { .int($0) })),
        ("x", .double(placed.x)), ("y", .double(placed.y)), ("w", .double(placed.width)), ("h", .double(placed.height)),
      ])
    }
    let bar = geometry.sramBar
    let traffic = geometry.trafficBars
    return .object([
      ("algorithm", .string(trace.name)),
      ("capacity", .int(trace.spec.sramCapacityInBytes)),
      ("bar", .array([.double(bar.x), .double(bar.y), .double(bar.width), .double(bar.height)])),
      ("traffic", .array([.double(traffic.x), .double(traffic.y), .double(traffic.width)])),
      ("tensors", .array(tensors)),
      ("tiles", .array(tileSlots)),
      ("steps", .array(steps)),
      ("residents", .array(residentLists.map { .array($0.map { .int($0) }) })),
      ("stats", .array(statsTexts.map { .string($0) })),
      ("lines", .array(lines)),
    ])
  }

  /// Seconds as nanoseconds rounded to a millionth (keeps the file small and deterministic).
  static func nanoseconds(_ seconds: Double) -> Double { (seconds * 1e15).rounded() / 1e6 }
}
