// swift-tools-version:6.0
// xtf: explainable token-level noise filtering and masked fine-tuning across MPI ranks.
// Layers point one way (docs/ARCHITECTURE.md): xtf -> CommandOptions -> Experiment -> Pipeline ->
// Training/Evaluation -> Model/Tokenizer/Cluster -> Kernels -> CBLAS; Cluster -> CMPI. RunFiles
// (the types of the files a run writes) sits low, so Report reads runs without the engine.
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
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // System libraries: shim headers only. Only Cluster imports CMPI, only Kernels imports CBLAS,
        // only Evaluation imports CZlib.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        .target(name: "Kernels", dependencies: ["CBLAS"]),
        // The seeded generators (SplitMix64, xoshiro256**): reproducible data, weights, orders.
        .target(name: "Randomness"),
        .target(name: "Cluster", dependencies: ["CMPI", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Tokenizer", dependencies: [.product(name: "HeapModule", package: "swift-collections")]),
        .target(name: "Model", dependencies: ["Kernels", "Artifacts", "Randomness"]),
        .target(name: "Artifacts", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // llama.cpp's GGUF files: the reader, dequantization, and the import to a Hugging Face directory.
        .target(name: "GGUF", dependencies: ["Artifacts", "Model"]),
        // Chat templates: the Jinja subset of models' own templates, rendered as transformers does.
        .target(name: "ChatTemplate", dependencies: [.product(name: "OrderedCollections", package: "swift-collections")]),
        .target(name: "Data", dependencies: ["ChatTemplate"]),
        .target(name: "Scoring"),
        .target(name: "Training", dependencies: ["Model", "Cluster", "Artifacts", "Randomness", .product(name: "Logging", package: "swift-log")]),
        // One Codable type per file a run writes (settings, manifest, progress, losses, eval, stats, ...).
        .target(name: "RunFiles", dependencies: ["Artifacts", "Data", "Scoring"]),
        .target(name: "Evaluation", dependencies: ["Artifacts", "Data", "Model", "Tokenizer", "Cluster", "RunFiles", "CZlib"]),
        .target(name: "GroundTruth", dependencies: ["Randomness", "RunFiles", "Artifacts"]),
        // The stages (score, mask, train, eval) as typed entry points, and what they share.
        .target(name: "Pipeline", dependencies: [
            "Data", "Scoring", "Model", "Tokenizer", "Training", "Evaluation", "GroundTruth", "Cluster", "Artifacts", "RunFiles", "Randomness",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The HTML report and its SVG charts, read from a run directory's files.
        .target(name: "Report", dependencies: ["RunFiles", "Scoring", "GroundTruth", "Artifacts"]),
        // `xtf run`: a typed plan from one YAML file, every stage through the entry points, the report.
        .target(name: "Experiment", dependencies: [
            "Pipeline", "Evaluation", "Training", "Model", "Report", "GroundTruth", "RunFiles", "Randomness", "Cluster", "Kernels", "Artifacts", "Data", "Scoring",
            .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"),
        ]),
        // The command-line option groups and the cluster context, shared by xtf and the test bench.
        .target(name: "CommandOptions", dependencies: [
            "Experiment", "Pipeline", "Evaluation", "Training", "Cluster", "Data", "Scoring", "RunFiles", "Artifacts", "Kernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(name: "xtf", dependencies: [
            "CommandOptions", "Experiment", "Kernels", "Cluster", "Tokenizer", "Model", "Data", "Scoring", "Training", "Evaluation",
            "Pipeline", "Artifacts", "RunFiles", "GroundTruth", "Report", "GGUF",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Test-only commands the multi-rank tests launch under mpirun (collectives, a stand-in
        // model, killed and observed runs); built beside xtf, never shipped in it.
        .executableTarget(name: "xtf-testbench", dependencies: [
            "CommandOptions", "Pipeline", "Training", "Model", "Cluster", "Data", "Scoring", "Artifacts", "RunFiles",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Tests/Testbench"),

        // Fuzz targets: replays inputs in ordinary builds; scripts/libfuzzer.sh builds it with libFuzzer.
        .executableTarget(name: "xtf-fuzz", dependencies: ["ChatTemplate", "Data", "Model", "Artifacts", "GGUF", "Tokenizer"], path: "Tests/Fuzzers", exclude: ["Corpus"]),
        // Shared by the test targets: paths to ../shared, scratch space, the mpirun launcher.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "TestSupport"]),
        // Fixtures: tokenizer.json files written by transformers' converters (scripts/make_converted_tokenizers.py).
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "TestSupport"], exclude: ["Fixtures"]),
        // Fixtures: tiny checkpoints of the later architectures made by scripts/make_hf_fixture.py.
        .testTarget(name: "ModelTests", dependencies: ["Model", "Kernels", "Artifacts", "Randomness", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "ArtifactsTests", dependencies: ["Artifacts", "TestSupport"]),
        // The GGUF reader against gguf-py, and SmolLM2-135M-Instruct (fetched by pip into ~/.cache/xtf) imported.
        .testTarget(name: "GGUFTests", dependencies: [
            "GGUF", "Model", "Tokenizer", "Artifacts", "Data", "Pipeline", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
        ], exclude: ["Fixtures"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Model", "Artifacts", "TestSupport"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "ChatTemplate", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ChatTemplateTests", dependencies: ["ChatTemplate", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ScoringTests", dependencies: ["Scoring", "Randomness"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "TestSupport"]),
        .testTarget(name: "GroundTruthTests", dependencies: ["GroundTruth", "RunFiles", "Artifacts"]),
        .testTarget(name: "PipelineTests", dependencies: [
            "ChatTemplate",
            "Pipeline", "Experiment", "RunFiles", "Scoring", "Data", "Tokenizer", "Report", "Artifacts", "GroundTruth", "Training", "TestSupport",
        ], exclude: ["Fixtures"]),
        // Mutation fuzzing of the file readers (dataset, safetensors, tokenizer.json, GGUF); scripts/fuzz.sh runs it longer.
        .testTarget(name: "FuzzTests", dependencies: ["Data", "Artifacts", "Tokenizer", "GGUF", "GroundTruth", "Randomness", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
