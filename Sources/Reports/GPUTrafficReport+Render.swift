import GPUKernels
import GPUModel

/// Renders the GPU model's reports: JSON (`gpu.*` keys), a table, and CSV rows named after the
/// Nsight Compute metrics so an `ncu --csv` export can sit beside them.
public enum GPUReportRendering {
  /// Nsight Compute metric names of the CSV columns, in order.
  public static let metricColumns = [
    "dram__bytes_read.sum", "dram__bytes_write.sum", "lts__t_sectors_srcunit_tex_op_read.sum",
    "lts__t_sectors_srcunit_tex_op_write.sum", "lts__t_sectors_srcunit_tex_op_red.sum",
    "lts__t_sectors_srcunit_ltcfabric_op_read.sum", "l1tex__m_xbar2l1tex_read_sectors.sum",
  ]

  static func metrics(_ l2: L2Counters, requested: Int, sectorBytes: Int) -> [Int] {
    [
      l2.dramReadSectors * sectorBytes, l2.dramWriteSectors * sectorBytes, l2.readSectors, l2.writeSectors,
      l2.reductionSectors, l2.fabricReadSectors, requested,
    ]
  }

  static func l2JSON(_ l2: L2Counters) -> JSONValue {
    .object([
      ("readSectors", .int(l2.readSectors)), ("writeSectors", .int(l2.writeSectors)),
      ("reductionSectors", .int(l2.reductionSectors)), ("fabricReadSectors", .int(l2.fabricReadSectors)),
      ("hitRate", .double(l2.readSectors == 0 ? 0 : Double(l2.readHitSectors) / Double(l2.readSectors))),
    ])
  }

  static func dramJSON(_ l2: L2Counters, sectorBytes: Int) -> JSONValue {
    .object([("readBytes", .int(l2.dramReadSectors * sectorBytes)), ("writeBytes", .int(l2.dramWriteSectors * sectorBytes))])
  }

  /// The report as JSON: `problem` and `gpu` objects.
  public static func json(_ report: GPUTrafficReport) -> JSONValue {
    let w = report.workload
    let sector = report.sectorBytes
    let total = report.total
    let kernels: [JSONValue] = report.kernels.map { k in
      .object([
        ("name", .string(k.name)), ("ctas", .int(k.blockCount)), ("ctasPerSM", .int(k.blocksPerSM)),
        ("concurrentCTAs", .int(k.concurrentBlocks)), ("steps", .int(k.steps)),
        ("tileReadSectors", .int(k.requestedReadSectors)), ("l2", l2JSON(k.l2)), ("dram", dramJSON(k.l2, sectorBytes: sector)),
      ])
    }
    return .object([
      ("problem", .object([
        ("batch", .int(w.batch)), ("heads", .int(w.heads)), ("sequenceLength", .int(w.sequenceLength)),
        ("headDimension", .int(w.headDimension)), ("causal", .bool(w.causal)), ("pass", .string(w.pass.rawValue)),
        ("elementBytes", .int(w.elementBytes)),
      ])),
      ("gpu", .object([
        ("kernel", .string(report.preset)), ("device", .string(report.device.name)),
        ("smCount", .int(report.device.streamingMultiprocessors)),
        ("ctasPerSM", .int(report.kernels.first?.blocksPerSM ?? 0)),
        ("l2CapacityBytes", .int(report.device.l2.capacityInBytes)), ("l2Partitions", .int(report.device.l2.partitions)),
        ("l2BetweenKernels", .string(report.betweenKernels.rawValue)),
        ("tileReadSectors", .int(report.requestedReadSectors)),
        ("l2", l2JSON(total)), ("dram", dramJSON(total, sectorBytes: sector)),
        ("kernels", .array(kernels)),
      ])),
    ])
  }

  /// One CSV row per kernel, Nsight's metric names as columns.
  public static func csv(_ report: GPUTrafficReport) -> String {
    let header = ["ID", "Kernel Name", "ctas", "ctas_per_sm"] + metricColumns
    let rows = report.kernels.enumerated().map { index, k in
      [String(index), k.name, String(k.blockCount), String(k.blocksPerSM)]
        + metrics(k.l2, requested: k.requestedReadSectors, sectorBytes: report.sectorBytes).map(String.init)
    }
    return CSV.text(header: header, rows: rows)
  }

  /// A table: per kernel, tile traffic (what the CTAs ask for) beside L2 and DRAM traffic.
  public static func table(_ report: GPUTrafficReport) -> String {
    let w = report.workload
    let sector = report.sectorBytes
    var text = """
      GPU model: \(report.preset) on \(report.device.name) (\(report.device.streamingMultiprocessors) SMs, \
      L2 \(NumberFormatting.bytes(report.device.l2.capacityInBytes)) in \(report.device.l2.partitions) partition\(report.device.l2.partitions == 1 ? "" : "s"), \
      L2 \(report.betweenKernels == .flush ? "flushed before each kernel" : "kept between kernels"))
      B=\(w.batch) H=\(w.heads) N=\(w.sequenceLength) d=\(w.headDimension)\(w.causal ? " causal" : "") \(w.pass.rawValue), 2-byte elements


      """
    var rows: [[String]] = [["kernel", "CTAs", "per SM", "tile reads", "L2 read sectors", "L2 hit", "DRAM read", "DRAM write"]]
    func row(_ name: String, ctas: String, perSM: String, requested: Int, l2: L2Counters) -> [String] {
      [
        name, ctas, perSM, NumberFormatting.bytes(requested * sector), NumberFormatting.grouped(l2.readSectors),
        NumberFormatting.fixed(l2.readSectors == 0 ? 0 : 100 * Double(l2.readHitSectors) / Double(l2.readSectors), 1) + "%",
        NumberFormatting.bytes(l2.dramReadSectors * sector), NumberFormatting.bytes(l2.dramWriteSectors * sector),
      ]
    }
    for k in report.kernels {
      rows.append(row(k.name, ctas: NumberFormatting.grouped(k.blockCount), perSM: String(k.blocksPerSM), requested: k.requestedReadSectors, l2: k.l2))
    }
    if report.kernels.count > 1 {
      rows.append(row("total", ctas: "", perSM: "", requested: report.requestedReadSectors, l2: report.total))
    }
    text += NumberFormatting.table(rows)
    text += "\nTile reads are what the CTAs load (the paper model's HBM reads); DRAM is what gets past the L2.\n"
    return text
  }
}
