import Foundation

/// The block-sparsity patterns of `--mask`. Each is defined on the block grid: block row i
/// covers queries i·Br…, block column j keys j·Bc…, and δ(i) = ⌊i·Br/Bc⌋ is the key block that
/// holds the first query of row i (the diagonal; δ(i) = i for square blocks). See
/// `Docs/BlockSparse.md` for pictures and densities.
public enum BlockMaskPattern: Hashable, Sendable, CustomStringConvertible {
  /// Every block.
  case dense
  /// Blocks with at least one key at or before a query of the block (block-level causal; combine
  /// with `--causal` for exact element causality).
  case causal
  /// A sliding window: |j − δ(i)| < W (Longformer-style, symmetric; 2W − 1 blocks wide).
  case local(width: Int)
  /// Fixed/strided (Sparse Transformers): every S-th block along the diagonal, (δ(i) − j) mod S = 0.
  case strided(stride: Int)
  /// Flat butterfly (Pixelated Butterfly, the pattern of FlashAttention's block-sparse
  /// experiments): δ(i) ⊕ j has at most one bit set.
  case butterfly
  /// round(density · T_r·T_c) blocks chosen uniformly at random (seeded).
  case random(density: Double)
  /// BigBird/Longformer global + local: the first G key blocks are seen by every query, the first
  /// G query blocks see every key, plus the window |j − δ(i)| < W.
  case globalLocal(global: Int, window: Int)
  /// StreamingLLM: the first S key blocks (attention sinks) plus the W most recent blocks up to
  /// the diagonal, δ(i) − W < j ≤ δ(i).
  case sinksWindow(sinks: Int, window: Int)
  /// Query-aware top-K (in the spirit of Quest): for each query block, the K key blocks with the
  /// highest upper bound on q·k, computed from per-block key summaries (element-wise min and max).
  case topK(Int)
  /// A mask given explicitly (a mask file).
  case explicit(BlockMask)

  /// Parses `dense`, `causal`, `local:W`, `strided:S`, `butterfly`, `random:DENSITY`,
  /// `global-local:G,W`, `sinks-window:S,W`, `topk:K`.
  /// - Throws: `AttentionError.invalidBlocks` naming what is wrong.
  public init(parsing text: String) throws {
    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
    let name = parts.first ?? ""
    let arguments = parts.count > 1 ? parts[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init) : []
    func integers(_ count: Int, minimum: Int = 1) throws -> [Int] {
      guard arguments.count == count, let values = Optional(arguments.compactMap { Int($0) }), values.count == count,
        values.allSatisfy({ $0 >= minimum })
      else {
        throw AttentionError.invalidBlocks("mask '\(text)': \(name) takes \(count) whole number\(count > 1 ? "s" : "") ≥ \(minimum)")
      }
      return values
    }
    switch name {
    case "dense" where arguments.isEmpty: self = .dense
    case "causal" where arguments.isEmpty: self = .causal
    case "butterfly" where arguments.isEmpty: self = .butterfly
    case "local": self = .local(width: try integers(1)[0])
    case "strided": self = .strided(stride: try integers(1)[0])
    case "global-local":
      let v = try integers(2, minimum: 0)
      self = .globalLocal(global: v[0], window: v[1])
    case "sinks-window":
      let v = try integers(2, minimum: 0)
      self = .sinksWindow(sinks: v[0], window: v[1])
    case "topk": self = .topK(try integers(1)[0])
    case "random":
      guard arguments.count == 1, let density = Double(arguments[0]), density >= 0, density <= 1 else {
        throw AttentionError.invalidBlocks("mask '\(text)': random takes a density in [0, 1]")
      }
      self = .random(density: density)
    default:
      throw AttentionError.invalidBlocks(
        "unknown mask '\(text)' (patterns: dense, causal, local:W, strided:S, butterfly, random:DENSITY, global-local:G,W, sinks-window:S,W, topk:K, or a mask file)")
    }
  }

  public var description: String {
    switch self {
    case .dense: return "dense"
    case .causal: return "causal"
    case let .local(w): return "local:\(w)"
    case let .strided(s): return "strided:\(s)"
    case .butterfly: return "butterfly"
    case let .random(density): return "random:\(density)"
    case let .globalLocal(g, w): return "global-local:\(g),\(w)"
    case let .sinksWindow(s, w): return "sinks-window:\(s),\(w)"
    case let .topK(k): return "topk:\(k)"
    case .explicit: return "file"
    }
  }

  /// Whether the mask depends on the data (top-K), so it is chosen per head at run time.
  public var isDataDependent: Bool {
    if case .topK = self { return true }
    return false
  }

  /// The mask on a grid of `blocks` over N tokens. Top-K is data-dependent: this gives a
  /// placeholder with the same number of blocks per row (the first K), which has the same
  /// counts unless empty columns are skipped; runs choose the real blocks from the keys.
  /// - Throws: `AttentionError.invalidBlocks` when an explicit mask has the wrong shape.
  public func mask(sequenceLength n: Int, blocks: BlockSizes, seed: UInt64) throws -> BlockMask {
    let tr = blocks.queryBlockCount(n)
    let tc = blocks.keyBlockCount(n)
    let br = blocks.queryBlockSize
    let bc = blocks.keyBlockSize
    var mask = BlockMask(rowBlocks: tr, columnBlocks: tc)
    let diagonal = { (i: Int) in min(tc - 1, i * br / bc) }
    switch self {
    case let .explicit(given):
      guard given.rowBlocks == tr, given.columnBlocks == tc else {
        throw AttentionError.invalidBlocks(
          "the mask file has \(given.rowBlocks)×\(given.columnBlocks) blocks, but N=\(n) with Br=\(br), Bc=\(bc) needs \(tr)×\(tc)")
      }
      return given
    case .random(let density):
      var order = Array(0..<tr * tc)
      var rng = SeededRandom(seed: seed ^ 0x5EED_B10C)
      order.shuffle(using: &rng)
      let count = Int((density * Double(tr * tc)).rounded())
      for index in order.prefix(count) { mask.kept[index] = true }
      return mask
    default:
      break
    }
    for i in 0..<tr {
      let delta = diagonal(i)
      let lastQuery = min(n, (i + 1) * br) - 1
      for j in 0..<tc {
        let keep: Bool
        switch self {
        case .dense: keep = true
        case .causal: keep = j * bc <= lastQuery
        case let .local(w): keep = abs(j - delta) < w
        case let .strided(s): keep = (delta - j) % s == 0
        case .butterfly: keep = (delta ^ j).nonzeroBitCount <= 1
        case let .globalLocal(g, w): keep = j < g || i < g || abs(j - delta) < w
        case let .sinksWindow(s, w): keep = j < s || (j <= delta && j > delta - w)
        case let .topK(k): keep = j < k
        case .explicit, .random: keep = false
        }
        mask[i, j] = keep
      }
    }
    return mask
  }
}
