import GPUModel

/// One attention call as a real GPU kernel sees it: batch B, heads H, sequence length N (queries
/// and keys), head dimension d, 2-byte elements (fp16 or bf16), causal or not, forward or
/// forward and backward. Inputs are `[B, H, N, d]` contiguous, as `torch.randn(B, H, N, d)`.
public struct AttentionWorkload: Hashable, Sendable, Codable {
  public enum Pass: String, CaseIterable, Sendable, Codable {
    case forward
    case forwardBackward = "forward+backward"
  }

  public var batch: Int
  public var heads: Int
  public var sequenceLength: Int
  public var headDimension: Int
  public var causal: Bool
  public var pass: Pass
  /// Bytes per element of Q, K, V, O and their gradients.
  public var elementBytes: Int

  public init(batch: Int, heads: Int, sequenceLength: Int, headDimension: Int, causal: Bool, pass: Pass, elementBytes: Int = 2) throws {
    for (name, value) in [("batch", batch), ("heads", heads), ("sequence length", sequenceLength), ("head dimension", headDimension)] {
      guard value > 0 else { throw GPUModelError.invalid("\(name) must be positive, got \(value)") }
    }
    // Every buffer of the model must have an address that fits an Int with room to spare: the
    // largest is an N×N score matrix per head (explicit attention) or dq_accum (fp32).
    let (heads2, o1) = batch.multipliedReportingOverflow(by: heads)
    let (square, o2) = sequenceLength.multipliedReportingOverflow(by: sequenceLength)
    let (scores, o3) = heads2.multipliedReportingOverflow(by: square)
    let (rows, o4) = heads2.multipliedReportingOverflow(by: sequenceLength)
    let (elements, o5) = rows.multipliedReportingOverflow(by: headDimension)
    guard !(o1 || o2 || o3 || o4 || o5), scores <= 1 << 50, elements <= 1 << 50 else {
      throw GPUModelError.invalid(
        "batch × heads × N × N and batch × heads × N × d must stay below 2^50 elements for the GPU model; got B=\(batch), H=\(heads), N=\(sequenceLength), d=\(headDimension)")
    }
    self.batch = batch
    self.heads = heads
    self.sequenceLength = sequenceLength
    self.headDimension = headDimension
    self.causal = causal
    self.pass = pass
    self.elementBytes = elementBytes
  }

  /// Bytes of one `[B, H, N, d]` tensor.
  public var tensorBytes: Int { batch * heads * sequenceLength * headDimension * elementBytes }
  /// Bytes of one row of d elements.
  public var rowBytes: Int { headDimension * elementBytes }
}

/// A buffer laid out as `[B, H, rows, columns]` (head-major) or `[B, rows, H, columns]`
/// (token-major), with the byte address of row `r` of head (b, h).
struct HeadMatrix: Sendable {
  enum Layout: Sendable { case headMajor, tokenMajor }
  var base: Int
  var heads: Int
  var rows: Int
  var rowBytes: Int
  var layout: Layout

  /// Address of row `row` of head (b, h).
  @inline(__always) func address(batch b: Int, head h: Int, row: Int) -> Int {
    switch layout {
    case .headMajor: return base + ((b * heads + h) * rows + row) * rowBytes
    case .tokenMajor: return base + ((b * rows + row) * heads + h) * rowBytes
    }
  }

  var rowStride: Int { layout == .headMajor ? rowBytes : rowBytes * heads }

  /// An access to rows [first, first + count) of head (b, h).
  @inline(__always) func rows(_ kind: GlobalAccessKind, batch b: Int, head h: Int, first: Int, count: Int) -> GlobalAccess {
    GlobalAccess(address: address(batch: b, head: h, row: first), rowBytes: rowBytes, rowStride: rowStride, rows: count, kind: kind)
  }

  static func allocate(_ memory: inout GlobalMemory, batch: Int, heads: Int, rows: Int, rowBytes: Int, layout: Layout = .headMajor) -> HeadMatrix {
    HeadMatrix(base: memory.allocate(bytes: batch * heads * rows * rowBytes), heads: heads, rows: rows, rowBytes: rowBytes, layout: layout)
  }
}

@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
