import AttentionAlgorithms
import Dispatch
import MemoryHierarchy

/// One simulated decode step: a batch of sequences with given context lengths, a configuration,
/// a machine and a mode.
public struct PagedDecodeRequest: Sendable {
  /// L of each sequence, the new token included (so the step writes token L−1 and attends to L).
  public var contextLengths: [Int]
  public var configuration: PagedDecodeConfiguration
  public var machine: MachineSpec
  public var mode: ExecutionMode
  /// Seed of the random inputs and of the scattered physical block order.
  public var seed: UInt64

  public init(contextLengths: [Int], configuration: PagedDecodeConfiguration, machine: MachineSpec = .a100_40GB, mode: ExecutionMode = .count, seed: UInt64 = 0) {
    self.contextLengths = contextLengths
    self.configuration = configuration
    self.machine = machine
    self.mode = mode
    self.seed = seed
  }
}

/// What a decode step measured; a renderer formats these numbers and never recomputes them.
public struct PagedDecodeResult: Sendable {
  public let request: PagedDecodeRequest
  /// HBM traffic and FLOPs of the whole batch.
  public let ledger: IOLedger
  /// The closed form for the whole batch.
  public let closedForm: DecodeTrafficForm
  public let estimate: RooflineEstimate
  public let peakSRAMBytes: Int
  /// Execute mode: max|O − O_ref| / max|O_ref| against float64 attention over the contiguous cache.
  public let maxRelativeError: Double?
  /// Execute mode: O, (batch·h_q) × d row-major.
  public let output: [Float]?
  /// The block tables the step used (execute mode: every sequence; count mode: one per distinct
  /// context length).
  public let blockTables: [BlockTable]
  /// Sequences actually simulated (count mode simulates one per distinct length and multiplies).
  public let simulatedSequences: Int
  public let wallSeconds: Double
}

/// Runs paged decode steps: builds the block tables with a `KVCacheManager` whose free blocks are
/// handed out in a seeded random order (so a sequence's blocks are scattered over the pool),
/// places the cache, and runs `PagedDecodeAttention`.
public enum PagedDecodeSimulator {
  /// Runs `request`. Count mode simulates one sequence per distinct context length and multiplies
  /// its ledger; execute mode runs every sequence and checks the output against float64. A
  /// simulated pool holds at most `maximumPoolBlocks` blocks (one sequence in count mode, the
  /// whole batch in execute mode).
  /// - Throws: `PagedKVError` for an invalid batch, `MachineError` for machine faults.
  public static func run(_ request: PagedDecodeRequest) throws -> PagedDecodeResult {
    let start = DispatchTime.now()
    try validate(request)
    let c = request.configuration
    var ledger = IOLedger()
    var peak = 0
    var tables: [BlockTable] = []
    var error: Double?
    var output: [Float]?
    var simulated = 0
    switch request.mode {
    case .count:
      var multiplicity: [Int: Int] = [:]
      for l in request.contextLengths { multiplicity[l, default: 0] += 1 }
      for (l, count) in multiplicity.sorted(by: { $0.key < $1.key }) {
        let run = try runBatch([l], configuration: c, spec: request.machine, mode: .count, seed: request.seed)
        ledger.add(try run.ledger.repeated(count))
        peak = max(peak, run.peakSRAMBytes)
        tables += run.tables
        simulated += 1
      }
    case .execute:
      let run = try runBatch(request.contextLengths, configuration: c, spec: request.machine, mode: .execute, seed: request.seed)
      ledger = run.ledger
      peak = run.peakSRAMBytes
      tables = run.tables
      error = run.maxRelativeError
      output = run.output
      simulated = request.contextLengths.count
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    return PagedDecodeResult(
      request: request, ledger: ledger,
      closedForm: PagedDecodeAttention.closedForm(contextLengths: request.contextLengths, configuration: c),
      estimate: RooflineEstimate(ledger: ledger, spec: request.machine), peakSRAMBytes: peak, maxRelativeError: error,
      output: output, blockTables: tables, simulatedSequences: simulated, wallSeconds: seconds)
  }

  /// The checks of a request before anything is placed: the machine, a nonempty batch of positive
  /// context lengths, and counts that fit in 64 bits.
  static func validate(_ request: PagedDecodeRequest) throws {
    try request.machine.validate()
    guard !request.contextLengths.isEmpty else { throw PagedKVError.invalidArgument("the batch is empty") }
    if let bad = request.contextLengths.first(where: { $0 <= 0 }) {
      throw PagedKVError.invalidArgument("context length must be positive, got \(bad)")
    }
    try checkCountsFit(request)
  }

  /// Throws `MachineError.countOverflow` unless every count of the step (elements, bytes, FLOPs,
  /// bounded generously in floating point) fits in 64 bits, so the exact integer arithmetic of the
  /// ledger and the closed form cannot overflow.
  static func checkCountsFit(_ request: PagedDecodeRequest) throws {
    let c = request.configuration
    let d = Double(c.headDimension)
    let b = Double(c.blockSize)
    let hq = Double(c.queryHeads)
    var bound = 0.0
    for l in request.contextLengths {
      let n = Double(c.blockCount(contextLength: l))
      let p = Double(c.partitions(contextLength: l))
      // Elements (≤ reads + writes) and FLOPs, times 4 bytes, with room to spare.
      bound += 8 * (p * hq * (2 * d + 2) + hq * n * (2 * b * d + 1) + 3 * hq * d) + 4 * hq * n * b * d + hq * n * (5 * b + d + 11)
        + p * hq * (3 * d + 13)
    }
    guard bound < 0x1p62 else {
      throw MachineError.countOverflow(what: "a decode step of \(request.contextLengths.count) sequences")
    }
  }

  /// The seeded inputs of sequence s: K and V (h_kv × L × d, head-major) and q (h_q × d), as
  /// standard normals before rounding to the data type.
  public static func inputs(contextLength l: Int, configuration c: PagedDecodeConfiguration, seed: UInt64, sequence s: Int) -> (keys: [Float], values: [Float], queries: [Float]) {
    var rng = SeededRandom(seed: seed ^ (UInt64(s + 1) &* 0xD1B5_4A32_D192_ED03))
    let kv = c.keyValueHeads * l * c.headDimension
    return (rng.normals(kv), rng.normals(kv), rng.normals(c.queryHeads * c.headDimension))
  }

  struct BatchRun {
    var ledger: IOLedger
    var peakSRAMBytes: Int
    var tables: [BlockTable]
    var output: [Float]?
    var maxRelativeError: Double?
  }

  /// The largest pool a simulated batch may use: block indices travel as fp32 block-table entries,
  /// which hold integers exactly only below 2²⁴.
  public static let maximumPoolBlocks = 1 << 24

  /// A batch placed on a machine, ready for its decode step: the pool with every past token's K
  /// and V, the step's tensors, each sequence's block table (the new token's slot appended) and,
  /// in execute mode, the inputs the float64 check uses.
  struct PreparedBatch {
    let pool: KVPool
    let tensors: PagedDecodeAttention.Tensors
    let sequences: [PagedDecodeAttention.Sequence]
    let tables: [BlockTable]
    let inputs: [(keys: [Float], values: [Float], queries: [Float])]
  }

  /// Places a batch on `machine` (not counted: the prefill and earlier steps wrote the cache).
  static func prepareBatch(
    _ lengths: [Int], configuration c: PagedDecodeConfiguration, on machine: inout Machine, seed: UInt64
  ) throws -> PreparedBatch {
    let mode = machine.mode
    let d = c.headDimension
    let blockCount = lengths.reduce(0) { $0 + c.blockCount(contextLength: $1) }
    guard blockCount <= maximumPoolBlocks else {
      throw PagedKVError.invalidArgument(
        "the \(mode.rawValue)-mode pool would need \(blockCount) blocks; at most \(maximumPoolBlocks) are simulated (fp32 block-table entries)")
    }
    let cache = try c.cacheConfiguration(blockCount: blockCount)
    var order = Array(0..<blockCount)
    var shuffler = SeededRandom(seed: seed ^ 0x5CA7_7E4E_D0B1_0C45)
    order.shuffle(using: &shuffler)
    var manager = try KVCacheManager(configuration: cache, allocationOrder: order)
    // Host side, before the kernel: the past L−1 tokens are in the cache (the prefill and earlier
    // steps wrote them), and the scheduler appends the new token's slot.
    var tables: [BlockTable] = []
    for l in lengths {
      let id = try manager.allocateSequence(tokenCount: l - 1)
      try manager.appendToken(to: id)
      tables.append(try manager.table(of: id))
    }
    let executes = mode == .execute
    var inputs: [(keys: [Float], values: [Float], queries: [Float])] = []
    var keyPool: [Float]?
    var valuePool: [Float]?
    var queries: [Float]?
    if executes {
      let rows = blockCount * c.keyValueHeads * c.blockSize
      var kp = [Float](repeating: .nan, count: rows * d)
      var vp = kp
      var q: [Float] = []
      for (s, l) in lengths.enumerated() {
        var input = self.inputs(contextLength: l, configuration: c, seed: seed, sequence: s)
        for i in input.keys.indices {
          input.keys[i] = c.dataType.rounded(input.keys[i])
          input.values[i] = c.dataType.rounded(input.values[i])
        }
        for i in input.queries.indices { input.queries[i] = c.dataType.rounded(input.queries[i]) }
        for g in 0..<c.keyValueHeads {
          for position in 0..<(l - 1) {
            let slot = tables[s].slot(ofToken: position)
            let row = cache.poolRow(block: slot.physicalBlock, head: g, slot: slot.offset)
            let source = (g * l + position) * d
            for x in 0..<d {
              kp[row * d + x] = input.keys[source + x]
              vp[row * d + x] = input.values[source + x]
            }
          }
        }
        q += input.queries
        inputs.append(input)
      }
      keyPool = kp
      valuePool = vp
      queries = q
    }
    let pool = try KVPool.allocate(on: &machine, configuration: cache, keyContents: keyPool, valueContents: valuePool)
    let tensors = try PagedDecodeAttention.allocateTensors(on: &machine, configuration: c, tables: tables, queries: queries)
    var sequences: [PagedDecodeAttention.Sequence] = []
    for (s, l) in lengths.enumerated() {
      guard executes else {
        sequences.append(.init(table: tables[s]))
        continue
      }
      var newKeys: [Float] = []
      var newValues: [Float] = []
      for g in 0..<c.keyValueHeads {
        let source = (g * l + l - 1) * d
        newKeys += inputs[s].keys[source..<(source + d)]
        newValues += inputs[s].values[source..<(source + d)]
      }
      sequences.append(.init(table: tables[s], newKeys: newKeys, newValues: newValues))
    }
    return PreparedBatch(pool: pool, tensors: tensors, sequences: sequences, tables: tables, inputs: inputs)
  }

  static func runBatch(_ lengths: [Int], configuration c: PagedDecodeConfiguration, spec: MachineSpec, mode: ExecutionMode, seed: UInt64) throws -> BatchRun {
    let d = c.headDimension
    let executes = mode == .execute
    var machine = Machine(spec: spec, mode: mode)
    let batch = try prepareBatch(lengths, configuration: c, on: &machine, seed: seed)
    let (pool, tensors, sequences, tables, inputs) = (batch.pool, batch.tensors, batch.sequences, batch.tables, batch.inputs)
    try PagedDecodeAttention.run(on: &machine, pool: pool, tensors: tensors, sequences: sequences, configuration: c)
    var run = BatchRun(ledger: machine.ledger, peakSRAMBytes: machine.sram.peakBytes, tables: tables)
    if executes {
      let o = machine.contents(of: tensors.output)
      var error = MaxRelativeError()
      for (s, l) in lengths.enumerated() {
        for h in 0..<c.queryHeads {
          let g = h / c.groupSize
          let kv = (g * l * d)..<((g + 1) * l * d)
          let reference = ContiguousDecodeReference.attention(
            query: inputs[s].queries[(h * d)..<((h + 1) * d)], keys: Array(inputs[s].keys[kv]),
            values: Array(inputs[s].values[kv]), contextLength: l, headDimension: d, scale: c.softmaxScale)
          let row = (s * c.queryHeads + h) * d
          for x in 0..<d { error.add(Double(o[row + x]), reference: reference[x]) }
        }
      }
      run.output = o
      run.maxRelativeError = error.value
    }
    return run
  }
}
