// The final stores of the GEMM micro-kernels: plain (alpha, accumulate) or with per-row scales.

/// What a micro-kernel does with a finished sum of C: C = alpha·sum (+ C when `accumulate`), or,
/// with per-row scales, C[i] = rowScale[i]·sum + outputScale[i]·C[i] (FlashAttention's
/// O_i ← diag(α)·O_i + diag(β)·P̃V, folding both rescalings into the product).
///
/// Row numbers are relative to the block's first row: `rows(from:)` moves the scales along with
/// the block. The plain form does exactly what the kernels did before the rescaling form existed,
/// so its results are unchanged bit for bit.
@usableFromInline @frozen
internal struct Epilogue {
  @usableFromInline let alpha: Float
  @usableFromInline let accumulate: Bool
  @usableFromInline let rowScale: UnsafePointer<Float>?
  @usableFromInline let outputScale: UnsafePointer<Float>?

  /// C = alpha·sum (+ C).
  @inlinable
  init(alpha: Float, accumulate: Bool) {
    self.alpha = alpha
    self.accumulate = accumulate
    rowScale = nil
    outputScale = nil
  }

  /// C[i] = rowScale[i]·sum + outputScale[i]·C[i].
  @inlinable
  init(rowScale: UnsafePointer<Float>, outputScale: UnsafePointer<Float>) {
    alpha = 1
    accumulate = true
    self.rowScale = rowScale
    self.outputScale = outputScale
  }

  @inlinable
  init(alpha: Float, accumulate: Bool, rowScale: UnsafePointer<Float>?, outputScale: UnsafePointer<Float>?) {
    self.alpha = alpha
    self.accumulate = accumulate
    self.rowScale = rowScale
    self.outputScale = outputScale
  }

  /// This epilogue for a block starting `i` rows further down.
  @inlinable @inline(__always)
  func rows(from i: Int) -> Epilogue {
    guard let rowScale, let outputScale else { return self }
    return Epilogue(alpha: alpha, accumulate: accumulate, rowScale: rowScale + i, outputScale: outputScale + i)
  }

  /// Writes one LanePair of C, in row `row` of the block.
  @inlinable @inline(__always)
  func finish(_ sum: LanePair, at c: UnsafeMutablePointer<Float>, row: Int) {
    if let rowScale, let outputScale {
      let scaled: LanePair = sum * rowScale[row]
      let kept: LanePair = LaneOps.loadPair(c) * outputScale[row]
      LaneOps.store(kept + scaled, to: c)
      return
    }
    let scaled: LanePair = sum * alpha
    if accumulate {
      let old = LaneOps.loadPair(c)
      LaneOps.store(scaled + old, to: c)
    } else {
      LaneOps.store(scaled, to: c)
    }
  }

  /// Writes the lanes `lanes` of one Lane of C (c points at lane 0), in row `row` of the block.
  @inlinable @inline(__always)
  func finish(_ sum: Lane, at c: UnsafeMutablePointer<Float>, lanes: Range<Int>, row: Int) {
    if let rowScale, let outputScale {
      let scaled: Lane = sum * rowScale[row]
      let factor = outputScale[row]
      if lanes.count == Lane.scalarCount {
        let kept: Lane = LaneOps.load(c) * factor
        LaneOps.store(kept + scaled, to: c)
      } else {
        for t in lanes { c[t] = c[t] * factor + scaled[t] }
      }
      return
    }
    let scaled: Lane = sum * alpha
    if lanes.count == Lane.scalarCount {
      if accumulate {
        let old = LaneOps.load(c)
        LaneOps.store(scaled + old, to: c)
      } else {
        LaneOps.store(scaled, to: c)
      }
    } else {
      for t in lanes {
        c[t] = accumulate ? scaled[t] + c[t] : scaled[t]
      }
    }
  }

  /// Writes one element of C, in row `row` of the block.
  @inlinable @inline(__always)
  func finish(_ sum: Float, at c: UnsafeMutablePointer<Float>, row: Int) {
    if let rowScale, let outputScale {
      c.pointee = c.pointee * outputScale[row] + sum * rowScale[row]
      return
    }
    let scaled = alpha * sum
    c.pointee = accumulate ? scaled + c.pointee : scaled
  }
}
