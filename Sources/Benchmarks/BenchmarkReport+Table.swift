import AttentionIO

extension BenchmarkReport {
  /// The report as text: the machine and build, the peak, the table, then each extra
  /// measurement and the targets.
  public func table() -> String {
    typealias F = NumberFormatting
    var text = "attention-io bench (\(configurationName)), \(date)\n"
    text += "host: \(host.cpuModel.isEmpty ? "unknown CPU" : host.cpuModel), \(host.logicalCPUs) logical CPUs"
    if host.lastLevelCacheBytes > 0 { text += ", last-level cache \(mebibytes(host.lastLevelCacheBytes))" }
    text += "\nbuild: \(host.isOptimized ? "release" : "DEBUG (numbers meaningless: use -c release)")"
    text += host.buildFlags.isEmpty ? ", no TILEKERNELS_* flags" : ", -D" + host.buildFlags.joined(separator: " -D")
    if let advice = host.buildAdvice { text += "\nnote: \(advice)" }
    text += "\nFLOPs: \(Self.flopConvention)\n"
    text += "peak (12 independent FMA chains, \(peak.variant)): median \(F.fixed(peak.gflops, 1)) GFLOP/s on 1 thread"
    if let peakTwoThreads { text += ", \(F.fixed(peakTwoThreads, 1)) on 2" }
    text += " over \(peakSamples) samples; each row's fraction of peak pairs every timed run with a peak sample taken just before it\n\n"

    var rows: [[String]] = [
      ["algorithm", "pass", "N", "d", "threads", "heads", "blocks", "median", "GFLOP/s", "peak", "of peak", "GEMM", "of GEMM", "CPU share"]
    ]
    for r in results {
      rows.append([
        r.algorithm.rawValue, r.pass.rawValue, "\(r.sequenceLength)", "\(r.headDimension)", "\(r.threads)", "\(r.heads)",
        "\(r.blocks.rows)×\(r.blocks.columns)", F.seconds(r.medianSeconds), F.fixed(r.gflops, 1),
        F.fixed(r.peakGFLOPs, 1), percent(fractionOfPeak(r)), F.fixed(r.gemmCeilingGFLOPs, 1), percent(r.fractionOfGEMMCeiling),
        percent(r.cpuShare),
      ])
    }
    text += F.table(rows, indent: "")
    text += """
      peak: FMA-chain rate sampled just before each timed run; GEMM: the tile GEMM on L1-resident 64×64×64 tiles, \
      sampled the same way (it drops when a neighbour shares the core; the FMA chains do not); heads run on separate \
      machines spread over the threads; CPU share below 100% means other processes held the cores.

      """

    if let accounting {
      text += "\naccounting overhead at \(accounting.shape) (execute-mode machine, ledger on, trace off, against the bare schedule):\n"
      for pass in accounting.passes {
        text += "  \(pass.pass.rawValue): machine \(F.seconds(pass.machineSeconds)), bare \(F.seconds(pass.bareSeconds)), "
        text += "overhead \(percent(pass.overhead)), max |difference| \(F.scientific(pass.maxDifference))\n"
      }
      text += "  forward + backward: \(percent(accounting.combined))\n"
    }
    if let scaling {
      text += "\nthread scaling, flash forward at \(scaling.shape), \(scaling.heads) heads: 1 thread \(F.seconds(scaling.oneThreadSeconds)), "
      text += "2 threads \(F.seconds(scaling.twoThreadSeconds)): \(F.fixed(scaling.speedup, 2))×; "
      text += "counts identical: \(scaling.countsIdentical ? "yes" : "NO")\n"
    }
    if let countMode {
      text += "\ncount mode, \(countMode.description): \(F.seconds(countMode.medianSeconds)) per run, "
      text += "\(F.grouped(countMode.steps)) steps simulated (one head, counts × \(countMode.headsCovered)), "
      text += "\(F.grouped(Int(countMode.stepsPerSecond))) steps/s\n"
    }
    if let cacheEffect {
      text += "\ncache effect (forward, d=\(cacheEffect.headDimension), one head, one thread; last-level cache \(mebibytes(cacheEffect.lastLevelCacheBytes))):\n"
      for (label, point) in [("beyond the cache", cacheEffect.large), ("within the cache", cacheEffect.small)] {
        text += "  N=\(point.sequenceLength) (S is \(mebibytes(point.matrixBytes)), \(label)): standard \(F.seconds(point.standardSeconds)), "
        text += "flash \(F.seconds(point.flashSeconds)): standard takes \(F.fixed(point.ratio, 2))× as long\n"
      }
    }
    if let memoryCheck {
      text += "\nresident memory, flash forward \(memoryCheck.shape), one head: peak \(mebibytes(memoryCheck.peakBytes)) "
      text += "(before the run \(mebibytes(memoryCheck.baselineBytes)); Q, K, V, O are \(mebibytes(memoryCheck.tensorBytes))), "
      text += "limit \(mebibytes(memoryCheck.limitBytes)), \(F.seconds(memoryCheck.seconds))"
      text += memoryCheck.peakWasReset ? "\n" : " (peak could not be reset: includes earlier work)\n"
    }
    if let kvCacheAppends {
      text += "\nKV cache appends, one sequence, block size 1 (each append maps a block): "
      text += "\(F.grouped(kvCacheAppends.smallCount)) in \(F.seconds(kvCacheAppends.smallSeconds)), "
      text += "\(F.grouped(kvCacheAppends.largeCount)) in \(F.seconds(kvCacheAppends.largeSeconds)): "
      text += "\(F.fixed(kvCacheAppends.ratio, 2))× for \(F.fixed(Double(kvCacheAppends.largeCount) / Double(max(kvCacheAppends.smallCount, 1)), 0))× the appends\n"
    }
    text += "\npeak resident memory of this run: \(mebibytes(peakResidentBytes)); total time \(F.seconds(totalSeconds))\n"
    let targets = self.targets
    if !targets.isEmpty {
      text += "\ntargets:\n"
      var rows: [[String]] = []
      for target in targets {
        let value: String
        let threshold: String
        switch target.unit {
        case "fraction": (value, threshold) = (percent(target.value), percent(target.threshold))
        case "bytes": (value, threshold) = (mebibytes(Int(target.value)), mebibytes(Int(target.threshold)))
        case "s": (value, threshold) = (F.seconds(target.value), F.seconds(target.threshold))
        default: (value, threshold) = (F.fixed(target.value, 2) + target.unit, F.fixed(target.threshold, 2) + target.unit)
        }
        rows.append([target.name, value, (target.atLeast ? "≥ " : "≤ ") + threshold, target.met ? "met" : "NOT met"])
      }
      text += F.table(rows)
      let missed = targets.filter { !$0.met }
      if !missed.isEmpty {
        text += "\nNOT met does not mean the code is wrong (every count and result is checked by 'swift test'); it is a speed "
          + "or memory measurement of this build on this host\(host.loadAverage.map { " (load average \(F.fixed($0, 2)) on \(host.logicalCPUs) logical cores)" } ?? ""). Why, and what to do:\n"
        for target in missed { text += "- \(target.name): \(target.advice)\n" }
      }
    }
    return text
  }

  func percent(_ x: Double) -> String { NumberFormatting.fixed(100 * x, 1) + "%" }

  func mebibytes(_ bytes: Int) -> String { NumberFormatting.fixed(Double(bytes) / Double(1 << 20), 1) + " MiB" }
}
