import AttentionIO
import Foundation
import XCTest
@testable import Reproduction

/// "The paper's Figure 2 on a real GPU": its CSV comes from the GPU model (kernels run on their
/// own cold L2s in parallel give what the sequential model gives) and its totals add up.
final class Figure2GPUTests: XCTestCase {
  func testTheCSVIsTheGPUModelsCountsAndTotalsAddUp() throws {
    let output = ReproductionOutputTests.output
    let csv = try XCTUnwrap(output.files.first { $0.name == "figure2-gpu.csv" }).contents
    let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    XCTAssertEqual(
      lines.first,
      ["implementation", "kernel", "ctas", "ctas_per_sm", "tile_read_bytes", "l2_write_bytes", "dram_read_bytes", "dram_write_bytes", "l2_hit_rate"])
    let rows = lines.dropFirst()
    let workload = try AttentionWorkload(
      batch: ReproductionScale.quick.gpuFigure2Batch, heads: 16, sequenceLength: 1024, headDimension: 64, causal: true, pass: .forwardBackward)
    for name in Figure2GPU.presets {
      let mine = rows.filter { $0[0] == name }
      let kernels = mine.filter { $0[1] != "total" }
      let total = try XCTUnwrap(mine.first { $0[1] == "total" }, name)
      for column in 4...7 {
        XCTAssertEqual(kernels.reduce(0) { $0 + Int($1[column])! }, Int(total[column])!, "\(name) column \(lines[0][column])")
      }
      let model = try GPUTrafficModel.run(preset: KernelPreset.named(name)!, workload: workload, device: .a100_40GB)
      XCTAssertEqual(kernels.map { $0[1] }, model.kernels.map(\.name), name)
      XCTAssertEqual(Int(total[4])!, model.requestedReadSectors * 32, "\(name) tile reads")
      XCTAssertEqual(Int(total[6])!, model.dramReadBytes, "\(name) DRAM reads")
      XCTAssertEqual(Int(total[7])!, model.dramWriteBytes, "\(name) DRAM writes")
    }
    XCTAssertNotNil(output.experiment("figure2-gpu"))
  }
}
