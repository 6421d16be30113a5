import Foundation
import TestSupport
import XCTest

/// `xtf score --weights mapped`: the same files as fp32 weights at -np 2 (the tiny GPT-2's head
/// is one block, so every sum runs in the same order), recorded in the settings so that a
/// resume with the other storage is refused.
final class MappedWeightsScoreTests: XCTestCase {
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
}
