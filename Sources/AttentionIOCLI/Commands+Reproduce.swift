extension CommandLineTool {
  func reproduce(_ arguments: [String]) throws {
    throw CLIError.runtime("reproduce: not implemented yet")
  }
}
