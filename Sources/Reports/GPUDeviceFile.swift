import GPUModel
import MemoryHierarchy

/// Reads a GPU for `simulate --kernel` from JSON (`--device my-gpu.json`). Schema, every field
/// required except the three marked optional:
///
/// ```json
/// {
///   "name": "l40s",
///   "computeCapability": 89,
///   "streamingMultiprocessors": 142,
///   "registersPerSM": 65536,
///   "sharedMemoryPerSMBytes": 102400,
///   "sharedMemoryPerBlockBytes": 101376,
///   "reservedSharedMemoryPerBlockBytes": 1024,
///   "maxThreadsPerSM": 1536,
///   "maxBlocksPerSM": 24,
///   "l2": { "capacityBytes": 100663296, "lineBytes": 128, "sectorBytes": 32, "associativity": 16, "partitions": 1 },
///   "dramBytesPerSecond": 864e9,
///   "source": "where the numbers come from"
/// }
/// ```
/// `registersPerSM` (default 65,536), `reservedSharedMemoryPerBlockBytes` (default 1,024) and
/// `source` are optional. Unknown fields are errors. A file with a top-level `l2` object is a GPU
/// file; one with `levels` is a device file of the paper model (`DeviceFile`).
public enum GPUDeviceFile {
  static let keys: Set<String> = [
    "name", "computeCapability", "streamingMultiprocessors", "registersPerSM", "sharedMemoryPerSMBytes",
    "sharedMemoryPerBlockBytes", "reservedSharedMemoryPerBlockBytes", "maxThreadsPerSM", "maxBlocksPerSM", "l2",
    "dramBytesPerSecond", "source",
  ]

  /// Whether `text` looks like a GPU file (a top-level `l2` object) rather than a paper-model one.
  public static func isGPUFile(_ text: String) -> Bool {
    (try? JSONValue.parse(text))?["l2"] != nil
  }

  /// Parses and validates a GPU description.
  /// - Throws: `MachineError.invalidSpecification` naming the field and what is wrong (for
  ///   malformed JSON the field `json`, with the line and column).
  public static func parse(_ text: String) throws -> GPUDeviceSpec {
    let root: JSONValue
    do {
      root = try JSONValue.parse(text)
    } catch let e as JSONParseError {
      throw MachineError.invalidSpecification(field: "json", reason: e.description)
    }
    let top = try DeviceFile.object(root, "(top level)", keys: keys)
    let l2 = try DeviceFile.object(
      try DeviceFile.required(top, "l2", in: ""), "l2", keys: ["capacityBytes", "lineBytes", "sectorBytes", "associativity", "partitions"])
    func optionalInt(_ key: String, default fallback: Int) throws -> Int {
      guard let value = top.first(where: { $0.0 == key })?.1 else { return fallback }
      guard let whole = value.intValue, whole >= 0 else {
        throw DeviceFile.fail(key, "must be a whole number ≥ 0, got \(value.serialized())")
      }
      return whole
    }
    let spec = GPUDeviceSpec(
      name: try DeviceFile.string(top, "name", in: ""),
      computeCapability: try DeviceFile.positiveInt(top, "computeCapability", in: ""),
      streamingMultiprocessors: try DeviceFile.positiveInt(top, "streamingMultiprocessors", in: ""),
      registersPerSM: try optionalInt("registersPerSM", default: 65_536),
      sharedMemoryPerSMInBytes: try DeviceFile.positiveInt(top, "sharedMemoryPerSMBytes", in: ""),
      sharedMemoryPerBlockInBytes: try DeviceFile.positiveInt(top, "sharedMemoryPerBlockBytes", in: ""),
      reservedSharedMemoryPerBlockInBytes: try optionalInt("reservedSharedMemoryPerBlockBytes", default: 1024),
      maxThreadsPerSM: try DeviceFile.positiveInt(top, "maxThreadsPerSM", in: ""),
      maxBlocksPerSM: try DeviceFile.positiveInt(top, "maxBlocksPerSM", in: ""),
      l2: L2CacheSpec(
        capacityInBytes: try DeviceFile.positiveInt(l2, "capacityBytes", in: "l2"),
        lineBytes: try DeviceFile.positiveInt(l2, "lineBytes", in: "l2"),
        sectorBytes: try DeviceFile.positiveInt(l2, "sectorBytes", in: "l2"),
        associativity: try DeviceFile.positiveInt(l2, "associativity", in: "l2"),
        partitions: try DeviceFile.positiveInt(l2, "partitions", in: "l2")),
      dramBytesPerSecond: try DeviceFile.positiveNumber(top, "dramBytesPerSecond", in: ""),
      source: try DeviceFile.source(top))
    do {
      try spec.validate()
    } catch let error as GPUModelError {
      throw MachineError.invalidSpecification(field: "gpu", reason: error.description)
    }
    return spec
  }

  /// The JSON of a GPU in the same schema (round-trips through `parse`).
  public static func json(for spec: GPUDeviceSpec) -> JSONValue {
    .object([
      ("name", .string(spec.name)), ("computeCapability", .int(spec.computeCapability)),
      ("streamingMultiprocessors", .int(spec.streamingMultiprocessors)), ("registersPerSM", .int(spec.registersPerSM)),
      ("sharedMemoryPerSMBytes", .int(spec.sharedMemoryPerSMInBytes)), ("sharedMemoryPerBlockBytes", .int(spec.sharedMemoryPerBlockInBytes)),
      ("reservedSharedMemoryPerBlockBytes", .int(spec.reservedSharedMemoryPerBlockInBytes)),
      ("maxThreadsPerSM", .int(spec.maxThreadsPerSM)), ("maxBlocksPerSM", .int(spec.maxBlocksPerSM)),
      ("l2", .object([
        ("capacityBytes", .int(spec.l2.capacityInBytes)), ("lineBytes", .int(spec.l2.lineBytes)),
        ("sectorBytes", .int(spec.l2.sectorBytes)), ("associativity", .int(spec.l2.associativity)),
        ("partitions", .int(spec.l2.partitions)),
      ])),
      ("dramBytesPerSecond", .double(spec.dramBytesPerSecond)), ("source", .string(spec.source)),
    ])
  }
}
