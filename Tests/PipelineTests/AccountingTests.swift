import Foundation
import TestSupport
import XCTest

/// Nothing is lost: on a dataset with planted bad records, every record ends up scored and
/// then trained on or held out, or listed as rejected with its line and reason; the totals of
/// score's manifest.json and train's samples.json add up, and the ids cover every line.
final class AccountingTests: XCTestCase {
    /// 36 GSM8K records and, between them, four bad ones: malformed JSON, a missing field,
    /// an empty answer and bytes that are not UTF-8. Returns the file and its bad lines (1-based).
    func plantedDataset() throws -> (url: URL, lines: Int, bad: [Int: String]) {
        let source = try String(contentsOf: TestPaths.sharedFile("data/gsm8k/train.jsonl"), encoding: .utf8)
        var lines = source.split(separator: "\n").prefix(36).map { Array($0.utf8) }
        let planted: [(at: Int, bytes: [UInt8], reason: String)] = [
            (5, Array("{\"question\": \"broken".utf8), "malformed JSON"),
            (12, Array("{\"question\": \"No answer field\"}".utf8), "missing field \"answer\""),
            (20, Array("{\"question\": \"What is 1+1?\", \"answer\": \"  \"}".utf8), "empty response"),
            (31, Array("{\"question\": \"".utf8) + [0xC3, 0x28] + Array("\", \"answer\": \"2\"}".utf8), "not valid UTF-8"),
        ]
        for p in planted { lines.insert(p.bytes, at: p.at - 1) }
        let url = try TestPaths.scratchDirectory("accounting-data").appendingPathComponent("train.jsonl")
        try Data(lines.joined(separator: [UInt8(ascii: "\n")]) + [UInt8(ascii: "\n")]).write(to: url)
        return (url, lines.count, Dictionary(uniqueKeysWithValues: planted.map { ($0.at, $0.reason) }))
    }

    func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// The rejected list names exactly the planted lines, each with its reason.
    func assertRejected(_ rejected: [[String: Any]], are bad: [Int: String], _ label: String) {
        XCTAssertEqual(rejected.map { $0["line"] as! Int }.sorted(), bad.keys.sorted(), label)
        for entry in rejected {
            let line = entry["line"] as! Int, reason = entry["reason"] as? String ?? ""
            XCTAssertTrue(reason.contains(bad[line] ?? "?"), "\(label): line \(line): \(reason)")
        }
    }

    func testEveryRecordIsScoredAndTrainedOrListedAsRejected() throws {
        let model = try Fixtures.tinyGPT2()
        let (data, lineCount, bad) = try plantedDataset()
        let allIDs = Set((1...lineCount).map { "train.jsonl:\($0)" })

        // Scoring: records read = scored + rejected; the scored ids and the rejected ids are every line.
        let run = try TestPaths.scratchDirectory("accounting-score")
        let scored = try MPIRunner.run(ranks: 2, ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k",
                                                  "--task", "math", "--out", run.path, "--records-per-chunk", "8",
                                                  "--max-length", "128", "--on-bad-record", "skip"], timeout: 600)
        XCTAssertEqual(scored.status, 0, scored.stderr)
        let manifest = try json(run.appendingPathComponent("manifest.json"))
        let totals = manifest["totals"] as! [String: Int]
        XCTAssertEqual(totals["records"], lineCount)
        XCTAssertEqual(totals["scored"], lineCount - bad.count)
        XCTAssertEqual(totals["rejected"], bad.count)
        let rejected = manifest["rejected"] as! [[String: Any]]
        assertRejected(rejected, are: bad, "score")
        let scoredIDs = try String(contentsOf: run.appendingPathComponent("tokens.jsonl"), encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["id"] as! String
        }
        XCTAssertEqual(scoredIDs.count, Set(scoredIDs).count, "a sample scored twice")
        XCTAssertEqual(Set(scoredIDs).union(rejected.map { $0["id"] as! String }), allIDs)

        // Training from the scored run: every scored sample trained on or held out.
        let fromScores = try TestPaths.scratchDirectory("accounting-train-scores")
        let trained = try MPIRunner.run(ranks: 2, ["train", "--model", model.path, "--scores", run.path, "--out", fromScores.path,
                                                   "--max-steps", "2", "--global-batch", "8", "--validation-fraction", "0.25"], timeout: 600)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let account = try json(fromScores.appendingPathComponent("samples.json"))
        let heldOut = account["heldOut"] as! [String]
        XCTAssertEqual(account["records"] as? Int, lineCount - bad.count)
        XCTAssertEqual(heldOut.count, (lineCount - bad.count) / 4)
        XCTAssertEqual((account["trained"] as! Int) + heldOut.count, lineCount - bad.count)
        XCTAssertTrue(Set(heldOut).isSubset(of: Set(scoredIDs)), "\(heldOut)")
        XCTAssertEqual((account["rejected"] as! [Any]).count, 0)

        // Training straight from the file: the same four rejected, the rest trained on.
        let fromData = try TestPaths.scratchDirectory("accounting-train-data")
        let direct = try MPIRunner.run(ranks: 2, ["train", "--model", model.path, "--data", data.path, "--format", "gsm8k",
                                                  "--mask", "none", "--on-bad-record", "skip", "--max-length", "128",
                                                  "--out", fromData.path, "--max-steps", "2", "--global-batch", "8"], timeout: 600)
        XCTAssertEqual(direct.status, 0, direct.stderr)
        let directAccount = try json(fromData.appendingPathComponent("samples.json"))
        XCTAssertEqual(directAccount["records"] as? Int, lineCount)
        XCTAssertEqual(directAccount["trained"] as? Int, lineCount - bad.count)
        XCTAssertEqual((directAccount["heldOut"] as! [Any]).count, 0)
        assertRejected(directAccount["rejected"] as! [[String: Any]], are: bad, "train --data")
    }
}
