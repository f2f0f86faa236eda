extension CommandLineTool {
  func paged(_ arguments: [String]) throws {
    throw CLIError.runtime("paged: not implemented yet")
  }
}
