import AttentionIO
import Foundation

/// The plots of `paged prune --sweep --svg`: what each pruning policy saves against the error it
/// costs, one line per policy family.
public enum PruningSweepPlot {
  /// Two panels side by side: bytes read per step vs error, and memory held vs error.
  public static func svg(_ rows: [PruningSweep.Row], full: PrunedDecodeResult) -> String {
    let families = ["quest", "streaming", "h2o"].filter { f in rows.contains { $0.spec.family == f } }
    // A relative error of 0 (full) cannot sit on a log axis: it is drawn at the smallest error
    // shown divided by 10, and named so in the legend.
    let errors = rows.map(\.result.meanRelativeError).filter { $0 > 0 }
    let floor = (errors.min() ?? 1e-6) / 10
    func series(_ x: (PrunedDecodeResult) -> Double) -> [LinePlot.Series] {
      var lines = families.map { family in
        LinePlot.Series(family, points: rows.filter { $0.spec.family == family }.map { (x($0.result), max($0.result.meanRelativeError, floor)) })
      }
      lines.append(LinePlot.Series("full (error 0, drawn at the floor)", points: [(x(full), floor)], joined: false))
      return lines
    }
    func panel(_ title: String, _ label: String, _ x: @escaping (PrunedDecodeResult) -> Double) -> String {
      let lines = series(x)
      let xs = lines.flatMap { $0.points.map(\.x) }
      let ys = lines.flatMap { $0.points.map(\.y) }
      return LinePlot(
        title: title, x: PlotAxis(label, scale: .linear, values: xs).including(0),
        y: PlotAxis("mean relative error vs full attention", scale: .log(base: 10), values: ys), series: lines, legend: .topRight
      ).svg()
    }
    let left = panel("Bytes read per decode step vs error", "HBM bytes read per step (MB)") { $0.meanReadBytesPerStep / 1e6 }
    let right = panel("KV memory held vs error", "KV memory held after the last step (MB)") { Double($0.finalBytesHeld) / 1e6 }
    let shifted = right.replacingOccurrences(of: "<svg xmlns", with: "<svg x=\"680\" xmlns", options: .anchored)
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1360\" height=\"420\" viewBox=\"0 0 1360 420\">"
      + left + shifted + "</svg>\n"
  }
}
