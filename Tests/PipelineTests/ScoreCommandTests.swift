import Foundation
import TestSupport
import XCTest

/// `xtf score` and `xtf mask` with a real (small, random-weight) GPT-2 and the real GPT-2
/// tokenizer under mpirun: byte-identical outputs for 1, 2 and 4 ranks and after a run killed
/// and resumed under another -np, and `xtf mask`
/// recomputing from stored scores.
final class ScoreCommandTests: XCTestCase {
    /// Without --records-per-chunk a small file is cut into about 16 chunks (60 records: 15 of
    /// 4), so that every rank gets a share; the size is not written into settings.json, and a
    /// run whose settings.json writes out the same size resumes, another size does not.
    func testTheDefaultChunkSizeSharesASmallFileAndResumesARunThatWroteItOut() throws {
        let model = try Fixtures.tinyGPT2(), data = try Fixtures.gsm8k(records: 60)
        let out = try TestPaths.scratchDirectory("score-default-chunks")
        let arguments = ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k", "--task", "math",
                         "--out", out.path, "--max-length", "160"]
        let first = try MPIRunner.run(ranks: 2, arguments, timeout: 600)
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        XCTAssertTrue(first.stderr.contains("scoring 15 chunks on 2 rank(s)"), first.stderr)
        let settingsFile = out.appendingPathComponent("settings.json")
        var settings = try JSONSerialization.jsonObject(with: Data(contentsOf: settingsFile)) as! [String: Any]
        XCTAssertNil(settings["recordsPerChunk"], "the default size is not written out")
        for (size, accepted) in [(4, true), (8, false)] {
            settings["recordsPerChunk"] = size
            try JSONSerialization.data(withJSONObject: settings).write(to: settingsFile)
            let resumed = try MPIRunner.run(ranks: 2, arguments + ["--resume"], timeout: 600)
            if accepted {
                XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
            } else {
                XCTAssertNotEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
                XCTAssertTrue(resumed.stderr.contains("was written by another run"), resumed.stderr)
            }
        }
    }

    /// Sequences of more than 256 tokens are streamed (no attention maps; `CausalBlockTests`
    /// compares their values with whole products); their scores and masks are byte-identical
    /// for 1, 2 and 4 ranks too, with short samples in the same chunks.
    func testLongSequencesScoreTheSameFor1And2And4Ranks() throws {
        let directory = try TestPaths.scratchDirectory("score-long")
        let config = directory.appendingPathComponent("tiny-llama.json"), model = directory.appendingPathComponent("model")
        try #"""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 50257,
             "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": true}
            """#.write(to: config, atomically: true, encoding: .utf8)
        let initialised = try MPIRunner.run(ranks: 1, ["model", "init", "--config", config.path, "--out", model.path, "--seed", "3",
                                                       "--tokenizer", TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json").path])
        XCTAssertEqual(initialised.status, 0, initialised.stderr)
        // Two records in three answer with eight GSM8K solutions in a row (about 1,000 tokens).
        let gsm8k = try Fixtures.jsonLines(Fixtures.gsm8k(records: 52))
        let data = directory.appendingPathComponent("long.jsonl")
        let lines = try (0..<12).map { i -> String in
            let answers = gsm8k[(i * 4)..<(i * 4 + (i % 3 == 0 ? 1 : 8))].map { $0["answer"] as! String }
            let record = ["prompt": gsm8k[i]["question"] as! String, "response": answers.joined(separator: "\n\n")]
            return String(decoding: try JSONSerialization.data(withJSONObject: record, options: .sortedKeys), as: UTF8.self)
        }
        try (lines.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        var runs: [URL] = []
        for ranks in [1, 2, 4] {
            let out = directory.appendingPathComponent("np\(ranks)")
            let result = try MPIRunner.run(ranks: ranks, ["score", "--model", model.path, "--data", data.path, "--format", "prompt-response",
                                                          "--task", "math", "--template", "plain", "--out", out.path,
                                                          "--max-length", "1024", "--records-per-chunk", "3", "--quiet"], timeout: 600)
            XCTAssertEqual(result.status, 0, "np=\(ranks):\n\(result.stdout)\n\(result.stderr)")
            runs.append(out)
        }
        let index = try (0..<4).flatMap { try Fixtures.jsonLines(runs[0].appendingPathComponent("scores/chunk-00000\($0).jsonl")) }
        let lengths = index.map { ($0["prompt_tokens"] as! Int) + ($0["response_tokens"] as! Int) }
        XCTAssertEqual(lengths.filter { $0 > 512 }.count, 8, "the long records must be streamed: \(lengths)")
        let files = ["stats.json", "masked.jsonl", "tokens.jsonl", "tr.safetensors"] + (0..<4).flatMap { i in
            ["scores/chunk-00000\(i).safetensors", "scores/chunk-00000\(i).jsonl", "masks/chunk-00000\(i).safetensors"]
        }
        for file in files {
            let reference = try Data(contentsOf: runs[0].appendingPathComponent(file))
            for (run, name) in zip(runs.dropFirst(), ["np=2", "np=4"]) {
                XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent(file)), reference, "\(file) differs for \(name)")
            }
        }
    }

    func testScoreIsIdenticalFor1And2And4RanksAndAfterAKillAndMaskRecomputes() throws {
        let model = try Fixtures.tinyGPT2(), data = try Fixtures.gsm8k(records: 60)
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
        // A run killed (SIGKILL) after a few chunks and resumed under another -np ends with the
        // same files.
        let crashed = try TestPaths.scratchDirectory("score-crashed")
        let arguments = ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k", "--task", "math",
                         "--out", crashed.path, "--records-per-chunk", "8", "--max-length", "160"]
        let killed = try MPIRunner.run(ranks: 2, arguments + ["--kill-before-batch", "3"], timeout: 600, binary: MPIRunner.testbenchBinary)
        XCTAssertNotEqual(killed.status, 0, "the run was meant to be killed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: crashed.appendingPathComponent("stats.json").path))
        let finished = try String(contentsOf: crashed.appendingPathComponent("progress.jsonl"), encoding: .utf8)
            .split(separator: "\n").count
        XCTAssertGreaterThan(finished, 0)
        XCTAssertLessThan(finished, 8)
        let resumed = try MPIRunner.run(ranks: 4, arguments + ["--resume"], timeout: 600)
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        // (A line torn by the kill is not a finished chunk, so compare the pattern, not the count.)
        XCTAssertNotNil(resumed.stderr.range(of: #"resuming: [1-7] of 8 chunks already scored"#, options: .regularExpression),
                        resumed.stderr)
        runs.append(crashed)

        let files = ["stats.json", "masked.jsonl", "tokens.jsonl", "tr.safetensors"] + (0..<8).flatMap { i in
            ["scores/chunk-00000\(i).safetensors", "scores/chunk-00000\(i).jsonl", "masks/chunk-00000\(i).safetensors"]
        }
        for file in files {
            let reference = try Data(contentsOf: runs[0].appendingPathComponent(file))
            for (run, name) in zip(runs.dropFirst(), ["np=2", "np=4", "killed at np=2, resumed at np=4"]) {
                XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent(file)), reference, "\(file) differs for \(name)")
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

        // The official choices and the refinements (the coverage guard's dataset-wide count)
        // give the same masks for 1, 2 and 4 ranks.
        let variant = ["--tr-class-rule", "official", "--kn-cap-count", "official", "--coverage-guard", "0.2", "--span-closure", "0.5"]
        for (run, ranks) in zip(runs, [1, 2, 4]) {
            let result = try MPIRunner.run(ranks: ranks, ["mask", run.path] + variant)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        for file in ["stats.json", "masked.jsonl"] + (0..<8).map({ "masks/chunk-00000\($0).safetensors" }) {
            let reference = try Data(contentsOf: runs[0].appendingPathComponent(file))
            for (run, name) in zip(runs[1...2], ["np=2", "np=4"]) {
                XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent(file)), reference, "\(file) differs for \(name) (variant rules)")
            }
        }
        let variantStats = try JSONSerialization.jsonObject(with: Data(contentsOf: runs[0].appendingPathComponent("stats.json"))) as! [String: Any]
        let report = variantStats["report"] as! [String: Any], settings = report["settings"] as! [String: Any]
        XCTAssertEqual(settings["spanClosure"] as? Double, 0.5)
        XCTAssertEqual(settings["trClassRule"] as? String, "official")
        XCTAssertFalse((report["protectedIds"] as? [Int] ?? []).isEmpty, "the guard protects ids here, and lists them")
        XCTAssertNotEqual(report["maskedTokens"] as? Int, (stats["report"] as! [String: Any])["maskedTokens"] as? Int,
                          "the variant masks differently from the paper's rules")
        XCTAssertEqual((settings["flagClasses"] as? [Int])?.first, 0, "the official rule always flags C1")
    }
}
