import Foundation
import TestSupport
import XCTest

/// `xtf score` and `xtf mask` with a real (small, random-weight) GPT-2 and the real GPT-2
/// tokenizer under mpirun: byte-identical outputs for 1, 2 and 4 ranks, and `xtf mask`
/// recomputing from stored scores.
final class ScoreCommandTests: XCTestCase {
    /// GPT-2 layout with the real 50257-id vocabulary, narrow and shallow so the test is quick.
    static let tinyConfig = """
        {"model_type": "gpt2", "vocab_size": 50257, "n_embd": 64, "n_layer": 2, "n_head": 4,
         "n_positions": 256, "layer_norm_epsilon": 1e-5, "tie_word_embeddings": true}
        """

    static func makeModel() throws -> URL {
        let directory = try TestPaths.scratchDirectory("score-model")
        let config = directory.appendingPathComponent("config.in.json")
        try tinyConfig.write(to: config, atomically: true, encoding: .utf8)
        let model = directory.appendingPathComponent("model")
        let result = try MPIRunner.run(ranks: 1, ["model", "init", "--config", config.path, "--out", model.path, "--seed", "7",
                                                  "--tokenizer", TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json").path])
        XCTAssertEqual(result.status, 0, result.stderr)
        return model
    }

    static func data() throws -> URL {
        let lines = try String(contentsOf: TestPaths.sharedFile("data/gsm8k/train.jsonl"), encoding: .utf8)
            .split(separator: "\n").prefix(60)
        let url = try TestPaths.scratchDirectory("score-data").appendingPathComponent("train.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testScoreIsIdenticalFor1And2And4RanksAndMaskRecomputes() throws {
        let model = try Self.makeModel(), data = try Self.data()
        var runs: [URL] = []
        for ranks in [1, 2, 4] {
            let out = try TestPaths.scratchDirectory("score-np\(ranks)")
            let result = try MPIRunner.run(ranks: ranks, ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k",
                                                          "--task", "math", "--out", out.path, "--records-per-chunk", "8",
                                                          "--max-length", "160"], timeout: 600)
            XCTAssertEqual(result.status, 0, "np=\(ranks):\n\(result.stdout)\n\(result.stderr)")
            XCTAssertTrue(result.stdout.contains("60 samples"), result.stdout)
            runs.append(out)
        }
        let files = ["stats.json", "masked.jsonl", "tokens.jsonl"] + (0..<8).flatMap { i in
            ["scores/chunk-00000\(i).safetensors", "scores/chunk-00000\(i).jsonl", "masks/chunk-00000\(i).safetensors"]
        }
        for file in files {
            let reference = try Data(contentsOf: runs[0].appendingPathComponent(file))
            for (run, ranks) in zip(runs.dropFirst(), [2, 4]) {
                XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent(file)), reference, "\(file) differs for np=\(ranks)")
            }
        }
        // Truncation at --max-length is counted.
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: runs[0].appendingPathComponent("manifest.json"))) as! [String: Any]
        let totals = manifest["totals"] as! [String: Int]
        XCTAssertEqual(totals["records"], 60)
        XCTAssertEqual(totals["scored"], 60)
        XCTAssertGreaterThan(totals["truncatedSamples"] ?? 0, 0)

        // xtf mask with other settings: KN alone with a threshold every random-model PCP is
        // below flags nothing; the default settings give back the first stats.json exactly.
        let only = try MPIRunner.run(ranks: 2, ["mask", runs[0].path, "--attributes", "kn", "--tau-kn", "0.5"])
        XCTAssertEqual(only.status, 0, only.stderr)
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: runs[0].appendingPathComponent("stats.json"))) as! [String: Any]
        XCTAssertEqual((stats["report"] as! [String: Any])["maskedTokens"] as? Int, 0)
        let again = try MPIRunner.run(ranks: 4, ["mask", runs[0].path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try Data(contentsOf: runs[0].appendingPathComponent("stats.json")),
                       try Data(contentsOf: runs[1].appendingPathComponent("stats.json")))
    }
}
