import Foundation
import TestSupport
import XCTest

/// `--weights mapped` through the commands: the same files as fp32 weights at -np 2 (the tiny
/// GPT-2's head is one block, so every sum runs in the same order).
final class MappedWeightsCommandTests: XCTestCase {
    /// `xtf score`: the setting is recorded, so a resume with the other storage is refused.
    func testMappedWeightsScoreWhatFP32WeightsScore() throws {
        let model = try Fixtures.tinyGPT2(), data = try Fixtures.gsm8k(records: 16)
        var outputs: [String: [Data]] = [:]
        for weights in ["fp32", "mapped"] {
            let out = try TestPaths.scratchDirectory("score-\(weights)")
            let run = try MPIRunner.run(ranks: 2, ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k", "--task", "math",
                                                  "--out", out.path, "--max-length", "256", "--weights", weights, "--quiet"], timeout: 600)
            XCTAssertEqual(run.status, 0, run.stderr)
            outputs[weights] = try ["masked.jsonl", "tokens.jsonl", "stats.json"].map { try Data(contentsOf: out.appendingPathComponent($0)) }
            let settings = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("settings.json"))) as? [String: Any])
            XCTAssertEqual(settings["weights"] as? String, weights == "mapped" ? "mapped" : nil, "fp32 is written as nothing")
            if weights == "mapped" {
                let again = try MPIRunner.run(ranks: 1, ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k", "--task", "math",
                                                        "--out", out.path, "--max-length", "256", "--resume", "--quiet"], timeout: 600)
                XCTAssertNotEqual(again.status, 0)
                XCTAssertTrue(again.stderr.contains("weights"), again.stderr)
            }
        }
        XCTAssertEqual(outputs["mapped"], outputs["fp32"])
    }

    /// `xtf eval`: the same generations and grades (GSM8K, greedy) and the same perplexity;
    /// eval.json says which storage the model ran from.
    func testMappedWeightsEvaluateWhatFP32WeightsEvaluate() throws {
        let model = try Fixtures.tinyGPT2(), data = try Fixtures.gsm8k(records: 12)
        var outputs: [String: [String]] = [:]
        for weights in ["fp32", "mapped"] {
            let out = try TestPaths.scratchDirectory("eval-\(weights)")
            let generations = out.appendingPathComponent("generations.jsonl"), result = out.appendingPathComponent("eval.json")
            let graded = try MPIRunner.run(ranks: 2, ["eval", "--model", model.path, "--task", "gsm8k", "--data", data.path, "--max-new-tokens", "16",
                                                     "--batch-size", "4", "--weights", weights, "--generations", generations.path,
                                                     "--out", result.path], timeout: 600)
            XCTAssertEqual(graded.status, 0, graded.stderr)
            let written = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: result)) as? [String: Any])
            XCTAssertEqual(written["weights"] as? String, weights == "mapped" ? "mapped" : nil, "fp32 is written as nothing")
            let perplexity = try MPIRunner.run(ranks: 2, ["eval", "--model", model.path, "--task", "perplexity", "--data", data.path,
                                                         "--weights", weights], timeout: 600)
            XCTAssertEqual(perplexity.status, 0, perplexity.stderr)
            let lines = (graded.stdout + perplexity.stdout).split(separator: "\n").filter { !$0.hasPrefix("weights") }.map(String.init)
            XCTAssertEqual((graded.stdout + perplexity.stdout).contains("weights     mapped"), weights == "mapped")
            outputs[weights] = [try String(contentsOf: generations, encoding: .utf8)] + lines
        }
        XCTAssertEqual(outputs["mapped"], outputs["fp32"])
        XCTAssertEqual(outputs["fp32"]?[0].split(separator: "\n").count, 12, "one line per record")
    }
}
