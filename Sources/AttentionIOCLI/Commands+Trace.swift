extension CommandLineTool {
  func trace(_ arguments: [String]) throws {
    throw CLIError.runtime("trace: not implemented yet")
  }
}
