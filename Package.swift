// swift-tools-version:6.0
// AttentionIO: a simulated GPU memory hierarchy (SRAM/HBM) that runs standard attention and
// FlashAttention step by step, counts every element moved exactly, and does the real math on
// SIMD CPU tiles. No package dependencies: Foundation, Dispatch and XCTest only.
import PackageDescription

let package = Package(
  name: "AttentionIO",
  products: [
    .library(name: "AttentionIO", targets: ["AttentionIO"]),
    .executable(name: "attention-io", targets: ["attention-io"]),
  ],
  targets: [
    // MARK: - Public modules (dependencies point one way: down this list)
    /// Device model: memory levels, SRAM arena, HBM tensors, the IO ledger, the cost model.
    /// Knows nothing of attention.
    .target(name: "MemoryHierarchy"),
    /// SIMD micro-kernels on buffer pointers and their scalar twins. Knows nothing of IO.
    .target(name: "TileKernels"),
    /// The attention algorithms, written once against the machine's load/store/compute API.
    .target(name: "AttentionAlgorithms", dependencies: ["MemoryHierarchy", "TileKernels"]),
    /// Renderers and file formats: JSON, CSV, SVG, NPY, tables. Never recomputes a number.
    .target(name: "Reports", dependencies: ["MemoryHierarchy", "AttentionAlgorithms"]),
    /// Umbrella module that re-exports the library modules.
    .target(
      name: "AttentionIO",
      dependencies: ["MemoryHierarchy", "TileKernels", "AttentionAlgorithms", "Reports"]),

    // MARK: - Command-line tool
    /// The commands, argument parsing and exit codes, as a library so tests can drive it.
    .target(name: "AttentionIOCLI", dependencies: ["AttentionIO"]),
    .executableTarget(name: "attention-io", dependencies: ["AttentionIOCLI"]),

    // MARK: - Test support (not a product)
    .target(name: "_TestSupport"),

    // MARK: - Unit test bundles
    .testTarget(name: "MemoryHierarchyTests", dependencies: ["MemoryHierarchy", "_TestSupport"]),
    .testTarget(name: "TileKernelsTests", dependencies: ["TileKernels", "_TestSupport"]),
    .testTarget(
      name: "AttentionAlgorithmsTests",
      dependencies: ["AttentionAlgorithms", "MemoryHierarchy", "TileKernels", "_TestSupport"]),
    .testTarget(name: "ReportsTests", dependencies: ["Reports", "MemoryHierarchy", "AttentionAlgorithms", "_TestSupport"]),
    .testTarget(name: "AttentionIOCLITests", dependencies: ["AttentionIOCLI", "_TestSupport"]),
  ]
)
