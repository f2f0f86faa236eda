// Lesson 6: FlashAttention's backward pass (Algorithm 4), step by step. See Examples/README.md.
import Foundation
import Lessons

do {
  print(try Lessons.backwardPass(), terminator: "")
} catch {
  FileHandle.standardError.write(Data("error: \(error)\n".utf8))
  exit(1)
}
