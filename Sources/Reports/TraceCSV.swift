import AttentionAlgorithms
import AttentionSimulation
import Foundation
import MemoryHierarchy

/// A trace as CSV (RFC 4180): a header, then one row per event.
///
/// Columns are a contract (new ones may be appended, none renamed): `elements`, `bytes` and
/// `flops` are the event's own HBM traffic and FLOPs (0 when it has none), so each column sums to
/// the IO ledger's total; `*_so_far` are the ledger after the step. Operands use their ASCII key
/// (`l` for ℓ); times are seconds of modelled time.
public enum TraceCSV {
  public static let columns = [
    "step", "start_seconds", "duration_seconds", "event", "operand", "tensor", "tile",
    "row_start", "row_end", "column_start", "column_end", "elements", "bytes", "compute_kind", "flops",
    "label", "sram_in_use_bytes", "hbm_read_elements_so_far", "hbm_write_elements_so_far",
  ]

  public static func render(_ trace: Trace) -> String {
    var out = columns.joined(separator: ",") + "\n"
    for step in trace.steps {
      var event = "", operand = "", tensor = "", tile = "", label = "", computeKind = ""
      var rowStart = "", rowEnd = "", columnStart = "", columnEnd = ""
      var elements = 0, bytes = 0, flops = 0
      switch step.event {
      case let .allocate(t, _), let .free(t, _):
        if case .allocate = step.event { event = "allocate" } else { event = "free" }
        operand = t.operand.key
        tile = t.name
        label = "\(t.rows)×\(t.columns) \(t.elementType), \(t.bytes) B"
      case let .load(t), let .store(t):
        if case .load = step.event { event = "load" } else { event = "store" }
        operand = t.tensor.operand.key
        tensor = t.tensor.name
        tile = t.tile.name
        rowStart = String(t.rowRange.lowerBound)
        rowEnd = String(t.rowRange.upperBound)
        columnStart = String(t.columnRange.lowerBound)
        columnEnd = String(t.columnRange.upperBound)
        elements = t.elements
        bytes = t.bytes
      case let .compute(text, kind, count):
        event = "compute"
        computeKind = kind.rawValue
        flops = count
        label = text
      }
      let fields = [
        String(step.index + 1), "\(step.startSeconds)", "\(step.durationSeconds)", event, operand, tensor, tile,
        rowStart, rowEnd, columnStart, columnEnd, String(elements), String(bytes), computeKind, String(flops),
        label, String(step.sramInUseBytes), String(step.ledger.hbmReadElements), String(step.ledger.hbmWriteElements),
      ]
      out += fields.map(quoted).joined(separator: ",") + "\n"
    }
    return out
  }

  /// A field quoted when it holds a comma, a quote or a line break (quotes doubled).
  static func quoted(_ field: String) -> String {
    guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}
