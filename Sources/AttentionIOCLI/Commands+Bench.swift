extension CommandLineTool {
  func bench(_ arguments: [String]) throws {
    throw CLIError.runtime("bench: not implemented yet")
  }
}
