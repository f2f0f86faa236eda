import AttentionAlgorithms
import AttentionSimulation
import MemoryHierarchy

/// Renders a `SimulationResult` as the `simulate` command's JSON object or table. It formats the
/// result's numbers and never recomputes one.
public enum SimulationReport {
  /// `hbm`-style traffic object of a ledger, with the per-operand breakdown.
  static func hbm(_ ledger: IOLedger) -> [(String, JSONValue)] {
    var byOperand: [(String, JSONValue)] = []
    for operand in ledger.operandsWithTraffic {
      let t = ledger[operand]
      byOperand.append((operand.key, .object([
        ("readElements", .int(t.readElements)), ("writeElements", .int(t.writeElements)),
        ("readBytes", .int(t.readBytes)), ("writeBytes", .int(t.writeBytes)),
      ])))
    }
    return [
      ("readElements", .int(ledger.hbmReadElements)), ("writeElements", .int(ledger.hbmWriteElements)),
      ("readBytes", .int(ledger.hbmReadBytes)), ("writeBytes", .int(ledger.hbmWriteBytes)),
      ("byOperand", .object(byOperand)),
    ]
  }

  static func time(_ estimate: RooflineEstimate) -> JSONValue {
    .object([
      ("estimatedSeconds", .double(estimate.estimatedSeconds)),
      ("memorySeconds", .double(estimate.memorySeconds)),
      ("computeSeconds", .double(estimate.computeSeconds)),
      ("bound", .string(estimate.bound)),
    ])
  }

  static func closedForm(_ form: TrafficCount, _ ledger: IOLedger) -> JSONValue {
    .object([
      ("readElements", .int(form.readElements)),
      ("writeElements", .int(form.writeElements)),
      ("matches", .bool(form.readElements == ledger.hbmReadElements && form.writeElements == ledger.hbmWriteElements)),
    ])
  }

  static func blocks(_ blocks: BlockSizes, n: Int) -> [(String, JSONValue)] {
    [
      ("rows", .int(blocks.queryBlockSize)), ("cols", .int(blocks.keyBlockSize)),
      ("rowBlocks", .int(blocks.queryBlockCount(n))), ("colBlocks", .int(blocks.keyBlockCount(n))),
    ]
  }

  /// Each tile of a pass: its shape and bytes, the level it asked for and where it lives.
  static func tiles(_ placements: [TilePlacement]) -> JSONValue {
    .array(placements.map { placed in
      .object([
        ("name", .string(placed.tile.name)), ("operand", .string(placed.tile.operand.key)),
        ("rows", .int(placed.tile.rows)), ("cols", .int(placed.tile.columns)),
        ("dtype", .string(placed.tile.elementType.rawValue)), ("bytes", .int(placed.tile.bytes)),
        ("level", .string(placed.level.rawValue)), ("spilled", .bool(placed.spilled)),
      ])
    })
  }

  /// The JSON object of `attention-io simulate --format json`. Keys are a contract; new keys may
  /// be added, none renamed.
  public static func json(_ result: SimulationResult) -> JSONValue {
    let request = result.request
    let problem = request.problem
    let ledger = result.ledger
    let n = problem.sequenceLength
    var problemFields: [(String, JSONValue)] = [
      ("batch", .int(problem.batch)), ("heads", .int(problem.heads)),
      ("seqLen", .int(n)), ("headDim", .int(problem.headDimension)),
      ("dtype", .string(problem.dataType.rawValue)),
      ("statisticsDtype", .string(problem.statisticsType.rawValue)),
      ("scale", .double(Double(problem.softmaxScale))),
      ("causal", .bool(problem.causal)),
      ("dropout", .double(Double(problem.dropoutProbability))),
      ("seed", .int(Int(truncatingIfNeeded: problem.seed))),
    ]
    if let lengths = problem.validLengths { problemFields.append(("validLengths", .array(lengths.map { .int($0) }))) }
    var passes: [(String, JSONValue)] = []
    for pass in result.passes {
      passes.append((pass.pass.rawValue, .object([
        ("blocks", .object(blocks(pass.blocks, n: n))),
        ("hbm", .object(hbm(pass.ledger))),
        ("flops", .object([("matmul", .int(pass.ledger.matmulFLOPs)), ("other", .int(pass.ledger.otherFLOPs))])),
        ("closedForm", closedForm(pass.closedForm, pass.ledger)),
        ("skippedBlocks", .int(pass.skippedBlocks)),
        ("time", time(pass.estimate)),
        ("tiles", tiles(pass.tiles)),
      ])))
    }
    let reported = result.passes.filter { request.passesReported.contains($0.pass) }
    var fields: [(String, JSONValue)] = [
      ("algorithm", .string(request.algorithm.rawValue)),
      ("pass", .string(request.pass.rawValue)),
      ("mode", .string(request.mode.rawValue)),
      ("machine", .string(request.machine.name)),
      ("problem", .object(problemFields)),
      ("blocks", .object(blocks(result.blocks, n: n) + [("rule", .string(request.blocks == nil ? request.blockRule.rawValue : "explicit"))])),
      ("sram", .object([
        ("capacityBytes", .int(request.machine.sramCapacityInBytes)), ("peakBytes", .int(result.peakSRAMBytes)),
      ])),
      ("registers", .object([
        ("capacityBytes", .int(request.machine.registerFileInBytes)), ("peakBytes", .int(result.peakRegisterBytes)),
      ])),
      ("tiles", tiles(result.passes.last { request.passesReported.contains($0.pass) }?.tiles ?? [])),
      ("hbm", .object(hbm(ledger) + [
        ("perHeadElements", .int(result.headLedger.hbmElements)),
        ("peakResidentBytesPerHead", .int(result.peakHBMBytesPerHead)),
      ])),
      ("flops", .object([("matmul", .int(ledger.matmulFLOPs)), ("other", .int(ledger.otherFLOPs))])),
      ("time", time(result.estimate)),
      ("closedForm", closedForm(result.closedForm, ledger)),
      ("skippedBlocks", .int(reported.reduce(0) { $0 + $1.skippedBlocks })),
      ("passes", .object(passes)),
      ("wallSeconds", .double(result.wallSeconds)),
    ]
    if let passes = result.softmaxPasses { fields.append(("softmaxPasses", .int(passes))) }
    if let mask = result.mask {
      fields.append(("mask", .object([
        ("pattern", .string(mask.pattern)), ("nonzeroBlocks", .int(mask.nonzeroBlocks)),
        ("totalBlocks", .int(mask.totalBlocks)), ("density", .double(mask.density)),
        ("skipEmptyColumns", .bool(request.sparsity?.skipEmptyColumns ?? false)),
      ])))
    }
    if let error = result.maxRelativeError {
      let byTensor = ["O", "dQ", "dK", "dV"].compactMap { name in result.errors[name].map { (name, JSONValue.double($0)) } }
      var check: [(String, JSONValue)] = [
        ("maxRelativeError", .double(error)), ("reference", .string("float64")), ("byTensor", .object(byTensor)),
      ]
      if let dense = result.relativeErrorVsDense { check.append(("relativeErrorVsDense", .double(dense))) }
      check += checkFields(result)
      fields.append(("check", .object(check)))
    } else if result.checkMode != nil {
      fields.append(("check", .object(checkFields(result))))
    }
    return .object(fields)
  }

  /// How execute mode checked: `mode` (full, sampled, none), `rowsChecked` (query rows per head),
  /// `nonFiniteOutputs` (NaN or infinite values where float64 is finite) and `passed` (false
  /// when there are any).
  static func checkFields(_ result: SimulationResult) -> [(String, JSONValue)] {
    guard let mode = result.checkMode else { return [] }
    return [
      ("mode", .string(mode.rawValue)), ("rowsChecked", .int(result.rowsChecked)),
      ("nonFiniteOutputs", .int(result.nonFiniteOutputs)), ("passed", .bool(!result.checkFailed)),
    ]
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
    var masks: [String] = []
    if problem.causal { masks.append("causal") }
    if let lengths = problem.validLengths { masks.append("valid lengths \(lengths.map(String.init).joined(separator: ","))") }
    if problem.dropoutProbability > 0 { masks.append("dropout \(problem.dropoutProbability)") }
    out += "  problem  batch \(problem.batch) × heads \(problem.heads), N=\(n), d=\(problem.headDimension), "
      + "\(problem.dataType) data, \(problem.statisticsType) statistics, τ=\(problem.softmaxScale)"
      + (masks.isEmpty ? "" : ", " + masks.joined(separator: ", ")) + "\n"
    let m = spec.sramCapacityInBytes / problem.dataType.byteWidth
    out += "  machine  \(spec.name): SRAM \(g(spec.sramCapacityInBytes)) B per SM (M = \(g(m)) \(problem.dataType) elements), "
      + "HBM \(NumberFormatting.fixed(spec.hbmBytesPerSecond / 1e12, 3)) TB/s\n"
    let rule = request.blocks == nil ? "rule \(request.blockRule.rawValue)" : "explicit"
    for pass in result.passes {
      out += "  blocks   \(pass.pass.rawValue): Br=\(pass.blocks.queryBlockSize), Bc=\(pass.blocks.keyBlockSize) "
        + "(Tr=\(pass.blocks.queryBlockCount(n)), Tc=\(pass.blocks.keyBlockCount(n)); \(rule))"
        + (pass.skippedBlocks > 0 ? ", \(g(pass.skippedBlocks)) blocks skipped by the causal mask" : "") + "\n"
    }
    if let mask = result.mask {
      out += "  mask     \(mask.pattern): \(g(mask.nonzeroBlocks)) of \(g(mask.totalBlocks)) blocks (density \(NumberFormatting.fixed(mask.density, 3)))"
        + (request.sparsity?.skipEmptyColumns == true ? ", empty columns skipped" : "") + "\n"
    }
    let share = Double(result.peakSRAMBytes) / Double(spec.sramCapacityInBytes) * 100
    out += "  SRAM     peak \(g(result.peakSRAMBytes)) of \(g(spec.sramCapacityInBytes)) B (\(NumberFormatting.fixed(share, 1))%)"
    if spec.registerFileInBytes > 0 {
      out += "; registers peak \(g(result.peakRegisterBytes)) of \(g(spec.registerFileInBytes)) B (accumulators)"
    }
    for pass in result.passes {
      let spilled = pass.tiles.filter(\.spilled).map(\.tile.name)
      if !spilled.isEmpty {
        out += "\n  spilled  \(pass.pass.rawValue): \(spilled.joined(separator: ", ")) placed in SRAM: did not fit the register file"
      }
    }
    out += "\n\n"

    var rows: [[String]] = [["HBM traffic", "elements", "bytes"]]
    for pass in result.passes where result.passes.count > 1 {
      rows.append(["\(pass.pass.rawValue) pass", g(pass.ledger.hbmElements), NumberFormatting.bytes(pass.ledger.hbmBytes)])
    }
    rows.append(["read", g(ledger.hbmReadElements), NumberFormatting.bytes(ledger.hbmReadBytes)])
    rows.append(["write", g(ledger.hbmWriteElements), NumberFormatting.bytes(ledger.hbmWriteBytes)])
    rows.append(["total (\(request.passesReported.map(\.rawValue).joined(separator: " + ")))", g(ledger.hbmElements), NumberFormatting.bytes(ledger.hbmBytes)])
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
      let parts = ["O", "dQ", "dK", "dV"].compactMap { name in result.errors[name].map { "\(name) \(NumberFormatting.scientific($0))" } }
      let sampled = result.checkMode == .sampled ? " on \(result.rowsChecked) sampled rows per head" : ""
      out += "  check        max relative error \(NumberFormatting.scientific(error)) against float64 attention\(sampled) (\(parts.joined(separator: ", ")))\n"
    } else if result.checkMode == CheckMode.none {
      out += "  check        none (--check none)\n"
    }
    if result.checkFailed {
      out += "  check        FAILED: \(result.nonFiniteOutputs) output values are NaN or infinite where float64 attention is finite\n"
    }
    if let dense = result.relativeErrorVsDense {
      out += "  vs dense     ‖O − O_dense‖ / ‖O_dense‖ = \(NumberFormatting.scientific(dense)) (what the sparsity costs)\n"
    }
    out += "  simulated in \(NumberFormatting.seconds(result.wallSeconds))"
      + (request.mode == .count ? " (count mode: one head per distinct shape simulated, × \(problem.headCount) heads)\n" : "\n")
    return out
  }
}
