import AttentionAlgorithms

/// The registered kernels as a Markdown table: the one in `Docs/Design.md` ("The kernels"), which a
/// test compares with this rendering, so the Docs list exactly what `KernelRegistry` holds.
public enum KernelTable {
  public static func markdown() -> String {
    var text = "| `--algorithm` | `--pass` | kernel | what it does | blocks | work units |\n|---|---|---|---|---|---|\n"
    for kernel in KernelRegistry.kernels {
      let shape: String
      switch kernel.blockShape {
      case .keyMajor: shape = "Bc large, Br ≤ d"
      case .queryMajor: shape = "Br large, Bc ≤ d"
      case .square: shape = "square"
      }
      let units = kernel.workDecomposition == .head ? "one per head" : "one per section"
      text += "| `\(kernel.algorithm.rawValue)` | \(kernel.pass.rawValue) | \(kernel.title) | \(kernel.summary) | \(shape) | \(units) |\n"
    }
    return text
  }
}
