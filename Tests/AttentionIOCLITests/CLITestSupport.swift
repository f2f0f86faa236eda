import AttentionIOCLI
import Foundation

/// Runs the tool in-process and captures its output.
final class CapturedRun: @unchecked Sendable {
  var stdout = ""
  var stderr = ""
  var code: Int32 = 0

  init(_ arguments: [String]) {
    let tool = CommandLineTool(standardOutput: { self.stdout += $0 }, standardError: { self.stderr += $0 })
    code = tool.run(arguments)
  }
}
