import MemoryHierarchy

/// Reads a custom machine from JSON (the CLI's `--device my-gpu.json`). Schema, with every field
/// required except `source` and the `levels.registers` object:
///
/// ```json
/// {
///   "name": "my-gpu",
///   "levels": {
///     "hbm":  { "capacityBytes": 40000000000, "bytesPerSecond": 1.555e12 },
///     "sram": { "capacityBytes": 196608, "bytesPerSecond": 19e12, "count": 108 },
///     "registers": { "capacityBytes": 262144 }
///   },
///   "compute": { "matmulFLOPsPerSecond": 312e12, "otherFLOPsPerSecond": 19.5e12 },
///   "source": "where the numbers come from"
/// }
/// ```
/// `levels.sram.capacityBytes` is one SM's SRAM (the paper's M, in bytes) and `count` the number
/// of SMs. `levels.registers` (optional) is one SM's register file, where kernels keep their
/// accumulator tiles; without it every tile lives in SRAM. Unknown fields are errors, so a typo
/// is never silently ignored.
public enum DeviceFile {
  /// Parses and validates a device description.
  /// - Throws: `MachineError.invalidSpecification` naming the field (dotted path) and what is
  ///   wrong, or for malformed JSON the field `json` with the line and column.
  public static func parse(_ text: String) throws -> MachineSpec {
    let root: JSONValue
    do {
      root = try JSONValue.parse(text)
    } catch let e as JSONParseError {
      throw MachineError.invalidSpecification(field: "json", reason: e.description)
    }
    let top = try object(root, "(top level)", keys: ["name", "levels", "compute", "source"])
    let levels = try object(try required(top, "levels", in: ""), "levels", keys: ["hbm", "sram", "registers"])
    let hbm = try object(try required(levels, "hbm", in: "levels"), "levels.hbm", keys: ["capacityBytes", "bytesPerSecond"])
    let sram = try object(
      try required(levels, "sram", in: "levels"), "levels.sram", keys: ["capacityBytes", "bytesPerSecond", "count"])
    let compute = try object(
      try required(top, "compute", in: ""), "compute", keys: ["matmulFLOPsPerSecond", "otherFLOPsPerSecond"])

    var registerBytes = 0
    if let registers = levels.first(where: { $0.0 == "registers" })?.1 {
      let fields = try object(registers, "levels.registers", keys: ["capacityBytes"])
      let value = try required(fields, "capacityBytes", in: "levels.registers")
      guard let bytes = value.intValue, bytes >= 0 else {
        throw fail("levels.registers.capacityBytes", "must be a whole number ≥ 0, got \(value.serialized())")
      }
      registerBytes = bytes
    }
    let spec = MachineSpec(
      name: try string(top, "name", in: ""),
      sramCapacityInBytes: try positiveInt(sram, "capacityBytes", in: "levels.sram"),
      streamingMultiprocessors: try positiveInt(sram, "count", in: "levels.sram"),
      hbmCapacityInBytes: try positiveInt(hbm, "capacityBytes", in: "levels.hbm"),
      hbmBytesPerSecond: try positiveNumber(hbm, "bytesPerSecond", in: "levels.hbm"),
      sramBytesPerSecond: try positiveNumber(sram, "bytesPerSecond", in: "levels.sram"),
      matmulFLOPsPerSecond: try positiveNumber(compute, "matmulFLOPsPerSecond", in: "compute"),
      otherFLOPsPerSecond: try positiveNumber(compute, "otherFLOPsPerSecond", in: "compute"),
      registerFileInBytes: registerBytes,
      source: try source(top))
    try spec.validate()
    return spec
  }

  /// The optional `source` field: a string when present.
  static func source(_ top: [(String, JSONValue)]) throws -> String {
    guard let value = top.first(where: { $0.0 == "source" })?.1 else { return "device file" }
    guard let text = value.stringValue else {
      throw fail("source", "must be a string, got \(value.serialized())")
    }
    return text
  }

  /// The JSON text of a spec in the same schema (round-trips through `parse`).
  public static func json(for spec: MachineSpec) -> JSONValue {
    .object([
      ("name", .string(spec.name)),
      ("levels", .object([
        ("hbm", .object([
          ("capacityBytes", .int(spec.hbmCapacityInBytes)),
          ("bytesPerSecond", .double(spec.hbmBytesPerSecond)),
        ])),
        ("sram", .object([
          ("capacityBytes", .int(spec.sramCapacityInBytes)),
          ("bytesPerSecond", .double(spec.sramBytesPerSecond)),
          ("count", .int(spec.streamingMultiprocessors)),
        ])),
        ("registers", .object([("capacityBytes", .int(spec.registerFileInBytes))])),
      ])),
      ("compute", .object([
        ("matmulFLOPsPerSecond", .double(spec.matmulFLOPsPerSecond)),
        ("otherFLOPsPerSecond", .double(spec.otherFLOPsPerSecond)),
      ])),
      ("source", .string(spec.source)),
    ])
  }

  typealias Object = [(String, JSONValue)]

  static func path(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }

  static func fail(_ field: String, _ reason: String) -> MachineError {
    .invalidSpecification(field: field, reason: reason)
  }

  static func object(_ value: JSONValue, _ field: String, keys: Set<String>) throws -> Object {
    guard let pairs = value.objectValue else { throw fail(field, "must be a JSON object") }
    for (key, _) in pairs where !keys.contains(key) {
      // An empty key is shown as `""`, so the message still names it.
      let shown = key.isEmpty ? "\"\"" : key
      throw fail(path(field == "(top level)" ? "" : field, shown), "unknown field (expected one of \(keys.sorted().joined(separator: ", ")))")
    }
    return pairs
  }

  static func required(_ object: Object, _ key: String, in parent: String) throws -> JSONValue {
    guard let value = object.first(where: { $0.0 == key })?.1 else {
      throw fail(path(parent, key), "missing")
    }
    return value
  }

  static func string(_ object: Object, _ key: String, in parent: String) throws -> String {
    guard let s = try required(object, key, in: parent).stringValue, !s.isEmpty else {
      throw fail(path(parent, key), "must be a non-empty string")
    }
    return s
  }

  static func positiveNumber(_ object: Object, _ key: String, in parent: String) throws -> Double {
    let value = try required(object, key, in: parent)
    guard let d = value.doubleValue else { throw fail(path(parent, key), "must be a number, got \(value.serialized())") }
    guard d > 0 else { throw fail(path(parent, key), "must be positive, got \(value.serialized())") }
    return d
  }

  static func positiveInt(_ object: Object, _ key: String, in parent: String) throws -> Int {
    let value = try required(object, key, in: parent)
    guard let i = value.intValue else {
      throw fail(path(parent, key), "must be a whole number, got \(value.serialized())")
    }
    guard i > 0 else { throw fail(path(parent, key), "must be positive, got \(i)") }
    return i
  }
}
