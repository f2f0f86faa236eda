// swift-tools-version:6.0
// A package of its own that depends on AttentionIO (here by path, from this repository; from
// elsewhere by URL) and writes its own tiled algorithm against the simulated machine, with an
// XCTest property test of its exact HBM traffic. Built and tested by .ci/run; see Docs/Library.md.
import Foundation
import PackageDescription

/// A path dependency is known by its folder's name, which is whatever the clone of this repository
/// is called; a URL dependency would be `package: "AttentionIO"` (the URL's last component).
let attentionIO = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("../..").standardizedFileURL.lastPathComponent

let package = Package(
  name: "LibraryUser",
  dependencies: [
    .package(path: "../.."),
  ],
  targets: [
    .target(name: "TiledMatmul", dependencies: [.product(name: "AttentionIO", package: attentionIO)]),
    .testTarget(name: "TiledMatmulTests", dependencies: ["TiledMatmul", .product(name: "AttentionIO", package: attentionIO)]),
  ]
)
