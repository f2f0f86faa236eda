import Foundation

/// A dense array read from or written to an NPY file: a C-order shape and its values as `Float`.
///
/// The initializer accepts any shape and values so that building one never traps; use
/// `validated(shape:values:)` to check that they agree. Equality compares values with `==`, so an
/// array holding NaN is not equal to itself; compare `bitPattern`s when that matters.
public struct NPYArray: Equatable, Sendable {
  /// Dimensions in C (row-major) order; `[]` is a scalar holding one value.
  public var shape: [Int]
  /// The elements in C order, converted to `Float` (float16 exactly, float64 rounded to nearest).
  public var values: [Float]

  /// An array with the given shape and values, unchecked (see `validated(shape:values:)`).
  public init(shape: [Int], values: [Float]) {
    self.shape = shape
    self.values = values
  }

  /// An array whose shape has no negative dimension and whose element count equals
  /// `values.count`.
  /// - Throws: `NPYError.negativeDimension`, `.shapeTooLarge` or `.dataLengthMismatch`.
  public static func validated(shape: [Int], values: [Float]) throws -> NPYArray {
    let array = NPYArray(shape: shape, values: values)
    try array.validate()
    return array
  }

  func validate() throws(NPYError) {
    let count = try NPY.elementCount(of: shape)
    guard count == values.count else {
      throw .dataLengthMismatch(
        shape: shape, expectedValues: count, bytesPerValue: 4, dataByteCount: values.count * 4)
    }
  }
}

/// Reads and writes NumPy's `.npy` format for floating-point arrays.
///
/// Reading accepts format versions 1.0 and 2.0, little-endian `f2`, `f4` and `f8` data in C
/// order, and any shape including `()` and `(0,)`. Writing produces what `numpy.save` produces
/// for a `float32` array, byte for byte. Malformed input always ends in an `NPYError`, never a
/// trap, and nothing is allocated for the values until the data length has been checked against
/// the shape.
///
/// ```swift
/// let array = NPYArray(shape: [2, 3], values: [0, 1, 2, 3, 4, 5])
/// try NPY.write(array, to: "scores.npy")
/// let back = try NPY.read(path: "scores.npy")   // == array
/// ```
public enum NPY {
  static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
  /// numpy aligns the start of the data to this many bytes.
  static let alignment = 64

  /// Parses the bytes of an NPY file.
  /// - Returns: the shape and the values converted to `Float`.
  /// - Throws: `NPYError`, whose description says what is wrong.
  public static func parse(_ data: Data) throws -> NPYArray {
    let result = data.withUnsafeBytes { raw in
      Result { () throws(NPYError) -> NPYArray in try parse(bytes: raw) }
    }
    return try result.get()
  }

  /// Reads and parses the NPY file at `path`.
  /// - Throws: `NPYFileError`, which names the file: `.unreadable` when it cannot be read,
  ///   `.invalid` wrapping the `NPYError` when its contents are not a supported array.
  public static func read(path: String) throws -> NPYArray {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw NPYFileError(path: path, reason: .unreadable("no such file"))
    }
    guard !isDirectory.boolValue else {
      throw NPYFileError(path: path, reason: .unreadable("it is a directory"))
    }
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
    } catch {
      throw NPYFileError(path: path, reason: .unreadable(error.localizedDescription))
    }
    let result = data.withUnsafeBytes { raw in
      Result { () throws(NPYError) -> NPYArray in try parse(bytes: raw) }
    }
    switch result {
    case let .success(array): return array
    case let .failure(error): throw NPYFileError(path: path, reason: .invalid(error))
    }
  }

  /// Writes `array` to `path` as `'<f4'` in C order, atomically (see `AtomicFile`).
  /// - Parameter overwrite: when false (the default) an existing file is an error.
  /// - Throws: `NPYFileError` with reason `.invalidArray` if the shape and values disagree (nothing
  ///   is written), or `AtomicFile.WriteError` if the file exists or cannot be written.
  public static func write(_ array: NPYArray, to path: String, overwrite: Bool = false) throws {
    do {
      try array.validate()
    } catch {
      throw NPYFileError(path: path, reason: .invalidArray(error))
    }
    try AtomicFile.write(serialize(array), to: path, overwrite: overwrite)
  }

  /// The number of elements in `shape`: 1 for `[]`, 0 if any dimension is 0.
  /// - Throws: `.negativeDimension`, or `.shapeTooLarge` if the product overflows `Int`.
  static func elementCount(of shape: [Int]) throws(NPYError) -> Int {
    guard shape.allSatisfy({ $0 >= 0 }) else { throw .negativeDimension(shape: shape) }
    // A zero anywhere wins, even after dimensions whose product alone would overflow.
    if shape.contains(0) { return 0 }
    var count = 1
    for dimension in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
      guard !overflow else { throw .shapeTooLarge(shape: shape) }
      count = product
    }
    return count
  }
}
