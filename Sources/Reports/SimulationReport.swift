import AttentionAlgorithms
import MemoryHierarchy

/// Renders a `SimulationResult` as the `simulate` command's JSON object or table. It formats the
/// result's numbers and never recomputes one.
public enum SimulationReport {
  /// The JSON object of `attention-io simulate --format json`. Keys are a contract; new keys may
  /// be added, none renamed.
  public static func json(_ result: SimulationResult) -> JSONValue {
    let request = result.request
    let problem = request.problem
    let ledger = result.ledger
    var byOperand: [(String, JSONValue)] = []
    for operand in ledger.operandsWithTraffic {
      let t = ledger[operand]
      byOperand.append((operand.key, .object([
        ("readElements", .int(t.readElements)), ("writeElements", .int(t.writeElements)),
        ("readBytes", .int(t.readBytes)), ("writeBytes", .int(t.writeBytes)),
      ])))
    }
    var fields: [(String, JSONValue)] = [
      ("algorithm", .string(request.algorithm.rawValue)),
      ("pass", .string(request.pass.rawValue)),
      ("mode", .string(request.mode.rawValue)),
      ("machine", .string(request.machine.name)),
      ("problem", .object([
        ("batch", .int(problem.batch)), ("heads", .int(problem.heads)),
        ("seqLen", .int(problem.sequenceLength)), ("headDim", .int(problem.headDimension)),
        ("dtype", .string(problem.dataType.rawValue)),
        ("statisticsDtype", .string(problem.statisticsType.rawValue)),
        ("scale", .double(Double(problem.softmaxScale))),
        ("seed", .int(Int(truncatingIfNeeded: problem.seed))),
      ])),
      ("blocks", .object([
        ("rows", .int(result.blocks.queryBlockSize)), ("cols", .int(result.blocks.keyBlockSize)),
        ("rowBlocks", .int(result.blocks.queryBlockCount(problem.sequenceLength))),
        ("colBlocks", .int(result.blocks.keyBlockCount(problem.sequenceLength))),
        ("rule", .string(request.blocks == nil ? request.blockRule.rawValue : "explicit")),
      ])),
      ("sram", .object([
        ("capacityBytes", .int(request.machine.sramCapacityInBytes)), ("peakBytes", .int(result.peakSRAMBytes)),
      ])),
      ("hbm", .object([
        ("readElements", .int(ledger.hbmReadElements)), ("writeElements", .int(ledger.hbmWriteElements)),
        ("readBytes", .int(ledger.hbmReadBytes)), ("writeBytes", .int(ledger.hbmWriteBytes)),
        ("perHeadElements", .int(result.headLedger.hbmElements)),
        ("peakResidentBytesPerHead", .int(result.peakHBMBytesPerHead)),
        ("byOperand", .object(byOperand)),
      ])),
      ("flops", .object([("matmul", .int(ledger.matmulFLOPs)), ("other", .int(ledger.otherFLOPs))])),
      ("time", .object([
        ("estimatedSeconds", .double(result.estimate.estimatedSeconds)),
        ("memorySeconds", .double(result.estimate.memorySeconds)),
        ("computeSeconds", .double(result.estimate.computeSeconds)),
        ("bound", .string(result.estimate.bound)),
      ])),
      ("closedForm", .object([
        ("readElements", .int(result.closedForm.readElements)),
        ("writeElements", .int(result.closedForm.writeElements)),
        ("matches", .bool(result.closedForm.readElements == ledger.hbmReadElements
          && result.closedForm.writeElements == ledger.hbmWriteElements)),
      ])),
      ("wallSeconds", .double(result.wallSeconds)),
    ]
    if let passes = result.softmaxPasses { fields.append(("softmaxPasses", .int(passes))) }
    if let error = result.maxRelativeError {
      fields.append(("check", .object([("maxRelativeError", .double(error)), ("reference", .string("float64"))])))
    }
    return .object(fields)
  }

  /// The human-readable table of `attention-io simulate`.
  public static func table(_ result: SimulationResult) -> String {
    let request = result.request
    let problem = request.problem
    let spec = request.machine
    let ledger = result.ledger
    let n = problem.sequenceLength
    let g = NumberFormatting.grouped
    var out = "\(request.algorithm.displayName), \(request.pass.rawValue) pass, \(request.mode.rawValue) mode\n"
    out += "  problem  batch \(problem.batch) × heads \(problem.heads), N=\(n), d=\(problem.headDimension), "
      + "\(problem.dataType) data, \(problem.statisticsType) statistics, τ=\(problem.softmaxScale)\n"
    let m = spec.sramCapacityInBytes / problem.dataType.byteWidth
    out += "  machine  \(spec.name): SRAM \(g(spec.sramCapacityInBytes)) B per SM (M = \(g(m)) \(problem.dataType) elements), "
      + "HBM \(NumberFormatting.fixed(spec.hbmBytesPerSecond / 1e12, 3)) TB/s\n"
    let rule = request.blocks == nil ? "rule \(request.blockRule.rawValue)" : "explicit"
    out += "  blocks   Br=\(result.blocks.queryBlockSize), Bc=\(result.blocks.keyBlockSize) "
      + "(Tr=\(result.blocks.queryBlockCount(n)), Tc=\(result.blocks.keyBlockCount(n)); \(rule))\n"
    let share = Double(result.peakSRAMBytes) / Double(spec.sramCapacityInBytes) * 100
    out += "  SRAM     peak \(g(result.peakSRAMBytes)) of \(g(spec.sramCapacityInBytes)) B (\(NumberFormatting.fixed(share, 1))%)\n\n"

    var rows: [[String]] = [["HBM traffic", "elements", "bytes"]]
    rows.append(["read", g(ledger.hbmReadElements), NumberFormatting.bytes(ledger.hbmReadBytes)])
    rows.append(["write", g(ledger.hbmWriteElements), NumberFormatting.bytes(ledger.hbmWriteBytes)])
    rows.append(["total", g(ledger.hbmElements), NumberFormatting.bytes(ledger.hbmBytes)])
    out += NumberFormatting.table(rows) + "\n"

    rows = [["by operand", "read elements", "write elements"]]
    for operand in ledger.operandsWithTraffic {
      rows.append([operand.description, g(ledger[operand].readElements), g(ledger[operand].writeElements)])
    }
    out += NumberFormatting.table(rows) + "\n"

    let matches = result.closedForm.readElements == ledger.hbmReadElements
      && result.closedForm.writeElements == ledger.hbmWriteElements
    out += "  closed form  reads \(g(result.closedForm.readElements)), writes \(g(result.closedForm.writeElements)) "
      + (matches ? "(matches the simulation exactly)" : "(DIFFERS from the simulation)") + "\n"
    out += "  FLOPs        matmul \(g(ledger.matmulFLOPs)), other \(g(ledger.otherFLOPs))\n"
    out += "  time         \(NumberFormatting.seconds(result.estimate.estimatedSeconds)) estimated, \(result.estimate.bound)-bound "
      + "(memory \(NumberFormatting.seconds(result.estimate.memorySeconds)), compute \(NumberFormatting.seconds(result.estimate.computeSeconds)))\n"
    if let error = result.maxRelativeError {
      out += "  check        max relative error \(NumberFormatting.scientific(error)) against float64 attention\n"
    }
    out += "  simulated in \(NumberFormatting.seconds(result.wallSeconds))"
      + (request.mode == .count ? " (count mode: one head simulated, × \(problem.headCount) heads)\n" : "\n")
    return out
  }
}
