/// Reading: the preamble, the header, then the data, each checked before the next is touched.
///
/// Layout of an NPY file (numpy's `lib/format.py`):
///
/// | bytes            | version 1.0          | version 2.0          |
/// |------------------|----------------------|----------------------|
/// | 0..<6            | `\x93NUMPY`          | `\x93NUMPY`          |
/// | 6, 7             | major 1, minor 0     | major 2, minor 0     |
/// | length field     | 2 bytes, little-end. | 4 bytes, little-end. |
/// | header           | that many bytes of Latin-1 dictionary literal, space-padded, `\n` |
/// | data             | the values, C order, nothing after them                          |
extension NPY {
  static func parse(bytes raw: UnsafeRawBufferPointer) throws(NPYError) -> NPYArray {
    for index in 0..<min(raw.count, magic.count) where raw[index] != magic[index] { throw .badMagic }
    let minimumPreamble = magic.count + 2 + 2
    guard raw.count >= magic.count + 2 else {
      throw .truncated(byteCount: raw.count, needed: minimumPreamble)
    }
    let major = raw[magic.count]
    let minor = raw[magic.count + 1]
    let lengthFieldSize: Int
    switch (major, minor) {
    case (1, 0): lengthFieldSize = 2
    case (2, 0): lengthFieldSize = 4
    // 3.0 differs from 2.0 only by a UTF-8 header, which numpy writes only for structured dtypes
    // with non-Latin-1 field names: never for the plain floats read here.
    default: throw .unsupportedVersion(major: Int(major), minor: Int(minor))
    }
    let headerStart = magic.count + 2 + lengthFieldSize
    guard raw.count >= headerStart else { throw .truncated(byteCount: raw.count, needed: headerStart) }

    // Accumulate in UInt64: a 4-byte length must not overflow even where Int is 32 bits.
    var headerLength: UInt64 = 0
    for index in 0..<lengthFieldSize {
      headerLength |= UInt64(raw[magic.count + 2 + index]) << (8 * UInt64(index))
    }
    let available = raw.count - headerStart
    guard headerLength <= UInt64(available) else {
      throw .headerBeyondEnd(headerLength: Int(clamping: headerLength), available: available)
    }
    let dataStart = headerStart + Int(headerLength)
    let header = try NPYHeader.parse(Array(raw[headerStart..<dataStart]))

    let count = try elementCount(of: header.shape)
    let bytesPerValue = header.dtype.bytesPerValue
    let (expectedByteCount, overflow) = count.multipliedReportingOverflow(by: bytesPerValue)
    guard !overflow else { throw .shapeTooLarge(shape: header.shape) }
    let dataByteCount = raw.count - dataStart
    guard dataByteCount == expectedByteCount else {
      throw .dataLengthMismatch(
        shape: header.shape, expectedValues: count, bytesPerValue: bytesPerValue,
        dataByteCount: dataByteCount)
    }
    let values = decode(raw, from: dataStart, count: count, as: header.dtype)
    return NPYArray(shape: header.shape, values: values)
  }

  /// Converts `count` little-endian values starting at byte `offset` to `Float`. The caller has
  /// checked that `offset + count * bytesPerValue == raw.count`. Loads are unaligned because
  /// nothing guarantees the data offset is aligned (version 2.0 headers, hand-made files).
  static func decode(
    _ raw: UnsafeRawBufferPointer, from offset: Int, count: Int, as dtype: NPYDType
  ) -> [Float] {
    func bits<T: FixedWidthInteger>(_ index: Int, as _: T.Type) -> T {
      T(littleEndian: raw.loadUnaligned(fromByteOffset: offset + index * MemoryLayout<T>.size, as: T.self))
    }
    switch dtype {
    case .float16: return (0..<count).map { Float(Float16(bitPattern: bits($0, as: UInt16.self))) }
    case .float32: return (0..<count).map { Float(bitPattern: bits($0, as: UInt32.self)) }
    case .float64: return (0..<count).map { Float(Double(bitPattern: bits($0, as: UInt64.self))) }
    }
  }
}
