import AttentionIO
import Foundation
import Reproduction

/// Reads a problem's tensors from NPY files and writes its results back, for checking the
/// simulator against numpy or PyTorch with one's own tensors. Files are `q.npy`, `k.npy`,
/// `v.npy` (and `do.npy` for a backward pass) of shape [N, D] or [B, H, N, D]; outputs are
/// `o.npy` (and `dq.npy`, `dk.npy`, `dv.npy`) as float32 in the same shape. Errors name the file.
enum NPYInputs {
  static func path(_ directory: String, _ name: String) -> String {
    URL(fileURLWithPath: directory).appendingPathComponent(name).path
  }

  /// The inputs, split into heads, and the rank of their shape (2 or 4).
  static func read(directory: String, problem: AttentionProblem, backward: Bool) throws -> (AttentionInputs, Int) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw CLIError.usage("simulate: --inputs \(directory) is not a directory")
    }
    let (n, d) = (problem.sequenceLength, problem.headDimension)
    let expected4 = [problem.batch, problem.heads, n, d]
    var rank = 0
    func load(_ name: String) throws -> [[Float]] {
      let file = path(directory, name)
      let array: NPYArray
      do {
        array = try NPY.read(path: file)
      } catch let error as NPYFileError {
        throw CLIError.usage(error.description)
      } catch {
        throw CLIError.usage("\(file): \(error)")
      }
      let shape = array.shape
      guard shape == [n, d] && problem.headCount == 1 || shape == expected4 else {
        let want = problem.headCount == 1 ? "[\(n), \(d)] or \(expected4)" : "\(expected4)"
        throw CLIError.usage("\(file): shape \(shape) does not match the problem (expected \(want) from --batch, --heads, --seq-len, --head-dim)")
      }
      if rank != 0 && rank != shape.count {
        throw CLIError.usage("\(file): shape \(shape) has a different rank from the other inputs")
      }
      rank = shape.count
      let stride = n * d
      return (0..<problem.headCount).map { Array(array.values[$0 * stride..<($0 + 1) * stride]) }
    }
    let inputs = AttentionInputs(
      queries: try load("q.npy"), keys: try load("k.npy"), values: try load("v.npy"),
      outputGradients: backward ? try load("do.npy") : nil)
    return (inputs, rank)
  }

  static func outputNames(backward: Bool) -> [String] {
    backward ? ["o.npy", "dq.npy", "dk.npy", "dv.npy"] : ["o.npy"]
  }

  static func inputNames(backward: Bool) -> [String] {
    backward ? ["q.npy", "k.npy", "v.npy", "do.npy"] : ["q.npy", "k.npy", "v.npy"]
  }

  /// The seeded inputs a run would draw itself (`--save-inputs`), every head.
  static func seeded(problem: AttentionProblem, backward: Bool) -> AttentionInputs {
    let heads = (0..<problem.headCount).map { Simulator.inputs(problem: problem, head: $0) }
    return AttentionInputs(
      queries: heads.map(\.q), keys: heads.map(\.k), values: heads.map(\.v), outputGradients: backward ? heads.map(\.dO) : nil)
  }

  /// Writes inputs as float32 NPY files (`--save-inputs`).
  static func write(_ inputs: AttentionInputs, directory: String, problem: AttentionProblem, rank: Int, force: Bool) throws {
    var tensors = [("q.npy", inputs.queries), ("k.npy", inputs.keys), ("v.npy", inputs.values)]
    if let dO = inputs.outputGradients { tensors.append(("do.npy", dO)) }
    try write(tensors, directory: directory, problem: problem, rank: rank, force: force)
  }

  /// Before any work: creates the directory if it is missing (as `reproduce --out` does), and
  /// fails if it is a file or an output exists without --force.
  static func checkOutputDirectory(_ directory: String, backward: Bool, force: Bool) throws {
    try checkOutputDirectory(directory, files: outputNames(backward: backward), force: force)
  }

  static func checkOutputDirectory(_ directory: String, files: [String], force: Bool) throws {
    do {
      try ReproductionOutput.prepare(directory: directory, files: files, overwrite: force)
    } catch let error as ReproductionError {
      throw CLIError.runtime(error.description)
    }
  }

  static func write(_ outputs: AttentionOutputs, directory: String, problem: AttentionProblem, rank: Int, force: Bool) throws {
    var tensors = [("o.npy", outputs.output)]
    if let dq = outputs.queryGradient, let dk = outputs.keyGradient, let dv = outputs.valueGradient {
      tensors += [("dq.npy", dq), ("dk.npy", dk), ("dv.npy", dv)]
    }
    try write(tensors, directory: directory, problem: problem, rank: rank, force: force)
  }

  static func write(_ tensors: [(String, [[Float]])], directory: String, problem: AttentionProblem, rank: Int, force: Bool) throws {
    let shape = rank == 2 ? [problem.sequenceLength, problem.headDimension] : [problem.batch, problem.heads, problem.sequenceLength, problem.headDimension]
    // Written under reproduce's marker, so files of an interrupted run never block the next.
    let unfinished = ReproductionOutput.unfinishedFiles(directory: directory)
    let marker = path(directory, ReproductionOutput.incompleteMarker)
    do {
      try AtomicFile.write(tensors.map(\.0).joined(separator: "\n") + "\n", to: marker, overwrite: true)
    } catch let error as AtomicFile.WriteError {
      throw CLIError.runtime(error.description)
    }
    for (name, heads) in tensors {
      do {
        try NPY.write(
          NPYArray(shape: shape, values: heads.flatMap { $0 }), to: path(directory, name), overwrite: force || unfinished.contains(name))
      } catch let error as NPYFileError {
        throw CLIError.runtime(error.description)
      } catch let error as AtomicFile.WriteError {
        throw CLIError.runtime(error.description)
      } catch {
        throw CLIError.runtime("\(path(directory, name)): \(error)")
      }
    }
    try? FileManager.default.removeItem(atPath: marker)
  }
}
