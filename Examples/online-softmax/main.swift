// Lesson 2: the online softmax on one row, block by block. See Examples/README.md.
import Foundation
import Lessons

do {
  print(try Lessons.onlineSoftmax(), terminator: "")
} catch {
  FileHandle.standardError.write(Data("error: \(error)\n".utf8))
  exit(1)
}
