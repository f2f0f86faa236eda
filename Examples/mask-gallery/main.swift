// Lesson 4: the block-sparse mask gallery, pattern by pattern. See Examples/README.md.
import Foundation
import Lessons

do {
  print(try Lessons.maskGallery(), terminator: "")
} catch {
  FileHandle.standardError.write(Data("error: \(error)\n".utf8))
  exit(1)
}
