import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy

/// Traces as Chrome Trace Event JSON (the `{"traceEvents": [...]}` object form), loadable in
/// Perfetto (ui.perfetto.dev) and chrome://tracing.
///
/// Each trace is a process (pid 1, 2, … in the order given) with one track (thread) per kind of
/// step:
/// - tid 1 `HBM reads`: loads, HBM → SRAM;
/// - tid 2 `HBM writes`: stores, SRAM → HBM;
/// - tid 3 `compute`: on-chip arithmetic;
/// - tid 4 `SRAM`: allocations and frees (instant events), with an `SRAM in use` counter.
///
/// Steps are complete (`"X"`) events whose `ts` and `dur` are microseconds of modelled time
/// (`Trace.modelledSeconds`), multiplied by `timeScale`. Steps run one after another, so
/// timestamps never decrease on any track. Perfetto keeps whole nanoseconds: a teaching-size
/// trace lasts a few nanoseconds, so pass a `timeScale` such as 1000 to see it.
public enum TraceChrome {
  /// Track ids.
  static let readTrack = 1
  static let writeTrack = 2
  static let computeTrack = 3
  static let sramTrack = 4

  public static func json(_ traces: [Trace], timeScale: Double = 1) -> JSONValue {
    var events: [JSONValue] = []
    for (number, trace) in traces.enumerated() {
      let pid = number + 1
      let p = trace.problem
      let name = "\(trace.title), N=\(p.sequenceLength), d=\(p.headDimension), \(p.dataType), \(trace.blocks), on \(trace.spec.name)"
      events.append(metadata("process_name", pid: pid, tid: nil, ["name": .string(name)]))
      events.append(metadata("process_sort_index", pid: pid, tid: nil, ["sort_index": .int(pid)]))
      for (tid, title) in [
        (readTrack, "HBM reads (load HBM → SRAM)"), (writeTrack, "HBM writes (store SRAM → HBM)"),
        (computeTrack, "compute (on chip)"), (sramTrack, "SRAM (allocate, free)"),
      ] {
        events.append(metadata("thread_name", pid: pid, tid: tid, ["name": .string(title)]))
        events.append(metadata("thread_sort_index", pid: pid, tid: tid, ["sort_index": .int(tid)]))
      }
      for step in trace.steps {
        let ts = microseconds(step.startSeconds, timeScale)
        let dur = microseconds(step.endSeconds, timeScale) - ts
        switch step.event {
        case let .load(t), let .store(t):
          let isLoad: Bool
          if case .load = step.event { isLoad = true } else { isLoad = false }
          events.append(.object([
            ("name", .string(EventNarration.transferName(step.event))),
            ("cat", .string(isLoad ? "load" : "store")), ("ph", .string("X")),
            ("ts", .double(ts)), ("dur", .double(dur)), ("pid", .int(pid)), ("tid", .int(isLoad ? readTrack : writeTrack)),
            ("args", .object([
              ("step", .int(step.index + 1)), ("operand", .string(t.tensor.operand.description)),
              ("tensor", .string(t.tensor.name)), ("tile", .string(t.tile.name)),
              ("rows", .string("\(t.rowRange.lowerBound)..<\(t.rowRange.upperBound)")),
              ("columns", .string("\(t.columnRange.lowerBound)..<\(t.columnRange.upperBound)")),
              ("elements", .int(t.elements)), ("bytes", .int(t.bytes)),
              ("hbmReadElementsSoFar", .int(step.ledger.hbmReadElements)),
              ("hbmWriteElementsSoFar", .int(step.ledger.hbmWriteElements)),
            ])),
          ]))
        case let .compute(label, kind, flops):
          events.append(.object([
            ("name", .string(label)), ("cat", .string("compute.\(kind.rawValue)")), ("ph", .string("X")),
            ("ts", .double(ts)), ("dur", .double(dur)), ("pid", .int(pid)), ("tid", .int(computeTrack)),
            ("args", .object([("step", .int(step.index + 1)), ("kind", .string(kind.rawValue)), ("flops", .int(flops))])),
          ]))
        case let .allocate(tile, inUse), let .free(tile, inUse):
          let verb: String
          if case .allocate = step.event { verb = "allocate" } else { verb = "free" }
          events.append(.object([
            ("name", .string("\(verb) \(tile.name)")), ("cat", .string("sram")), ("ph", .string("i")), ("s", .string("t")),
            ("ts", .double(ts)), ("pid", .int(pid)), ("tid", .int(sramTrack)),
            ("args", .object([
              ("step", .int(step.index + 1)), ("tile", .string(tile.description)), ("bytes", .int(tile.bytes)),
              ("inUseBytes", .int(inUse)),
            ])),
          ]))
          events.append(.object([
            ("name", .string("SRAM in use")), ("ph", .string("C")), ("ts", .double(ts)), ("pid", .int(pid)),
            ("tid", .int(sramTrack)), ("args", .object([("bytes", .int(inUse))])),
          ]))
        }
      }
    }
    return .object([
      ("traceEvents", .array(events)),
      ("displayTimeUnit", .string("ns")),
      ("otherData", .object([
        ("generator", .string("attention-io trace")),
        ("time", .string("ts and dur are microseconds of modelled time × timeScale")),
        ("timeScale", .double(timeScale)),
        ("algorithms", .string(traces.map(\.name).joined(separator: ", "))),
      ])),
    ])
  }

  static func microseconds(_ seconds: Double, _ scale: Double) -> Double { seconds * 1e6 * scale }

  static func metadata(_ name: String, pid: Int, tid: Int?, _ args: KeyValuePairs<String, JSONValue>) -> JSONValue {
    var fields: [(String, JSONValue)] = [("name", .string(name)), ("ph", .string("M")), ("pid", .int(pid))]
    if let tid { fields.append(("tid", .int(tid))) }
    fields.append(("args", .object(args.map { ($0.key, $0.value) })))
    return .object(fields)
  }
}
