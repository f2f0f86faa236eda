import AttentionAlgorithms
import Experiments
import PagedKV
import XCTest
import _TestSupport

final class MemoryExperimentTests: XCTestCase {
  func testBuddyAllocatorSplitsMergesAndFitsSevenMaximumReservations() {
    var buddy = BuddyAllocator(capacity: 15_728)
    XCTAssertEqual(BuddyAllocator.order(for: 1), 0)
    XCTAssertEqual(BuddyAllocator.order(for: 25), 5)
    XCTAssertEqual(BuddyAllocator.order(for: 32), 5)
    // 8192 + 4096 + 2048 hold seven 2048-slot blocks; the other 1,392 slots hold none.
    var offsets: [Int] = []
    for _ in 0..<7 { offsets.append(buddy.allocate(2048)!) }
    XCTAssertNil(buddy.allocate(2048))
    XCTAssertEqual(buddy.freeSlots, 15_728 - 7 * 2048)
    XCTAssertNotNil(buddy.allocate(1000), "1024 slots are still free")
    for offset in offsets { buddy.release(offset) }
    XCTAssertNotNil(buddy.allocate(8192), "freed buddies merge back")
  }

  func testBuddyAllocatorRandomUseLeaksNothing() {
    var rng = SplitMix64(seed: 0xB0DD1)
    var buddy = BuddyAllocator(capacity: 1000)
    var live: [(Int, Int)] = []
    for _ in 0..<2000 {
      if Bool.random(using: &rng), let (offset, _) = live.popLast() {
        buddy.release(offset)
      } else {
        let size = Int.random(in: 1...300, using: &rng)
        if let offset = buddy.allocate(size) {
          // No two live blocks overlap.
          let block = 1 << BuddyAllocator.order(for: size)
          for (other, otherSize) in live {
            XCTAssertTrue(offset + block <= other || other + otherSize <= offset, "overlap at \(offset)")
          }
          XCTAssertLessThanOrEqual(offset + block, 1000)
          live.append((offset, block))
        }
      }
    }
    for (offset, _) in live { buddy.release(offset) }
    XCTAssertEqual(buddy.freeSlots, 1000)
    XCTAssertNotNil(buddy.allocate(512))
  }

  func testWorkloadsMatchThePaperMeansAndAreSeeded() {
    for (workload, prompt, output) in [(Workload.sharegpt, 161.31, 337.99), (.alpaca, 19.31, 58.45)] {
      let requests = workload.requests(count: 20_000, rate: 5, seed: 42)
      let meanPrompt = Double(requests.reduce(0) { $0 + $1.promptLength }) / 20_000
      let meanOutput = Double(requests.reduce(0) { $0 + $1.outputLength }) / 20_000
      XCTAssertEqual(meanPrompt, prompt, accuracy: 0.04 * prompt, "\(workload)")
      XCTAssertEqual(meanOutput, output, accuracy: 0.04 * output, "\(workload)")
      XCTAssertTrue(requests.allSatisfy { (1...1024).contains($0.promptLength) && (1...1024).contains($0.outputLength) })
      XCTAssertTrue(zip(requests, requests.dropFirst()).allSatisfy { $0.arrivalSeconds <= $1.arrivalSeconds })
      XCTAssertEqual(requests.last!.arrivalSeconds / 20_000, 1.0 / 5, accuracy: 0.01, "Poisson rate")
      XCTAssertEqual(workload.requests(count: 50, rate: 5, seed: 42), Array(requests.prefix(50)), "seeded")
      XCTAssertNotEqual(workload.requests(count: 50, rate: 5, seed: 43), Array(requests.prefix(50)))
    }
    // The capacity of vLLM Table 1: 12 GiB / 800 KiB.
    XCTAssertEqual(ServingCostModel.opt13BOnA100.tokenCapacity, 15_728)
  }

  func testPagedWastesLittleAndOrcaMaxMostOnAShareGPTStream() throws {
    let experiment = try MemoryWasteExperiment(
      workload: .sharegpt, requestCount: 300, rate: 20, seed: 7,
      policies: [.orcaMax, .orcaPow2, .orcaOracle, .paged(blockSize: 1), .paged(blockSize: 16), .paged(blockSize: 256)])
    let report = try experiment.run()
    let byName = Dictionary(uniqueKeysWithValues: report.results.map { ($0.policy.description, $0) })
    let paged16 = try XCTUnwrap(byName["paged (B=16)"])
    let max = try XCTUnwrap(byName["orca-max"])
    let oracle = try XCTUnwrap(byName["orca-oracle"])
    XCTAssertGreaterThan(paged16.shares.tokenStates, 0.9)
    XCTAssertLessThan(max.shares.tokenStates, 0.3)
    XCTAssertLessThan(max.shares.tokenStates, oracle.shares.tokenStates)
    XCTAssertEqual(max.meanBatch, 7, accuracy: 1e-9, "seven 2048-slot reservations fit 15,728 slots")
    XCTAssertEqual(oracle.shares.internalFragmentation, 0, "the oracle never over-reserves")
    XCTAssertGreaterThan(paged16.meanBatch, 2 * oracle.meanBatch)
    XCTAssertGreaterThanOrEqual(byName["paged (B=1)"]!.shares.tokenStates, paged16.shares.tokenStates)
    XCTAssertGreaterThan(paged16.shares.tokenStates, byName["paged (B=256)"]!.shares.tokenStates)
    for result in report.results {
      let s = result.shares
      XCTAssertGreaterThan(result.measuredIterations, 0, "\(result.policy) was never memory-bound")
      XCTAssertEqual(s.tokenStates + s.reserved + s.internalFragmentation + s.externalFragmentation, 1, accuracy: 1e-9, "\(result.policy)")
      for share in [s.tokenStates, s.reserved, s.internalFragmentation, s.externalFragmentation] {
        XCTAssertGreaterThanOrEqual(share, 0, "\(result.policy)")
      }
      if result.policy.blockSize == nil { XCTAssertEqual(result.preemptions, 0, "reservations never need preemption") }
    }
    // Deterministic for a seed.
    XCTAssertEqual(try experiment.run().results, report.results)
  }

  func testSharingSavesBlocksAsInFigureFifteen() throws {
    let experiment = try SharingExperiment(workload: .alpaca, requestCount: 40, blockSize: 16, seed: 1)
    let results = try experiment.run()
    let parallel = results.filter { $0.mode == .parallelSampling }
    let beam = results.filter { $0.mode == .beamSearch }
    XCTAssertEqual(parallel.map(\.width), [2, 4, 6])
    for r in results {
      XCTAssertGreaterThan(r.savedShare, 0, "\(r.mode) \(r.width)")
      // Sharing can at best keep one copy of k sequences.
      XCTAssertLessThan(r.savedShare, 1 - 1 / Double(r.width), "\(r.mode) \(r.width)")
    }
    XCTAssertLessThan(parallel[0].savedShare, parallel[2].savedShare)
    XCTAssertLessThan(beam[0].savedShare, beam[2].savedShare)
    for (p, b) in zip(parallel, beam) { XCTAssertLessThan(p.savedShare, b.savedShare, "beams share more than samples") }
    XCTAssertEqual(try experiment.run(), results, "deterministic for a seed")
    XCTAssertEqual(parallel[0].paperSavedShare, 0.0609)
  }

  func testBadExperimentParametersThrow() {
    XCTAssertThrowsError(try MemoryWasteExperiment(workload: .alpaca, requestCount: 0))
    XCTAssertThrowsError(try MemoryWasteExperiment(workload: .alpaca, rate: 0))
    XCTAssertThrowsError(try MemoryWasteExperiment(workload: .alpaca, policies: [.paged(blockSize: 0)]))
    XCTAssertThrowsError(try SharingExperiment(requestCount: 0))
  }
}
