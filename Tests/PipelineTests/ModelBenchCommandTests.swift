import Foundation
import TestSupport
import XCTest

/// `xtf bench model` on a model's config.json (real shapes without weights), with the batch
/// shape and LoRA training chosen on the command line. Only what it computes and reports is
/// checked here; its timings go to docs/BENCHMARKS.md from scripts, never from a test.
final class ModelBenchCommandTests: XCTestCase {
    func testAConfigFileIsBenchmarkedAtTheShapeAndModeAsked() throws {
        let dir = try TestPaths.scratchDirectory("bench-model-config")
        let config = try tinyLlama(in: dir)
        let json = dir.appendingPathComponent("result.json")
        let run = try MPIRunner.run(ranks: 1, ["bench", "model", "--config", config.path, "--batch", "2", "--length", "16",
                                               "--repetitions", "1", "--steps", "2", "--lora", "4,8,q_proj+v_proj", "--json", json.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("batch 2x16"), run.stdout)
        XCTAssertTrue(run.stdout.contains("LoRA 4,8,q_proj+v_proj"), run.stdout)
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        XCTAssertEqual(result["lora"] as? String, "4,8,q_proj+v_proj")
        XCTAssertEqual(result["batch"] as? Int, 2)
        XCTAssertEqual(result["sequenceLength"] as? Int, 16)
        XCTAssertEqual(result["parameters"] as? Int, 300 * 64 + 2 * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64)
        XCTAssertEqual((result["trainingSeconds"] as? [Double])?.count, 2)
        XCTAssertGreaterThan(result["trainingTokensPerSecond"] as? Double ?? 0, 0)

        // Mistakes name what is wrong.
        for (arguments, message) in [(["--lora", "8"], "--lora takes rank,alpha,modules"),
                                     (["--length", "65"], "length <= 64"),
                                     (["--lora", "4,8,nope"], "nope matches no module")] {
            let bad = try MPIRunner.run(ranks: 1, ["bench", "model", "--config", config.path, "--length", "16", "--repetitions", "1", "--steps", "1"] + arguments)
            XCTAssertNotEqual(bad.status, 0, "\(arguments)")
            XCTAssertTrue(bad.stderr.contains(message), "\(arguments): \(bad.stderr)")
        }
        // A model too large for the machine's memory is refused before allocating (it crashed).
        let huge = dir.appendingPathComponent("huge.json")
        try #"{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 65536, "intermediate_size": 65536, "num_hidden_layers": 64, "num_attention_heads": 64, "num_key_value_heads": 64, "vocab_size": 300, "max_position_embeddings": 64}"#
            .write(to: huge, atomically: true, encoding: .utf8)
        let tooBig = try MPIRunner.run(ranks: 1, ["bench", "model", "--config", huge.path, "--length", "16"])
        XCTAssertNotEqual(tooBig.status, 0)
        XCTAssertTrue(tooBig.stderr.contains("GiB are available"), tooBig.stderr)
        let missing = try MPIRunner.run(ranks: 1, ["bench", "model", "--config", dir.appendingPathComponent("none.json").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("none.json"), missing.stderr)
    }

    /// `--model DIR`: a checkpoint's own weights; `--weights mapped` widens them a layer at a time
    /// (LoRA training only), the mode `xtf score --weights mapped` runs in.
    func testACheckpointIsBenchmarkedWithMappedWeights() throws {
        let model = try Fixtures.tinyGPT2()
        let json = try TestPaths.scratchDirectory("bench-model-checkpoint").appendingPathComponent("result.json")
        let run = try MPIRunner.run(ranks: 1, ["bench", "model", "--model", model.path, "--weights", "mapped", "--batch", "2", "--length", "16",
                                               "--repetitions", "1", "--steps", "1", "--lora", "4,8,c_attn", "--json", json.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("mapped weights"), run.stdout)
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        XCTAssertEqual(result["weights"] as? String, "mapped")
        XCTAssertEqual(result["config"] as? String, model.path)
        XCTAssertGreaterThan(result["scoringTokensPerSecond"] as? Double ?? 0, 0)
        for (arguments, message) in [(["--model", model.path, "--weights", "mapped"], "the training steps need LoRA adapters"),
                                     (["--weights", "mapped", "--lora", "4,8,c_attn"], "needs --model"),
                                     (["--model", model.path, "--config", "llama-bench"], "give one")] {
            let bad = try MPIRunner.run(ranks: 1, ["bench", "model", "--length", "16", "--repetitions", "1", "--steps", "1"] + arguments)
            XCTAssertNotEqual(bad.status, 0, "\(arguments)")
            XCTAssertTrue(bad.stderr.contains(message), "\(arguments): \(bad.stderr)")
        }
    }
}

/// Under mpirun every rank runs its slice of the batch; the training steps' losses are the whole
/// batch's whatever the number of ranks (the gradients summed across ranks, the loss normalised
/// by the whole batch's unmasked count). A batch of 5 cannot be cut evenly at 2 or 4 ranks.
final class ModelBenchRanksTests: XCTestCase {
    func testLossesDoNotDependOnTheNumberOfRanks() throws {
        let dir = try TestPaths.scratchDirectory("bench-model-ranks")
        let config = try tinyLlama(in: dir)
        for lora in [nil, "4,8,q_proj+v_proj"] {
            var losses: [Int: [Double]] = [:]
            for ranks in [1, 2, 4] {
                let json = dir.appendingPathComponent("result-\(ranks).json")
                let run = try MPIRunner.run(ranks: ranks, ["bench", "model", "--config", config.path, "--batch", "5", "--length", "16",
                                                           "--repetitions", "1", "--steps", "3", "--threads", "1", "--json", json.path]
                                            + (lora.map { ["--lora", $0] } ?? []))
                XCTAssertEqual(run.status, 0, run.stderr)
                let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
                XCTAssertEqual(result["ranks"] as? Int, ranks)
                XCTAssertEqual(result["batch"] as? Int, 5)
                // Rates are the whole batch's: tokens/s times the median step is its 5 x 16 tokens.
                let seconds = try XCTUnwrap(result["trainingSeconds"] as? [Double]).sorted()
                XCTAssertEqual(try XCTUnwrap(result["trainingTokensPerSecond"] as? Double) * seconds[1], 80, accuracy: 1e-6)
                let phases = try XCTUnwrap(result["trainingPhases"] as? [String: Double])
                XCTAssertEqual(Set(phases.keys), ["passes", "gradientSum", "optimizer"])
                XCTAssertTrue(phases.values.allSatisfy { $0 >= 0 && $0 <= seconds.last! } && phases["passes"]! > 0, "\(phases) \(seconds)")
                // Rank 0's arenas: mapped by the passes, a part of what the ranks hold at their peak.
                let working = try XCTUnwrap(result["workingMemoryMiB"] as? Double), peak = try XCTUnwrap(result["peakRSSMiB"] as? Double)
                XCTAssertTrue(working > 0 && working < peak / Double(ranks), "working memory \(working) MiB, peak \(peak) MiB")
                XCTAssertTrue(run.stdout.contains("activations and work buffers"), run.stdout)
                losses[ranks] = try XCTUnwrap(result["trainingLosses"] as? [Double])
                if ranks > 1 { XCTAssertTrue(run.stdout.contains("\(ranks) ranks of 1 OpenBLAS thread(s)"), run.stdout) }
            }
            let one = try XCTUnwrap(losses[1])
            XCTAssertEqual(one.count, 4)
            // The loss must move between steps by far more than the ranks' summation order moves it,
            // or equal losses would prove nothing.
            XCTAssertGreaterThan(abs(one[3] - one[0]) / one[0], 1e-3, "\(lora ?? "full"): \(one)")
            for ranks in [2, 4] {
                for (a, b) in zip(one, try XCTUnwrap(losses[ranks])) {
                    XCTAssertEqual(a, b, accuracy: 1e-5 * abs(a), "\(lora ?? "full") at \(ranks) ranks: \(one) against \(losses[ranks]!)")
                }
            }
        }
        let tooFew = try MPIRunner.run(ranks: 2, ["bench", "model", "--config", config.path, "--batch", "1", "--length", "16"])
        XCTAssertNotEqual(tooFew.status, 0)
        XCTAssertTrue(tooFew.stderr.contains("each rank needs at least one sequence"), tooFew.stderr)
    }
}

/// A two-layer llama config (grouped attention, llama3 RoPE scaling, tied embeddings).
private func tinyLlama(in dir: URL) throws -> URL {
    let config = dir.appendingPathComponent("tiny-llama.json")
    try #"""
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300,
         "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": true,
         "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 32, "rope_type": "llama3"}}
        """#.write(to: config, atomically: true, encoding: .utf8)
    return config
}
