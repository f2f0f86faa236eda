// Lesson 3: standard attention against FlashAttention, byte for byte. See Examples/README.md.
import Foundation
import Lessons

do {
  print(try Lessons.trafficRace(), terminator: "")
} catch {
  FileHandle.standardError.write(Data("error: \(error)\n".utf8))
  exit(1)
}
