// The umbrella module: `import AttentionIO` brings in the whole library.
@_exported import AttentionAlgorithms
@_exported import AttentionSimulation
@_exported import Experiments
@_exported import GPUKernels
@_exported import GPUModel
@_exported import MemoryHierarchy
@_exported import PagedKV
@_exported import Reports
@_exported import TileKernels
