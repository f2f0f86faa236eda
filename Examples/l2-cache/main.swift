// Lesson 5: the L2 cache between the SMs and DRAM. See Examples/README.md.
import Foundation
import Lessons

do {
  print(try Lessons.l2Cache(), terminator: "")
} catch {
  FileHandle.standardError.write(Data("error: \(error)\n".utf8))
  exit(1)
}
