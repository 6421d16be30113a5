import Foundation
import XCTest

/// Inputs the command-level tests share: a small random-weight GPT-2 with the real GPT-2
/// tokenizer, and the first records of GSM8K train.
public enum Fixtures {
    /// GPT-2 layout with the real 50257-id vocabulary, narrow and shallow so tests are quick.
    public static let tinyGPT2Config = """
        {"model_type": "gpt2", "vocab_size": 50257, "n_embd": 64, "n_layer": 2, "n_head": 4,
         "n_positions": 256, "layer_norm_epsilon": 1e-5, "tie_word_embeddings": true}
        """

    /// Writes the tiny model (seeded) with tokenizer.json beside it; returns its directory.
    public static func tinyGPT2(seed: Int = 7) throws -> URL {
        let directory = try TestPaths.scratchDirectory("tiny-gpt2")
        let config = directory.appendingPathComponent("config.in.json")
        try tinyGPT2Config.write(to: config, atomically: true, encoding: .utf8)
        let model = directory.appendingPathComponent("model")
        let result = try MPIRunner.run(ranks: 1, ["model", "init", "--config", config.path, "--out", model.path,
                                                  "--seed", String(seed), "--tokenizer",
                                                  TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json").path])
        XCTAssertEqual(result.status, 0, result.stderr)
        return model
    }

    /// The tiny GPT-2 model scored on the first `records` GSM8K training records at `ranks`
    /// ranks into a new scratch directory (`xtf score ... --max-length 256`, plus `extra`).
    public static func scoredRun(_ label: String, records: Int, ranks: Int = 2, extra: [String] = []) throws -> (model: URL, data: URL, run: URL) {
        let model = try tinyGPT2(), data = try gsm8k(records: records), run = try TestPaths.scratchDirectory(label)
        let score = try MPIRunner.run(ranks: ranks, ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k", "--task", "math",
                                                     "--out", run.path, "--max-length", "256", "--quiet"] + extra, timeout: 600)
        XCTAssertEqual(score.status, 0, score.stderr)
        return (model, data, run)
    }

    /// Every line of a JSONL file as a JSON object.
    public static func jsonLines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\(url.path): a line is not an object")
        }
    }

    /// The first `records` lines of GSM8K train as a file of their own.
    public static func gsm8k(records: Int) throws -> URL {
        let lines = try String(contentsOf: TestPaths.sharedFile("data/gsm8k/train.jsonl"), encoding: .utf8)
            .split(separator: "\n").prefix(records)
        let url = try TestPaths.scratchDirectory("gsm8k").appendingPathComponent("train.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}
