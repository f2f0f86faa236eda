import Foundation

/// Creates the folder of an output file when only that folder is missing (`--out out/flash.html`
/// in a fresh clone), as `--output-dir` and `reproduce --out` create theirs. A longer missing path
/// is left alone, so the write fails with one line naming it (more likely a typo than a wish).
func createOutputFolderIfMissing(for path: String) {
  let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
  let manager = FileManager.default
  guard !manager.fileExists(atPath: folder.path), manager.fileExists(atPath: folder.deletingLastPathComponent().path) else { return }
  try? manager.createDirectory(at: folder, withIntermediateDirectories: false)
}
