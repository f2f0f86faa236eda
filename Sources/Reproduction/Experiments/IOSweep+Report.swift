import AttentionIO
import Foundation

extension IOSweep {
  /// `experiment,N,d,M,algorithm,elements` (M in elements).
  public var csv: CSVTable {
    var table = CSVTable(header: ["experiment", "N", "d", "M", "algorithm", "elements"])
    for p in points {
      table.append([p.axis.rawValue, String(p.sequenceLength), String(p.headDimension), String(p.sramElements), p.algorithm.rawValue, String(p.elements)])
    }
    return table
  }

  var fileStem: String { pass == .forward ? "theorem2" : "theorem5" }
  var theorem: String { pass == .forward ? "Thm 2" : "Thm 5" }

  /// One log-log plot per sweep, with each algorithm's fitted slope in the legend.
  public var figures: [ReproductionFile] {
    Axis.allCases.map { axis in
      let subset = points.filter { $0.axis == axis }
      let first = subset[0]
      var series: [LinePlot.Series] = []
      for algorithm in [AttentionAlgorithmKind.standard, .flash] {
        let curve = subset.filter { $0.algorithm == algorithm }
        var name = algorithm.rawValue
        if let fit = fit(axis, algorithm) {
          name += " — slope " + NumberFormatting.fixed(fit.slope, 2) + (fit.window == "all points" ? "" : " (" + fit.window + ")")
        }
        series.append(LinePlot.Series(name, points: curve.map { (x: Double($0.x), y: Double($0.elements)) }))
      }
      let fixed: String
      switch axis {
      case .sequenceLength: fixed = "d = \(first.headDimension), M = \(NumberFormatting.grouped(first.sramElements))"
      case .sramSize: fixed = "N = \(first.sequenceLength), d = \(first.headDimension)"
      case .headDimension: fixed = "N = \(first.sequenceLength), M = \(NumberFormatting.grouped(first.sramElements))"
      }
      let xLabel: String
      switch axis {
      case .sequenceLength: xLabel = "sequence length N"
      case .sramSize: xLabel = "SRAM size M (elements)"
      case .headDimension: xLabel = "head dimension d"
      }
      let plot = LinePlot(
        title: "\(theorem): \(pass.rawValue) HBM traffic vs \(axis.symbol) (\(fixed))",
        x: PlotAxis(xLabel, scale: .log(base: 2), values: subset.map { Double($0.x) }),
        y: PlotAxis("HBM elements per head", scale: .log(base: 10), values: subset.map { Double($0.elements) }),
        series: series, legend: axis == .sramSize ? .topRight : .topLeft)
      return ReproductionFile(name: "\(fileStem)-\(axis.rawValue).svg", contents: plot.svg())
    }
  }

  func claims(exactness: Exactness?) -> [Claim] {
    let anchor = fileStem
    var claims: [Claim] = []
    let bound = "Θ(Nd + N²)"
    let flashBound = "Θ(N²d²M⁻¹)"
    let names: [(Axis, AttentionAlgorithmKind, String)] = [
      (.sequenceLength, .standard, "standard \(pass.rawValue) is \(bound): exponent 2 in N"),
      (.sramSize, .standard, "standard \(pass.rawValue) does not depend on M: exponent 0 in M"),
      (.sequenceLength, .flash, "FlashAttention \(pass.rawValue) is \(flashBound): exponent 2 in N"),
      (.sramSize, .flash, "FlashAttention \(pass.rawValue) is \(flashBound): exponent −1 in M"),
      (.headDimension, .flash, "FlashAttention \(pass.rawValue) is \(flashBound): exponent 2 in d"),
    ]
    for (axis, algorithm, statement) in names {
      guard let fit = fit(axis, algorithm), let expected = fit.expected else { continue }
      var value = "slope " + NumberFormatting.fixed(fit.slope, 2) + " (" + fit.window + ")"
      var verdict: Claim.Verdict = fit.holds ? .holds : .fails
      if axis == .sramSize, algorithm == .standard, let small = smallMemorySlope {
        value += "; " + NumberFormatting.fixed(small.slope, 2) + " for M < 2d²"
        if fit.holds { verdict = .partly }
      }
      claims.append(Claim(
        source: theorem, statement: statement, paper: Markdown.exponent(expected), simulator: value, verdict: verdict, section: anchor))
    }
    let formula = pass == .forward ? "2Nd + T_c(3Nd + 4N)" : "4Nd + T_c(5Nd + 2N)"
    let matching = points.filter(\.matchesClosedForm).count
    claims.append(Claim(
      source: theorem + " (proof)", statement: "FlashAttention's exact count is \(formula); standard's is its tiled closed form (Docs/IOModel.md)",
      paper: formula, simulator: "\(matching) of \(points.count) points equal their closed form", verdict: allMatchClosedForm ? .holds : .fails,
      section: anchor))
    if let exactness {
      claims.append(Claim(
        source: "Thm 1", statement: "FlashAttention computes exact attention (forward and backward)",
        paper: "exact", simulator: String(format: "max relative error %.1e vs float64 (fp32, N=%d, d=%d); counts equal count mode's",
          exactness.maxRelativeError, exactness.sequenceLength, exactness.headDimension) + (exactness.countsAgree ? "" : " — they do NOT"),
        verdict: exactness.holds ? .holds : .fails, section: anchor))
    }
    return claims
  }

  /// Standard attention's slope over M below 2d², where the tiled matmuls' re-reads dominate.
  var smallMemorySlope: LineFit? {
    let small = points.filter { $0.axis == .sramSize && $0.algorithm == .standard && $0.sramElements < 2 * $0.headDimension * $0.headDimension }
    guard small.count >= 2 else { return nil }
    return LineFit.logLog(small.map { (x: Double($0.sramElements), y: Double($0.elements)) })
  }

  func section(exactness: Exactness?) -> String {
    let passName = pass == .forward ? "forward" : "backward"
    let flashForm = pass == .forward ? "2Nd + T_c(3Nd + 4N)" : "4Nd + T_c(5Nd + 2N)"
    let nPoint = points.first { $0.axis == .sequenceLength }!
    let mPoint = points.first { $0.axis == .sramSize }!
    let dPoint = points.first { $0.axis == .headDimension }!
    var text = """
      Each point is one count-mode simulation of one head (fp16, no mask) of the \(passName) pass; `elements` is \
      every element moved between HBM and SRAM. M is in elements (the paper's unit, Docs/PaperSources.md); a point with \
      M elements runs on `a100-40gb` with its SRAM set to 2M bytes and no separate register file, so that, as in the \
      paper's model, every tile (accumulators included) lives in the one on-chip memory of size M. Blocks come from the `fit` rule, the largest \
      blocks of the paper's proportions (Bc ≤ ⌈M/4d⌉, Br = min(Bc, d)) whose tiles fit the SRAM, which *is* the \
      paper's rule whenever that fits (Docs/BlockSizes.md). Sweeps: N over \
      \(points.filter { $0.axis == .sequenceLength && $0.algorithm == .flash }.map { String($0.sequenceLength) }.joined(separator: ", ")) \
      (d = \(nPoint.headDimension), M = \(NumberFormatting.grouped(nPoint.sramElements))); M from \
      \(NumberFormatting.grouped(points.filter { $0.axis == .sramSize }.map(\.sramElements).min()!)) (the smallest power-of-two size in the \
      sweep whose 1×1 tiles fit; the theorem's lower end M = d holds no tile plan) to Nd = \
      \(NumberFormatting.grouped(mPoint.sequenceLength * mPoint.headDimension)) (N = \(mPoint.sequenceLength), d = \(mPoint.headDimension)); \
      d over \(points.filter { $0.axis == .headDimension && $0.algorithm == .flash }.map { String($0.headDimension) }.joined(separator: ", ")) \
      (N = \(dPoint.sequenceLength), M = \(NumberFormatting.grouped(dPoint.sramElements))).

      **Closed forms.** \(points.filter(\.matchesClosedForm).count) of \(points.count) points equal their closed form exactly \
      (FlashAttention: \(flashForm) with T_c = ⌈N/Bc⌉; standard: the tiled count of Docs/IOModel.md and Docs/Backward.md).


      """
    var rows: [[String]] = []
    for fit in fits {
      rows.append([
        fit.axis.rawValue, fit.algorithm.rawValue, NumberFormatting.fixed(fit.slope, 3), fit.expected.map(Markdown.exponent) ?? "no claim",
        fit.window + " (\(fit.points.count) points)", fit.expected == nil ? "–" : (fit.holds ? "yes" : "no"),
      ])
    }
    text += Markdown.table(["sweep", "algorithm", "fitted log-log slope", "paper", "fitted over", "within ±0.1"], rows, alignRight: [2])
    text += "\n"
    for figure in figures { text += "![\(figure.name)](\(figure.name))\n\n" }

    // What the windows leave out, in numbers.
    let flashN = points.filter { $0.axis == .sequenceLength && $0.algorithm == .flash }
    if let first = flashN.first, let last = flashN.last {
      text += """
        **Edges.** FlashAttention's count is Θ(Nd·T_c); it is quadratic in N only once T_c = ⌈N/Bc⌉ grows. At \
        N = \(first.sequenceLength) it makes T_c = \(first.keyBlockCount) \(first.keyBlockCount == 1 ? "pass" : "passes") (Bc = \(first.blocks.keyBlockSize)), so the count is \
        close to linear there, and the one-off \(pass == .forward ? "2Nd" : "4Nd") term is not negligible until T_c ≈ 8; at \
        N = \(last.sequenceLength), T_c = \(last.keyBlockCount). Over M the top edge is the same effect (T_c → ⌈4Nd/M⌉ = 4 at \
        M = Nd) and the bottom edge is block granularity (Bc = 1, 2, 3 … rows). Over d the small-d end has \
        Bc = ⌈M/4d⌉ close to N.


        """
    }
    let standardM = points.filter { $0.axis == .sramSize && $0.algorithm == .standard }
    let flashM = points.filter { $0.axis == .sramSize && $0.algorithm == .flash }
    if let lo = standardM.first, let hi = standardM.last {
      let crossover = zip(standardM, flashM).first { $0.1.elements < $0.0.elements }
      text += """
        **Standard attention and M.** The paper counts standard attention with every input element read once \
        ("load by blocks", Docs/PaperSources.md), which gives 4N² + 4Nd\(pass == .forward ? "" : " (7N² + 8Nd backward)") whatever M is. \
        The simulator tiles its matmuls to fit the SRAM, so K and V are re-read once per query block: \
        \(pass == .forward ? "2·T_r·Nd" : "2·(T_r + T_c)·Nd") extra elements with T_r = ⌈N/b⌉ for b×b tiles. For M ≥ 8d² (tiles of \
        ≥ 2d rows) this is a fraction of the N² terms and the slope in M is \(NumberFormatting.fixed(fit(.sramSize, .standard)?.slope ?? 0, 2)); \
        below about 2d² the tiles hold fewer than d rows and the re-reads, Θ(N²d²/M) like FlashAttention's own, dominate\
        \(smallMemorySlope.map { " (slope " + NumberFormatting.fixed($0.slope, 2) + ")" } ?? ""): from M = \(NumberFormatting.grouped(lo.sramElements)) to \
        \(NumberFormatting.grouped(hi.sramElements)) standard's count falls \(NumberFormatting.fixed(Double(lo.elements) / Double(hi.elements), 1))×. \
        Any tiled matmul has this cost at small M (it is a matmul's own IO bound, not the attention's), which is why the paper's \
        Θ(Nd + N²) is the right statement only for M ≳ d². \
        \(crossover.map { "FlashAttention moves fewer elements than standard attention from M = \(NumberFormatting.grouped($0.1.sramElements)) on (≈ \(NumberFormatting.fixed(Double($0.1.sramElements) / Double($0.1.headDimension * $0.1.headDimension), 1))d²); below that its T_c passes over Q and O cost more than materialising S and P (Docs/IOModel.md, *When FlashAttention moves more than standard attention*)." } ?? "")


        """
    }
    if let exactness {
      text += """
        **Theorem 1 (execute mode).** FlashAttention forward and backward on one head with N = \(exactness.sequenceLength), \
        d = \(exactness.headDimension), fp32 storage and a \(exactness.sramBytes / 1024) KiB SRAM (blocks \(exactness.blocks), so the online softmax merges \
        \(exactness.blocks.keyBlockCount(exactness.sequenceLength)) key blocks): max relative error against float64 attention \
        \(exactness.errors.keys.sorted().map { "\($0) \(String(format: "%.1e", exactness.errors[$0]!))" }.joined(separator: ", ")); \
        the execute-mode ledger \(exactness.countsAgree ? "equals" : "differs from") the count-mode ledger.


        """
    }
    return text
  }

  func report(exactness: Exactness?, seconds: Double) -> ExperimentReport {
    ExperimentReport(
      name: fileStem,
      title: pass == .forward
        ? "Theorem 2: forward HBM accesses, standard Θ(Nd + N²) vs FlashAttention Θ(N²d²/M)"
        : "Theorem 5: backward HBM accesses, standard Θ(Nd + N²) vs FlashAttention Θ(N²d²/M)",
      csv: csv, figures: figures, claims: claims(exactness: exactness), section: section(exactness: exactness), seconds: seconds)
  }
}
