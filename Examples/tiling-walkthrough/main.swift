// Lesson 1: FlashAttention tile by tile on the teaching machine. See Examples/README.md.
import Foundation
import Lessons

do {
  print(try Lessons.tilingWalkthrough(), terminator: "")
} catch {
  FileHandle.standardError.write(Data("error: \(error)\n".utf8))
  exit(1)
}
