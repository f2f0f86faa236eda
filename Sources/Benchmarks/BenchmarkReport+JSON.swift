import AttentionIO

extension BenchmarkReport {
  /// The FLOP convention every GFLOP/s of the report uses.
  public static let flopConvention =
    "4·N²·d per head forward (its two matmuls), 2.5× that (10·N²·d) backward, for every algorithm"

  /// The report as JSON. Contract keys: `results` (objects with `algorithm`, `pass`, `seqLen`,
  /// `headDim`, `threads`, `medianSeconds`, `gflops`, `fractionOfPeak`), `accountingOverhead`
  /// and `peakGflops`; the rest are documented extras.
  public func json() -> JSONValue {
    var object: [(String, JSONValue)] = [
      ("configuration", .string(configurationName)),
      ("date", .string(date)),
      ("host", .object([
        ("cpu", .string(host.cpuModel)), ("logicalCPUs", .int(host.logicalCPUs)),
        ("lastLevelCacheBytes", .int(host.lastLevelCacheBytes)),
        ("buildFlags", .array(host.buildFlags.map(JSONValue.string))), ("optimized", .bool(host.isOptimized)),
        ("cpuFeatures", .array(host.cpuFeatures.sorted().map(JSONValue.string))),
        ("buildAdvice", host.buildAdvice.map(JSONValue.string) ?? .null),
      ])),
      ("flopConvention", .string(Self.flopConvention)),
      ("peakGflops", .double(peak.gflops)),
      ("peakVariant", .string(peak.variant)),
      ("peakSamples", .int(peakSamples)),
      ("peakGflopsTwoThreads", peakTwoThreads.map(JSONValue.double) ?? .null),
      ("peakVariants", .array(peakVariants.map { .object([("variant", .string($0.variant)), ("gflops", .double($0.gflops))]) })),
      ("accountingOverhead", accounting.map { .double($0.combined) } ?? .null),
      ("results", .array(results.map(json))),
    ]
    if let accounting {
      object.append(("accounting", .object([
        ("seqLen", .int(accounting.shape.sequenceLength)), ("headDim", .int(accounting.shape.headDimension)),
        ("combined", .double(accounting.combined)),
        ("passes", .array(accounting.passes.map {
          .object([
            ("pass", .string($0.pass.rawValue)), ("machineSeconds", .double($0.machineSeconds)),
            ("bareSeconds", .double($0.bareSeconds)), ("overhead", .double($0.overhead)),
            ("maxDifference", .double($0.maxDifference)),
          ])
        })),
      ])))
    }
    if let scaling {
      object.append(("threadScaling", .object([
        ("seqLen", .int(scaling.shape.sequenceLength)), ("headDim", .int(scaling.shape.headDimension)),
        ("heads", .int(scaling.heads)), ("oneThreadSeconds", .double(scaling.oneThreadSeconds)),
        ("twoThreadSeconds", .double(scaling.twoThreadSeconds)), ("speedup", .double(scaling.speedup)),
        ("countsIdentical", .bool(scaling.countsIdentical)),
      ])))
    }
    if let countMode {
      object.append(("countMode", .object([
        ("problem", .string(countMode.description)), ("medianSeconds", .double(countMode.medianSeconds)),
        ("steps", .int(countMode.steps)), ("stepsPerSecond", .double(countMode.stepsPerSecond)),
        ("headsCovered", .int(countMode.headsCovered)), ("hbmBytes", .int(countMode.hbmBytes)),
      ])))
    }
    if let cacheEffect {
      func point(_ p: CacheEffect.Point) -> JSONValue {
        .object([
          ("seqLen", .int(p.sequenceLength)), ("matrixBytes", .int(p.matrixBytes)),
          ("standardSeconds", .double(p.standardSeconds)), ("flashSeconds", .double(p.flashSeconds)),
          ("standardOverFlash", .double(p.ratio)),
        ])
      }
      object.append(("cacheEffect", .object([
        ("headDim", .int(cacheEffect.headDimension)), ("lastLevelCacheBytes", .int(cacheEffect.lastLevelCacheBytes)),
        ("beyondCache", point(cacheEffect.large)), ("withinCache", point(cacheEffect.small)),
      ])))
    }
    if let memoryCheck {
      object.append(("memoryCheck", .object([
        ("seqLen", .int(memoryCheck.shape.sequenceLength)), ("headDim", .int(memoryCheck.shape.headDimension)),
        ("seconds", .double(memoryCheck.seconds)), ("baselineBytes", .int(memoryCheck.baselineBytes)),
        ("peakResidentBytes", .int(memoryCheck.peakBytes)), ("tensorBytes", .int(memoryCheck.tensorBytes)),
        ("limitBytes", .int(memoryCheck.limitBytes)), ("peakWasReset", .bool(memoryCheck.peakWasReset)),
        ("withinLimit", .bool(memoryCheck.withinLimit)),
      ])))
    }
    if let kvCacheAppends {
      object.append(("kvCacheAppends", .object([
        ("blockSize", .int(1)), ("smallCount", .int(kvCacheAppends.smallCount)), ("largeCount", .int(kvCacheAppends.largeCount)),
        ("smallSeconds", .double(kvCacheAppends.smallSeconds)), ("largeSeconds", .double(kvCacheAppends.largeSeconds)),
        ("ratio", .double(kvCacheAppends.ratio)), ("ratioLimit", .double(kvCacheAppends.ratioLimit)),
      ])))
    }
    object.append(("peakResidentBytes", .int(peakResidentBytes)))
    object.append(("targets", .array(targets.map {
      .object([
        ("name", .string($0.name)), ("value", .double($0.value)), ("threshold", .double($0.threshold)),
        ("atLeast", .bool($0.atLeast)), ("unit", .string($0.unit)), ("met", .bool($0.met)),
      ])
    })))
    object.append(("totalSeconds", .double(totalSeconds)))
    return .object(object)
  }

  func json(_ result: Result) -> JSONValue {
    .object([
      ("algorithm", .string(result.algorithm.rawValue)), ("pass", .string(result.pass.rawValue)),
      ("seqLen", .int(result.sequenceLength)), ("headDim", .int(result.headDimension)), ("threads", .int(result.threads)),
      ("medianSeconds", .double(result.medianSeconds)), ("gflops", .double(result.gflops)),
      ("fractionOfPeak", .double(fractionOfPeak(result))), ("peakGflopsPaired", .double(result.peakGFLOPs)),
      ("gemmCeilingGflops", .double(result.gemmCeilingGFLOPs)), ("fractionOfGemmCeiling", .double(result.fractionOfGEMMCeiling)),
      ("heads", .int(result.heads)),
      ("blockRows", .int(result.blocks.rows)), ("blockCols", .int(result.blocks.columns)),
      ("medianCPUSeconds", .double(result.medianCPUSeconds)), ("cpuShare", .double(result.cpuShare)),
    ])
  }
}
