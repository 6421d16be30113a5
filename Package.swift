// swift-tools-version:6.0
// xtf: explainable token-level noise filtering and masked fine-tuning across MPI ranks.
// Layers point one way: xtf -> Model/Tokenizer/Cluster -> Kernels -> CBLAS; Cluster -> CMPI.
import PackageDescription

let package = Package(
    name: "xtf",
    products: [
        .executable(name: "xtf", targets: ["xtf"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // System libraries: shim headers only. Only Cluster imports CMPI, only Kernels imports CBLAS.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),

        .target(name: "Kernels", dependencies: ["CBLAS"]),
        .target(name: "Cluster", dependencies: ["CMPI", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Tokenizer"),
        .target(name: "Model", dependencies: ["Kernels", "Artifacts"]),
        .target(name: "Artifacts"),
        .target(name: "Data"),
        .target(name: "Scoring"),
        .target(name: "Training", dependencies: ["Model", "Cluster", "Artifacts", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Evaluation", dependencies: ["Data", "Model", "Tokenizer", "Cluster"]),
        .target(name: "GroundTruth"),
        .target(name: "Pipeline", dependencies: [
            "Data", "Scoring", "Model", "Tokenizer", "Training", "Cluster", "Artifacts", .product(name: "Logging", package: "swift-log"),
        ]),
        // The HTML report and its SVG charts, read from a run directory's files.
        .target(name: "Report", dependencies: ["Pipeline", "Scoring", "GroundTruth"]),

        .executableTarget(name: "xtf", dependencies: [
            "Kernels", "Cluster", "Tokenizer", "Model", "Data", "Scoring", "Training", "Evaluation", "Pipeline", "Artifacts",
            "GroundTruth", "Report", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Shared by the test targets: paths to ../shared, scratch space, the mpirun launcher.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "TestSupport"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "TestSupport"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Kernels", "Artifacts", "TestSupport"]),
        .testTarget(name: "ArtifactsTests", dependencies: ["Artifacts", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Model", "Artifacts", "TestSupport"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "TestSupport"]),
        .testTarget(name: "ScoringTests", dependencies: ["Scoring"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
        .testTarget(name: "GroundTruthTests", dependencies: ["GroundTruth"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Scoring", "Data", "Tokenizer", "Report", "Artifacts", "TestSupport"]),
        // Mutation fuzzing of the file readers (dataset, safetensors, tokenizer.json); scripts/fuzz.sh runs it longer.
        .testTarget(name: "FuzzTests", dependencies: ["Data", "Artifacts", "Tokenizer", "GroundTruth", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
