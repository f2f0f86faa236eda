import Foundation

/// Writing: the same bytes `numpy.save` writes for a C-contiguous `float32` array.
extension NPY {
  /// Serialises `array` as NPY version 1.0 (2.0 only if the header exceeds 65535 bytes), dtype
  /// `'<f4'`, C order.
  ///
  /// The header matches numpy's byte for byte: the dictionary with sorted keys, 21 − (digits of
  /// `shape[0]`) spare spaces so the shape can grow in place, then spaces and a final `\n` so the
  /// data starts at a multiple of 64 bytes.
  ///
  /// The shape and values are written as given. If they disagree (see
  /// `NPYArray.validated(shape:values:)`), the result is a file that `parse` rejects; `write`
  /// checks first.
  public static func serialize(_ array: NPYArray) -> Data {
    let header = wrap(headerText(shape: array.shape))
    var data = Data(count: header.count + 4 * array.values.count)
    data.withUnsafeMutableBytes { raw in
      raw.copyBytes(from: header)
      for (index, value) in array.values.enumerated() {
        let offset = header.count + 4 * index
        raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
      }
    }
    return data
  }

  /// The dictionary literal, as numpy's `_write_array_header` prints it:
  /// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` plus the growth-axis spaces.
  static func headerText(shape: [Int]) -> [UInt8] {
    let dimensions = shape.map(String.init)
    let tuple = dimensions.count == 1
      ? "(\(dimensions[0]),)"  // Python's one-element tuple
      : "(" + dimensions.joined(separator: ", ") + ")"
    var text = "{'descr': '<f4', 'fortran_order': False, 'shape': \(tuple), }"
    // numpy's GROWTH_AXIS_MAX_DIGITS = 21 (the digits of 8·2⁶⁴ − 1); axis 0 grows in C order.
    if let first = dimensions.first { text += String(repeating: " ", count: max(0, 21 - first.count)) }
    return Array(text.utf8)
  }

  /// Prepends magic, version and length, and pads with spaces and `\n` to the alignment, as
  /// numpy's `_wrap_header`: padding is 1…64 spaces (a full 64 when already aligned).
  static func wrap(_ header: [UInt8]) -> [UInt8] {
    var version: UInt8 = 1
    var lengthFieldSize = 2
    var padding = alignment - (magic.count + 2 + lengthFieldSize + header.count + 1) % alignment
    if header.count + padding + 1 > Int(UInt16.max) {
      version = 2
      lengthFieldSize = 4
      padding = alignment - (magic.count + 2 + lengthFieldSize + header.count + 1) % alignment
    }
    let headerLength = header.count + padding + 1
    var bytes = magic + [version, 0]
    // A header over 4 GiB (a billion dimensions) would be cut short here rather than trap.
    for index in 0..<lengthFieldSize { bytes.append(UInt8(truncatingIfNeeded: headerLength >> (8 * index))) }
    bytes += header
    bytes += [UInt8](repeating: 0x20, count: padding)
    bytes.append(0x0A)
    return bytes
  }
}
