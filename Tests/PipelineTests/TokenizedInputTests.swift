import Data
import Foundation
import TestSupport
import XCTest

/// `--format tokenized`: a trainer's own token ids scored as they are. Records are checked
/// field by field, and a run over the ids of a text run scores exactly what the text run did.
final class TokenizedInputTests: XCTestCase {
    func write(_ lines: [String]) throws -> URL {
        let url = try TestPaths.scratchDirectory("tokenized-records").appendingPathComponent("data.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testRecordsGiveThePromptAndTheirResponses() throws {
        let url = try write([
            #"{"input_ids": [1, 2, 3, 4, 5], "labels": [-100, -100, 3, 4, -100]}"#,
            #"{"input_ids": [1, 2, 3], "completion_mask": [0, 1, 1]}"#,
            #"{"input_ids": [1, 2, 3], "assistant_masks": [0, 0, 1]}"#,
            #"{"input_ids": [1, 2, 3, 4], "labels": [-100, 2, -100, 4]}"#,
            #"{"input_ids": [1, 2], "labels": [-100, 9]}"#,
            #"{"input_ids": [1, 2], "labels": [1, 2]}"#,
            #"{"input_ids": [1, 2], "completion_mask": [0, 0]}"#,
            #"{"input_ids": [1, 2], "completion_mask": [0, 1], "labels": [-100, 2]}"#,
            #"{"input_ids": [1, 2], "completion_mask": [0, 1, 1]}"#,
            #"{"input_ids": ["a"], "labels": [1]}"#,
            #"{"labels": [1]}"#,
        ])
        let records = try Dataset(DatasetSpec(path: url.path, format: .tokenized)).records(in: nil)
        var kept: [TokenizedRecord] = [], reasons: [String] = []
        for record in records {
            switch record {
            case .tokens(let t): kept.append(t)
            case .rejected(let r): reasons.append(r.reason)
            case .conversation: XCTFail("a tokenized file gives no text")
            }
        }
        XCTAssertEqual(kept.map(\.ids), [[1, 2, 3, 4], [1, 2, 3], [1, 2, 3], [1, 2, 3, 4]], "tokens after the last response are dropped")
        XCTAssertEqual(kept.map(\.spans), [[2..<4], [1..<3], [2..<3], [1..<2, 3..<4]], "each run with a loss is a response")
        XCTAssertEqual(reasons, [
            "labels[1] is 9: neither -100 nor input_ids[1] (2)",
            "the response starts at the first token: a prompt of at least one token is needed",
            "no token has a loss: empty response",
            "fields labels and completion_mask both say which tokens are the response: give one",
            "field \"completion_mask\" is not a list of integers as long as input_ids (2)",
            "field \"input_ids\" is not a list of token ids",
            "missing field \"input_ids\"",
        ])
    }

    /// The ids and response boundary of a scored text run, given back as a tokenized file,
    /// score to the same numbers: what a trainer trains on is what xtf scores.
    func testTokenizedRunScoresWhatTheTextRunScored() throws {
        let (model, _, text) = try Fixtures.scoredRun("tokenized-text", records: 12)
        let tokens = try TestPaths.scratchDirectory("tokenized-ids")
        let masked = try Fixtures.jsonLines(text.appendingPathComponent("masked.jsonl")), scored = try Fixtures.jsonLines(text.appendingPathComponent("tokens.jsonl"))
        XCTAssertEqual(scored.count, 12)
        var converted: [String] = []
        for (m, s) in zip(masked, scored) {
            let ids = try XCTUnwrap(m["input_ids"] as? [Int]), response = try XCTUnwrap(s["token_ids"] as? [Int]).count
            let mask = ids.indices.map { $0 >= ids.count - response ? 1 : 0 }
            converted.append(String(decoding: try JSONSerialization.data(withJSONObject: ["input_ids": ids, "completion_mask": mask]), as: UTF8.self))
        }
        let file = try write(converted)
        let second = try MPIRunner.run(ranks: 2, ["score", "--model", model.path, "--data", file.path, "--format", "tokenized", "--task", "math",
                                                  "--out", tokens.path, "--max-length", "256", "--quiet"], timeout: 600)
        XCTAssertEqual(second.status, 0, second.stderr)
        let again = try Fixtures.jsonLines(tokens.appendingPathComponent("tokens.jsonl"))
        XCTAssertEqual(again.count, 12)
        for (a, b) in zip(scored, again) {
            for key in ["token_ids", "pcp", "ri", "tr", "flags"] {
                XCTAssertEqual(try JSONSerialization.data(withJSONObject: a[key]!), try JSONSerialization.data(withJSONObject: b[key]!), "\(a["id"]!) \(key)")
            }
        }
    }
}
