import Foundation
import GPUKernels
import GPUModel

/// Renders `attention-io validate`: measured against predicted, per row and in summary.
public enum ValidationRendering {
  /// The three compared quantities: name, predicted, measured.
  static func quantities(_ row: ValidationRow) -> [(String, Int, Int)] {
    [
      ("dramRead", row.predicted.dramReadBytes, row.measured.dramReadBytes),
      ("dramWrite", row.predicted.dramWriteBytes, row.measured.dramWriteBytes),
      ("l2ReadSectors", row.predicted.total.readSectors, row.measured.l2ReadSectors),
    ]
  }

  /// Median and worst absolute relative error of each quantity (rows with a measured 0 left out).
  public static func summary(_ rows: [ValidationRow]) -> [(name: String, median: Double, worst: Double, worstRow: String)] {
    ["dramRead", "dramWrite", "l2ReadSectors"].enumerated().map { index, name in
      var errors: [(Double, String)] = []
      for row in rows {
        let (_, predicted, measured) = quantities(row)[index]
        if let error = ValidationRow.relativeError(predicted: predicted, measured: measured) { errors.append((abs(error), row.measured.label)) }
      }
      let sorted = errors.map(\.0).sorted()
      let median = sorted.isEmpty ? 0 : (sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
      let worst = errors.max { $0.0 < $1.0 }
      return (name, median, worst?.0 ?? 0, worst?.1 ?? "")
    }
  }

  static func percent(_ error: Double?) -> String {
    guard let error else { return "n/a" }
    return (error >= 0 ? "+" : "") + NumberFormatting.fixed(100 * error, 1) + "%"
  }

  public static func table(_ rows: [ValidationRow]) -> String {
    var table: [[String]] = [[
      "configuration", "GPU", "kernels", "DRAM read pred", "meas", "err", "DRAM write pred", "meas", "err",
      "L2 read sectors pred", "meas", "err", "model s",
    ]]
    for row in rows {
      let kernels = "\(row.predicted.kernels.count)/\(row.measured.kernels.map(String.init) ?? "?")"
      var cells = [row.measured.label, row.measured.device.name, kernels]
      for (_, predicted, measured) in quantities(row) {
        let isSectors = cells.count >= 9
        cells += [
          isSectors ? NumberFormatting.grouped(predicted) : NumberFormatting.bytes(predicted),
          isSectors ? NumberFormatting.grouped(measured) : NumberFormatting.bytes(measured),
          percent(ValidationRow.relativeError(predicted: predicted, measured: measured)),
        ]
      }
      cells.append(NumberFormatting.fixed(row.modelSeconds, 2))
      table.append(cells)
    }
    var text = "The GPU model against Nsight Compute (err = (predicted − measured) / measured; kernels = modelled/measured)\n\n"
    text += NumberFormatting.table(table)
    text += "\n"
    var summaryRows: [[String]] = [["quantity", "median |err|", "worst |err|", "worst configuration", "rows within ±15%"]]
    for (index, item) in summary(rows).enumerated() {
      let within = rows.filter { row in
        let (_, p, m) = quantities(row)[index]
        return ValidationRow.relativeError(predicted: p, measured: m).map { abs($0) <= 0.15 } ?? true
      }.count
      summaryRows.append([
        item.name, NumberFormatting.fixed(100 * item.median, 1) + "%", NumberFormatting.fixed(100 * item.worst, 1) + "%",
        item.worstRow, "\(within) of \(rows.count)",
      ])
    }
    text += NumberFormatting.table(summaryRows)
    let seconds = rows.map(\.modelSeconds)
    text += "\nModel time: \(NumberFormatting.fixed(seconds.reduce(0, +), 1)) s for \(rows.count) rows, slowest \(NumberFormatting.fixed(seconds.max() ?? 0, 1)) s.\n"
    return text
  }

  public static func json(_ rows: [ValidationRow]) -> JSONValue {
    .object([
      ("rows", .array(rows.map { row in
        .object([
          ("configuration", .string(row.measured.label)), ("gpu", .string(row.measured.gpu)), ("device", .string(row.measured.device.name)),
          ("file", .string(row.measured.file)), ("line", .int(row.measured.line)),
          ("kernelsModelled", .int(row.predicted.kernels.count)), ("kernelsMeasured", row.measured.kernels.map(JSONValue.int) ?? .null),
          ("modelSeconds", .double(row.modelSeconds)),
        ] + quantities(row).map { name, predicted, measured in
          (name, JSONValue.object([
            ("predicted", .int(predicted)), ("measured", .int(measured)),
            ("relativeError", ValidationRow.relativeError(predicted: predicted, measured: measured).map(JSONValue.double) ?? .null),
          ]))
        })
      })),
      ("summary", .object(summary(rows).map { item in
        (item.name, JSONValue.object([("medianAbsoluteError", .double(item.median)), ("worstAbsoluteError", .double(item.worst)), ("worstConfiguration", .string(item.worstRow))]))
      })),
    ])
  }

  public static func csv(_ rows: [ValidationRow]) -> String {
    let header = [
      "configuration", "device", "kernels_modelled", "kernels_measured",
      "dram_read_predicted", "dram_read_measured", "dram_read_error",
      "dram_write_predicted", "dram_write_measured", "dram_write_error",
      "l2_read_sectors_predicted", "l2_read_sectors_measured", "l2_read_sectors_error", "model_seconds",
    ]
    let body = rows.map { row -> [String] in
      var cells = [row.measured.label, row.measured.device.name, String(row.predicted.kernels.count), row.measured.kernels.map(String.init) ?? ""]
      for (_, predicted, measured) in quantities(row) {
        cells += [String(predicted), String(measured), ValidationRow.relativeError(predicted: predicted, measured: measured).map { String(format: "%.4f", $0) } ?? ""]
      }
      cells.append(String(format: "%.3f", row.modelSeconds))
      return cells
    }
    return CSV.text(header: header, rows: body)
  }
}
