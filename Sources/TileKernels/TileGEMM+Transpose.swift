// A·Bᵀ by transposing B into a stack panel and running the outer-product kernel.
//
// Both operands of A·Bᵀ are contiguous along depth, so the natural SIMD form is a dot product
// per output with a horizontal sum at the end. That form, with a 2×4 block and a shuffle tree,
// ran at half the rate or less of copying a 32-column × 64-deep panel of B transposed (8×8
// in-register transposes) into a stack buffer and reusing the 4×32 outer-product kernel (the
// numbers are in Docs/Performance.md, "Measurements behind the kernels"). The buffer holds 32
// columns × 128 of depth (16 KB), so head dimensions up to 128 need one pass. The panel is a tuple of SIMD64
// values, not a heap buffer and not an `InlineArray` (which would need macOS 26 availability).

extension TileGEMM {
  /// Columns of B (rows of the panel) transposed per panel.
  @inlinable internal static var panelWidth: Int { 32 }
  /// Depth handled per panel; longer depths run in chunks that accumulate into C.
  @inlinable internal static var panelDepth: Int { 128 }

  /// C = alpha·A·Bᵀ (+ C) through transposed panels of B.
  @inlinable
  internal static func transposeAndMultiply(
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, depth: Int,
    alpha: Float, accumulate: Bool, rowBlock: Int = defaultRowBlock,
    narrowBlocks: Bool = defaultNarrowBlocks
  ) {
    if rows == 0 || columns == 0 { return }
    assert(MemoryLayout<TransposePanel>.size == (panelWidth * panelDepth + 64) * MemoryLayout<Float>.size)
    var storage = TransposePanel()
    withUnsafeMutableBytes(of: &storage) { raw in
      // Only raw loads and stores touch the panel; the typed pointer just carries the address.
      // The panel starts at the first 64-byte boundary: a 64-byte LanePair load that straddles
      // two cache lines costs two loads, which slows the 4×32 block measurably (Docs/Performance.md).
      guard let unaligned = raw.baseAddress else { return }
      let base = unaligned.alignedUp(toMultipleOf: 64)
      let panel = base.assumingMemoryBound(to: Float.self)
      var j = 0
      while j < columns {
        let width = Swift.min(panelWidth, columns - j)
        var q = 0
        repeat {
          let chunk = Swift.min(panelDepth, depth - q)
          transpose(
            b + j * ldb + q, ldb: ldb, rows: width, columns: chunk, into: panel, ld: panelWidth)
          outerProduct(
            a: a + q, aRowStride: lda, aDepthStride: 1, b: panel, ldb: panelWidth,
            bIsPadded: true, c: c + j, ldc: ldc, rows: rows, columns: width, depth: chunk,
            epilogue: Epilogue(alpha: alpha, accumulate: accumulate || q > 0), rowBlock: rowBlock,
            narrowBlocks: narrowBlocks)
          q += chunk
        } while q < depth
        j += width
      }
    }
  }

  /// dst[c·ldt + r] = src[r·ld + c] for r < rows, c < columns: a rows × columns tile written
  /// as its columns × rows transpose.
  ///
  /// Lets a caller that multiplies many A tiles by the same Bᵀ transpose B once and call
  /// `multiply` on it, instead of `multiplyTransposedB`, which transposes B panel by panel on
  /// every call (FlashAttention's S = Q_i·K_jᵀ for every query block i). Full 8×8 blocks are
  /// transposed in registers, edges in scalar; the result is exact.
  ///
  /// - Complexity: rows·columns loads and stores, no FLOPs.
  /// - Precondition: sizes ≥ 0, `ld ≥ columns`, `ldt ≥ rows`; the tiles do not overlap.
  @inlinable
  public static func transpose(
    _ src: UnsafePointer<Float>, ld: Int, rows: Int, columns: Int,
    into dst: UnsafeMutablePointer<Float>, ldt: Int
  ) {
    precondition(rows >= 0 && columns >= 0, "TileGEMM.transpose: negative size")
    precondition(ld >= columns && ldt >= rows, "TileGEMM.transpose: ld too small")
    transpose(src, ldb: ld, rows: rows, columns: columns, into: dst, ld: ldt)
  }

  /// dst[p·ld + r] = src[r·lds + p] for r < rows, p < columns: full 8×8 blocks in registers,
  /// edges in scalar. Writes to `dst` are raw stores only.
  @inlinable
  internal static func transpose(
    _ src: UnsafePointer<Float>, ldb lds: Int, rows: Int, columns: Int,
    into dst: UnsafeMutablePointer<Float>, ld: Int
  ) {
    let width = Lane.scalarCount
    let fullRows = rows - rows % width
    let fullColumns = columns - columns % width
    var r = 0
    while r < fullRows {
      var p = 0
      while p < fullColumns {
        transpose8x8(src + r * lds + p, lds: lds, into: dst + p * ld + r, ld: ld)
        p += width
      }
      for p in fullColumns..<columns {
        for rr in r..<(r + width) { storeRaw(src[rr * lds + p], at: dst + p * ld + rr) }
      }
      r += width
    }
    for rr in fullRows..<rows {
      for p in 0..<columns { storeRaw(src[rr * lds + p], at: dst + p * ld + rr) }
    }
  }

  /// A raw (untyped) store of one float, so the SIMD-typed panel memory is never written
  /// through a typed `Float` access.
  @inlinable @inline(__always)
  internal static func storeRaw(_ value: Float, at pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Float.self)
  }

  /// Transposes one 8×8 block: unpack pairs, then quads, then swap 128-bit halves (24 shuffles).
  @inlinable @inline(__always)
  internal static func transpose8x8(
    _ src: UnsafePointer<Float>, lds: Int, into dst: UnsafeMutablePointer<Float>, ld: Int
  ) {
    let r0 = LaneOps.load(src)
    let r1 = LaneOps.load(src + lds)
    let r2 = LaneOps.load(src + 2 * lds)
    let r3 = LaneOps.load(src + 3 * lds)
    let r4 = LaneOps.load(src + 4 * lds)
    let r5 = LaneOps.load(src + 5 * lds)
    let r6 = LaneOps.load(src + 6 * lds)
    let r7 = LaneOps.load(src + 7 * lds)
    // Interleave rows pairwise (unpacklo/unpackhi within each 128-bit half).
    let t0 = Lane(r0[0], r1[0], r0[1], r1[1], r0[4], r1[4], r0[5], r1[5])
    let t1 = Lane(r0[2], r1[2], r0[3], r1[3], r0[6], r1[6], r0[7], r1[7])
    let t2 = Lane(r2[0], r3[0], r2[1], r3[1], r2[4], r3[4], r2[5], r3[5])
    let t3 = Lane(r2[2], r3[2], r2[3], r3[3], r2[6], r3[6], r2[7], r3[7])
    let t4 = Lane(r4[0], r5[0], r4[1], r5[1], r4[4], r5[4], r4[5], r5[5])
    let t5 = Lane(r4[2], r5[2], r4[3], r5[3], r4[6], r5[6], r4[7], r5[7])
    let t6 = Lane(r6[0], r7[0], r6[1], r7[1], r6[4], r7[4], r6[5], r7[5])
    let t7 = Lane(r6[2], r7[2], r6[3], r7[3], r6[6], r7[6], r6[7], r7[7])
    // Combine pairs into quads (shufps).
    let u0 = Lane(t0[0], t0[1], t2[0], t2[1], t0[4], t0[5], t2[4], t2[5])
    let u1 = Lane(t0[2], t0[3], t2[2], t2[3], t0[6], t0[7], t2[6], t2[7])
    let u2 = Lane(t1[0], t1[1], t3[0], t3[1], t1[4], t1[5], t3[4], t3[5])
    let u3 = Lane(t1[2], t1[3], t3[2], t3[3], t1[6], t1[7], t3[6], t3[7])
    let u4 = Lane(t4[0], t4[1], t6[0], t6[1], t4[4], t4[5], t6[4], t6[5])
    let u5 = Lane(t4[2], t4[3], t6[2], t6[3], t4[6], t4[7], t6[6], t6[7])
    let u6 = Lane(t5[0], t5[1], t7[0], t7[1], t5[4], t5[5], t7[4], t7[5])
    let u7 = Lane(t5[2], t5[3], t7[2], t7[3], t5[6], t5[7], t7[6], t7[7])
    // Swap 128-bit halves (permute2f128).
    LaneOps.store(Lane(lowHalf: u0.lowHalf, highHalf: u4.lowHalf), to: dst)
    LaneOps.store(Lane(lowHalf: u1.lowHalf, highHalf: u5.lowHalf), to: dst + ld)
    LaneOps.store(Lane(lowHalf: u2.lowHalf, highHalf: u6.lowHalf), to: dst + 2 * ld)
    LaneOps.store(Lane(lowHalf: u3.lowHalf, highHalf: u7.lowHalf), to: dst + 3 * ld)
    LaneOps.store(Lane(lowHalf: u0.highHalf, highHalf: u4.highHalf), to: dst + 4 * ld)
    LaneOps.store(Lane(lowHalf: u1.highHalf, highHalf: u5.highHalf), to: dst + 5 * ld)
    LaneOps.store(Lane(lowHalf: u2.highHalf, highHalf: u6.highHalf), to: dst + 6 * ld)
    LaneOps.store(Lane(lowHalf: u3.highHalf, highHalf: u7.highHalf), to: dst + 7 * ld)
  }
}

/// A 16 KB stack buffer for one transposed panel (`panelDepth` × `panelWidth` floats), zeroed
/// at creation so that padding lanes read by the 8-wide kernel are always initialized, plus 256
/// bytes of slack so the panel can start on a 64-byte boundary (SIMD64 is only 16-byte aligned).
///
/// 128 rows of depth cover head dimensions up to 128 in one pass; a tuple of SIMD64 values is
/// contiguous (stride = size = 256 bytes) and lives on the stack.
@usableFromInline @frozen
internal struct TransposePanel {
  @usableFromInline typealias Row = SIMD64<Float>
  @usableFromInline typealias Block = (Row, Row, Row, Row, Row, Row, Row, Row)
  @usableFromInline
  internal var storage: (Block, Block, Block, Block, Block, Block, Block, Block)
  @usableFromInline
  internal var slack: Row

  @inlinable
  internal init() {
    let zero = Row()
    let block: Block = (zero, zero, zero, zero, zero, zero, zero, zero)
    storage = (block, block, block, block, block, block, block, block)
    slack = zero
  }
}
