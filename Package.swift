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
    /// A real GPU's launch order, CTAs per SM and sector-granular L2 in front of DRAM.
    /// Knows nothing of attention.
    .target(name: "GPUModel"),
    /// The work decomposition of real attention kernels (FlashAttention-1, -2, -3, explicit PyTorch) for
    /// the GPU model.
    .target(name: "GPUKernels", dependencies: ["GPUModel"]),
    /// SIMD micro-kernels on buffer pointers and their scalar twins. Knows nothing of IO.
    .target(name: "TileKernels"),
    /// The attention algorithms, written once against the machine's load/store/compute API.
    .target(name: "AttentionAlgorithms", dependencies: ["MemoryHierarchy", "TileKernels"]),
    /// The simulator (one run over every head, count and execute modes, the float64 check), traces,
    /// the stepper and work units (which a GPU's launch model can run): everything that runs
    /// registered kernels on a `Machine`.
    .target(name: "AttentionSimulation", dependencies: ["MemoryHierarchy", "AttentionAlgorithms", "GPUModel"]),
    /// Paged KV cache: block pool, block tables, copy-on-write, paged and split-KV decode, decode-time
    /// pruning.
    .target(name: "PagedKV", dependencies: ["MemoryHierarchy", "TileKernels", "AttentionAlgorithms", "AttentionSimulation"]),
    /// Experiments that put the library's numbers beside a paper's: the block-sparse sparsity sweep,
    /// and vLLM's KV-memory waste and sharing experiments.
    .target(name: "Experiments", dependencies: ["MemoryHierarchy", "AttentionAlgorithms", "AttentionSimulation", "PagedKV"]),
    /// Renderers and file formats: JSON, CSV, SVG, NPY, tables. Never recomputes a number.
    .target(name: "Reports", dependencies: ["MemoryHierarchy", "AttentionAlgorithms", "AttentionSimulation", "PagedKV", "Experiments", "GPUModel", "GPUKernels"]),
    /// Umbrella module that re-exports the library modules.
    .target(
      name: "AttentionIO",
      dependencies: [
        "MemoryHierarchy", "TileKernels", "AttentionAlgorithms", "AttentionSimulation", "PagedKV", "Experiments", "Reports", "GPUModel",
        "GPUKernels",
      ]),
    /// The paper-reproduction experiments (`attention-io reproduce`): tables, CSVs, SVG plots and the report.
    .target(name: "Reproduction", dependencies: ["AttentionIO"]),
    /// `attention-io bench`: wall-clock benchmarks of the execute-mode arithmetic and the accounting.
    .target(name: "Benchmarks", dependencies: ["AttentionIO"]),
    /// Step-by-step lessons behind the executables in Examples/ (deterministic text, golden-tested).
    .target(name: "Lessons", dependencies: ["AttentionIO"]),

    // MARK: - Command-line tool
    /// The commands, argument parsing and exit codes, as a library so tests can drive it.
    .target(name: "AttentionIOCLI", dependencies: ["AttentionIO", "Lessons", "Reproduction", "Benchmarks"]),
    .executableTarget(name: "attention-io", dependencies: ["AttentionIOCLI"]),

    // MARK: - Test support (not a product)
    .target(name: "_TestSupport", dependencies: ["AttentionAlgorithms"]),

    // MARK: - Unit test bundles
    .testTarget(name: "MemoryHierarchyTests", dependencies: ["MemoryHierarchy", "_TestSupport"]),
    .testTarget(name: "TileKernelsTests", dependencies: ["TileKernels", "_TestSupport"]),
    .testTarget(name: "GPUModelTests", dependencies: ["GPUModel", "GPUKernels", "_TestSupport"]),
    .testTarget(
      name: "AttentionAlgorithmsTests",
      dependencies: [
        "AttentionAlgorithms", "AttentionSimulation", "Experiments", "GPUModel", "MemoryHierarchy", "TileKernels", "_TestSupport",
      ]),
    .testTarget(name: "ReportsTests", dependencies: ["Reports", "MemoryHierarchy", "AttentionAlgorithms", "AttentionSimulation", "_TestSupport"]),
    .testTarget(name: "AttentionIOCLITests", dependencies: ["AttentionIOCLI", "AttentionIO", "_TestSupport"]),
    .testTarget(name: "PagedKVTests", dependencies: ["PagedKV", "AttentionAlgorithms", "AttentionSimulation", "MemoryHierarchy", "_TestSupport"]),
    .testTarget(
      name: "ExperimentsTests", dependencies: ["Experiments", "PagedKV", "AttentionAlgorithms", "AttentionSimulation", "MemoryHierarchy", "_TestSupport"]),
    .testTarget(name: "ReproductionTests", dependencies: ["Reproduction", "AttentionIO", "_TestSupport"]),
    .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "AttentionIO", "_TestSupport"]),
    .testTarget(name: "LessonsTests", dependencies: ["Lessons", "AttentionIO", "_TestSupport"], exclude: ["Golden"]),

    // MARK: - Examples (one executable lesson each; see Examples/README.md)
    .executableTarget(name: "tiling-walkthrough", dependencies: ["Lessons"], path: "Examples/tiling-walkthrough"),
    .executableTarget(name: "online-softmax", dependencies: ["Lessons"], path: "Examples/online-softmax"),
    .executableTarget(name: "traffic-race", dependencies: ["Lessons"], path: "Examples/traffic-race"),
    .executableTarget(name: "mask-gallery", dependencies: ["Lessons"], path: "Examples/mask-gallery"),
    .executableTarget(name: "l2-cache", dependencies: ["Lessons"], path: "Examples/l2-cache"),
    .executableTarget(name: "backward-pass", dependencies: ["Lessons"], path: "Examples/backward-pass"),
  ]
)
