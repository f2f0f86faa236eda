import AttentionIOCLI
import Foundation

CommandLineTool.installSignalCleanup()
let code = CommandLineTool(showsProgress: true).run(Array(CommandLine.arguments.dropFirst()))
exit(code)
