import Foundation

/// Decode attention in float64 on the host over any set of cached positions: the yardstick of
/// the pruning runs (full attention, each policy's output on the tokens it read, the mass it
/// recalled) and the source of the policies' decisions.
struct HostDecodeAttention: Sendable {
  let tokenCount: Int
  let headDimension: Int
  let queryHeads: Int
  let groupSize: Int
  let scale: Double
  /// h_kv × N × d and h_q × N × d, the stored (rounded) values in float64.
  let keys: [Double]
  let values: [Double]
  let queries: [Double]

  init(inputs: DecodeInputs, scale: Float) {
    tokenCount = inputs.tokenCount
    headDimension = inputs.headDimension
    queryHeads = inputs.queryHeads
    groupSize = inputs.queryHeads / inputs.keyValueHeads
    self.scale = Double(scale)
    keys = inputs.keys.map(Double.init)
    values = inputs.values.map(Double.init)
    queries = inputs.queries.map(Double.init)
  }

  /// Attention of query head h's query at `queryPosition` over `positions`: fills `scores` with
  /// the logits τ·q·k_t (one per position, in order) and `output` with Σ softmax·v, and returns
  /// the logsumexp of the logits.
  func attend(head h: Int, queryPosition: Int, positions: [Int], scores: inout [Double], output: inout [Double]) -> Double {
    let d = headDimension
    let n = tokenCount
    let g = h / groupSize
    if scores.count < positions.count { scores = [Double](repeating: 0, count: positions.count) }
    if output.count != d { output = [Double](repeating: 0, count: d) }
    var rowMax = -Double.infinity
    keys.withUnsafeBufferPointer { k in
      queries.withUnsafeBufferPointer { q in
        scores.withUnsafeMutableBufferPointer { s in
          let query = q.baseAddress! + (h * n + queryPosition) * d
          let head = k.baseAddress! + g * n * d
          for (i, t) in positions.enumerated() {
            let key = head + t * d
            var dot = 0.0
            for x in 0..<d { dot += query[x] * key[x] }
            let logit = scale * dot
            s[i] = logit
            if logit > rowMax { rowMax = logit }
          }
        }
      }
    }
    var sum = 0.0
    values.withUnsafeBufferPointer { v in
      scores.withUnsafeMutableBufferPointer { s in
        output.withUnsafeMutableBufferPointer { o in
          o.update(repeating: 0)
          let head = v.baseAddress! + g * n * d
          for (i, t) in positions.enumerated() {
            let p = Foundation.exp(s[i] - rowMax)
            sum += p
            let value = head + t * d
            for x in 0..<d { o[x] += p * value[x] }
          }
          for x in 0..<d { o[x] /= sum }
        }
      }
    }
    return rowMax + Foundation.log(sum)
  }
}

/// Full attention at every step of a decode run, in float64: the outputs and logsumexps that
/// every policy is compared with. Computed once and shared by the runs of a sweep.
public struct FullDecodeReference: Sendable {
  public let promptLength: Int
  public let steps: Int
  /// Step i − 1: h_q × d outputs.
  public let outputs: [[Double]]
  /// Step i − 1: h_q logsumexps.
  public let logSumExps: [[Double]]

  /// - Throws: `PagedKVError.invalidArgument` when the inputs do not fit the request.
  public init(inputs: DecodeInputs, request: PrunedDecodeRequest) throws {
    try request.validate(inputs)
    let host = HostDecodeAttention(inputs: try inputs.rounded(to: request.configuration.dataType), scale: request.configuration.softmaxScale)
    self.init(host: host, request: request)
  }

  init(host: HostDecodeAttention, request: PrunedDecodeRequest) {
    promptLength = request.promptLength
    steps = request.steps
    var outputs: [[Double]] = []
    var logSumExps: [[Double]] = []
    var scores: [Double] = []
    var output: [Double] = []
    var positions: [Int] = Array(0..<request.promptLength)
    for i in 1...request.steps {
      let position = request.promptLength + i - 1
      positions.append(position)
      var o: [Double] = []
      var l: [Double] = []
      for h in 0..<host.queryHeads {
        l.append(host.attend(head: h, queryPosition: position, positions: positions, scores: &scores, output: &output))
        o += output
      }
      outputs.append(o)
      logSumExps.append(l)
    }
    self.outputs = outputs
    self.logSumExps = logSumExps
  }
}
