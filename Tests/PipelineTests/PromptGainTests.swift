import Foundation
import TestSupport
import XCTest

/// `--prompt-free-pcp` and `--kn-score prompt-gain`: the second scoring pass is the same for
/// 1 and 2 ranks, tokens.jsonl carries the gain, KN flags by it, and a run scored without it
/// is refused by name.
final class PromptGainTests: XCTestCase {
    func testPromptGainScoresMasksAndIsRefusedWithoutItsScores() throws {
        let model = try Fixtures.tinyGPT2(), data = try Fixtures.gsm8k(records: 16)
        var runs: [URL] = []
        for ranks in [1, 2] {
            let out = try TestPaths.scratchDirectory("prompt-gain-np\(ranks)")
            let result = try MPIRunner.run(ranks: ranks, ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k", "--task", "math",
                                                          "--out", out.path, "--records-per-chunk", "4", "--max-length", "160", "--prompt-free-pcp"],
                                           timeout: 600)
            XCTAssertEqual(result.status, 0, result.stderr)
            runs.append(out)
        }
        for file in ["tokens.jsonl", "scores/chunk-000000.safetensors", "scores/chunk-000003.safetensors"] {
            XCTAssertEqual(try Data(contentsOf: runs[0].appendingPathComponent(file)), try Data(contentsOf: runs[1].appendingPathComponent(file)),
                           "\(file) differs between 1 and 2 ranks")
        }
        // KN by the prompt gain: every KN-flagged token has a gain below the threshold, and
        // with no cap every token below it is flagged.
        let masked = try MPIRunner.run(ranks: 2, ["mask", runs[0].path, "--attributes", "kn", "--kn-score", "prompt-gain",
                                                  "--kn-gain-below", "0", "--caps", "0", "1", "0"])
        XCTAssertEqual(masked.status, 0, masked.stderr)
        var flagged = 0, below = 0
        for line in try String(contentsOf: runs[0].appendingPathComponent("tokens.jsonl"), encoding: .utf8).split(separator: "\n") {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let gains = try XCTUnwrap(record["prompt_gain"] as? [Any]), flags = record["flags"] as! [String]
            XCTAssertEqual(gains.count, flags.count)
            for (gain, flag) in zip(gains, flags) {
                let value = gain as? Double
                if flag == "kn" { flagged += 1; XCTAssertLessThan(try XCTUnwrap(value), 0) }
                if let value, value < 0 { below += 1 }
            }
        }
        XCTAssertGreaterThan(flagged, 0)
        XCTAssertEqual(flagged, below)

        // A run scored without the second pass cannot mask by the gain.
        let plain = try TestPaths.scratchDirectory("prompt-gain-plain")
        let scored = try MPIRunner.run(ranks: 1, ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k", "--task", "math",
                                                  "--out", plain.path, "--max-length", "160"], timeout: 600)
        XCTAssertEqual(scored.status, 0, scored.stderr)
        let refused = try MPIRunner.run(ranks: 1, ["mask", plain.path, "--kn-score", "prompt-gain"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--prompt-free-pcp"), refused.stderr)
        // And `xtf score` asked for it without the second pass refuses before scoring anything.
        let early = try TestPaths.scratchDirectory("prompt-gain-early")
        let before = try MPIRunner.run(ranks: 1, ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k", "--task", "math",
                                                  "--out", early.path, "--kn-score", "prompt-gain"])
        XCTAssertNotEqual(before.status, 0)
        XCTAssertTrue(before.stderr.contains("--prompt-free-pcp"), before.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: early.appendingPathComponent("scores").path), "nothing was scored")
    }
}
