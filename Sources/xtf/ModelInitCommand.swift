import ArgumentParser
import Foundation
import Model

/// `xtf model init`: a checkpoint with random weights in a benchmark configuration, for
/// throughput measurements and pipeline tests where the scores' meaning does not matter.
struct ModelInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a Hugging Face checkpoint with seeded random weights (gpt2-small-bench, gpt2-124M, llama-bench).")

    @Option(help: "Configuration: gpt2-small-bench | gpt2-124M | llama-bench, or a Hugging Face config.json.")
    var config: String

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Option(help: "A tokenizer.json to copy beside the checkpoint.")
    var tokenizer: String?

    func run() throws {
        let configuration = try ModelConfig.named(config)
        let model = Transformer(config: configuration, seed: seed)
        let directory = URL(fileURLWithPath: out)
        try model.save(directory: directory)
        if let tokenizer {
            let target = directory.appendingPathComponent("tokenizer.json")
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: URL(fileURLWithPath: tokenizer), to: target)
        }
        print("wrote \(config) (seed \(seed)) to \(out)")
    }
}
