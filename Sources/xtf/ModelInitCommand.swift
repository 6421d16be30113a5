import ArgumentParser
import Foundation
import CommandOptions
import Model
import Training

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

    @Option(help: "Dtype of model.safetensors: fp32 | bf16.")
    var dtype: TrainSettings.SaveDType = .fp32

    func run() throws {
        let configuration = try ModelConfig.named(config)
        let directory = URL(fileURLWithPath: out)
        // A tensor at a time: the model is never held whole (an 8B shape fits no fp32 buffer here).
        try Transformer.writeRandomCheckpoint(config: configuration, seed: seed, directory: directory, bf16: dtype == .bf16)
        if let tokenizer {
            let target = directory.appendingPathComponent("tokenizer.json")
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: URL(fileURLWithPath: tokenizer), to: target)
        }
        print("wrote \(config) (seed \(seed)) to \(out)")
    }
}
