/// Why bytes could not be read as an NPY array of floats.
///
/// Each description is one line that says what is wrong, in the file's own terms
/// (`unsupported dtype '<i4' (expected little-endian float16, float32 or float64)`).
public enum NPYError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The first six bytes are not `\x93NUMPY`.
  case badMagic
  /// The input ends before the fixed-size preamble (magic, version, header length) does.
  case truncated(byteCount: Int, needed: Int)
  /// A format version other than 1.0 and 2.0.
  case unsupportedVersion(major: Int, minor: Int)
  /// The header length field points past the end of the input.
  case headerBeyondEnd(headerLength: Int, available: Int)
  /// The header text is not the dictionary literal NPY requires; the message says where and why.
  case malformedHeader(String)
  /// One of `descr`, `fortran_order` and `shape` is absent from the header dictionary.
  case missingKey(String)
  /// A `descr` other than little-endian `f2`, `f4` or `f8`.
  case unsupportedDtype(String)
  /// `fortran_order` is `True`; only C order is read.
  case fortranOrder
  /// A dimension of the shape is negative.
  case negativeDimension(shape: [Int])
  /// The shape's element count (or its byte count) does not fit in an `Int`.
  case shapeTooLarge(shape: [Int])
  /// The data after the header is shorter or longer than the shape needs.
  case dataLengthMismatch(shape: [Int], expectedValues: Int, bytesPerValue: Int, dataByteCount: Int)

  public var description: String {
    switch self {
    case .badMagic:
      return "not an NPY file (bad magic string)"
    case let .truncated(byteCount, needed):
      return "truncated NPY file: the preamble needs \(needed) bytes but there are only \(byteCount)"
    case let .unsupportedVersion(major, minor):
      return "unsupported NPY version \(major).\(minor) (expected 1.0 or 2.0)"
    case let .headerBeyondEnd(headerLength, available):
      return "header length \(headerLength) runs past the end of the file "
        + "(only \(available) bytes follow the preamble)"
    case let .malformedHeader(reason):
      return "malformed header: \(reason)"
    case let .missingKey(key):
      return "malformed header: missing key '\(key)'"
    case let .unsupportedDtype(descr):
      return "unsupported dtype '\(descr)' (expected little-endian float16, float32 or float64)"
    case .fortranOrder:
      return "Fortran order is not supported"
    case let .negativeDimension(shape):
      return "shape \(shape) has a negative dimension"
    case let .shapeTooLarge(shape):
      return "shape \(shape) has more elements than can be addressed"
    case let .dataLengthMismatch(shape, expected, bytesPerValue, byteCount):
      // Whole values are reported as a count; a ragged tail as bytes. No arithmetic that could
      // trap on a hand-made error value (bytesPerValue 0, huge counts).
      if bytesPerValue > 0, byteCount % bytesPerValue == 0 {
        return "shape \(shape) needs \(expected) values but the data holds \(byteCount / bytesPerValue)"
      }
      return "shape \(shape) needs \(expected) values of \(bytesPerValue) bytes "
        + "but the data holds \(byteCount) bytes"
    }
  }
}

/// An NPY error that names the file it concerns, thrown by `NPY.read(path:)` and
/// `NPY.write(_:to:overwrite:)`.
public struct NPYFileError: Error, Equatable, Sendable, CustomStringConvertible {
  /// What went wrong with the file.
  public enum Reason: Equatable, Sendable {
    /// The file could not be read at all (missing, a directory, no permission).
    case unreadable(String)
    /// The file was read, but its bytes are not a supported NPY array.
    case invalid(NPYError)
    /// The array handed to `write` has a shape that disagrees with its values; nothing was written.
    case invalidArray(NPYError)
  }

  /// The path as the caller gave it.
  public var path: String
  /// What went wrong.
  public var reason: Reason

  /// An error about the file at `path`.
  public init(path: String, reason: Reason) {
    self.path = path
    self.reason = reason
  }

  public var description: String {
    switch reason {
    case let .unreadable(why): return "cannot read \(path): \(why)"
    case let .invalid(error): return "\(path): \(error)"
    case let .invalidArray(error): return "not writing \(path): \(error)"
    }
  }
}
