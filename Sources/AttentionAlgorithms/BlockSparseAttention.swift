/// Closed forms of block-sparse FlashAttention (FlashAttention §3.3, Algorithm 5, and its
/// backward), which run as `FlashAttentionForward` / `FlashAttentionBackward` with a block mask.
///
/// With r_i the real rows of block row i (the last may be ragged) and c_j the real keys of block
/// column j, per head:
///
/// - forward: K and V: 2Nd (the literal Algorithm 5 loads K_j, V_j for every column), or
///   2d·Σ over nonempty columns of c_j when empty columns are skipped; plus, per nonzero block,
///   3·r_i·d + 4·r_i (load Q_i, O_i, ℓ_i, m_i; store O_i, ℓ_i, m_i);
/// - backward: K, V loads and dK, dV stores: 4Nd, or 4d·Σ over nonempty columns of c_j; plus, per
///   nonzero block, 5·r_i·d + 2·r_i (load Q_i, O_i, dO_i, dQ_i, ℓ_i, m_i; store dQ_i).
///
/// With a dense mask these are exactly FlashAttention's 2Nd + T_c(3Nd + 4N) and
/// 4Nd + T_c(5Nd + 2N). For a mask of density s on divisible sizes, the forward is
/// 2Nd + s·T_c(3Nd + 4N) = Θ(Nd + s·N²d²/M) (Proposition 4).
public enum BlockSparseAttention {
  public static func closedForm(
    sequenceLength n: Int, headDimension d: Int, blocks: BlockSizes, mask: BlockMask, pass: AttentionSchedule.Pass,
    skipEmptyColumns: Bool
  ) -> TrafficCount {
    let rows = { (i: Int) in min(n, (i + 1) * blocks.queryBlockSize) - i * blocks.queryBlockSize }
    let columns = { (j: Int) in min(n, (j + 1) * blocks.keyBlockSize) - j * blocks.keyBlockSize }
    var keyRows = n
    if skipEmptyColumns {
      keyRows = (0..<mask.columnBlocks).filter { !mask.isColumnEmpty($0) }.reduce(0) { $0 + columns($1) }
    }
    var reads = 0
    var writes = 0
    for i in 0..<mask.rowBlocks {
      for j in 0..<mask.columnBlocks where mask[i, j] {
        let r = rows(i)
        if pass == .forward {
          reads += 2 * r * d + 2 * r
          writes += r * d + 2 * r
        } else {
          reads += 4 * r * d + 2 * r
          writes += r * d
        }
      }
    }
    if pass == .forward {
      reads += 2 * keyRows * d
    } else {
      reads += 2 * keyRows * d
      writes += 2 * keyRows * d
    }
    return TrafficCount(readElements: reads, writeElements: writes)
  }
}
