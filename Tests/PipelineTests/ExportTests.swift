import Foundation
import Pipeline
import TestSupport
import XCTest

/// `xtf export`: a masked run's samples as TRL and axolotl read them. The columns are checked
/// here against masked.jsonl, then read by the libraries themselves (scripts/check_export.py:
/// `datasets`; transformers' DataCollatorForSeq2Seq, which axolotl uses; TRL's SFTTrainer
/// with packing), where the masked tokens must still have no loss in the batches.
final class ExportTests: XCTestCase {
    func testExportsKeepTheMaskThroughTheTrainersReaders() throws {
        let (model, _, run) = try Fixtures.scoredRun("export-run", records: 24)
        let out = try TestPaths.scratchDirectory("export-out")
        var files: [String: URL] = [:]
        for format in ["trl", "axolotl", "jsonl"] {
            files[format] = out.appendingPathComponent("\(format).jsonl")
            let result = try MPIRunner.run(ranks: 1, ["export", run.path, "--to", format, "--out", files[format]!.path])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("24 samples"), result.stdout)
        }
        let masked = try Fixtures.jsonLines(run.appendingPathComponent("masked.jsonl"))
        let all = try Fixtures.jsonLines(files["jsonl"]!), trl = try Fixtures.jsonLines(files["trl"]!), axolotl = try Fixtures.jsonLines(files["axolotl"]!)
        XCTAssertEqual([all.count, trl.count, axolotl.count], [24, 24, 24])
        var maskedResponseTokens = 0
        for (m, (a, (t, x))) in zip(masked, zip(all, zip(trl, axolotl))) {
            let ids = m["input_ids"] as! [Int], labels = m["labels"] as! [Int]
            XCTAssertEqual(a["id"] as? String, m["id"] as? String)
            XCTAssertEqual(Set(t.keys), ["input_ids", "completion_mask"])
            XCTAssertEqual(Set(x.keys), ["input_ids", "attention_mask", "labels"])
            for row in [a, t, x] { XCTAssertEqual(row["input_ids"] as? [Int], ids) }
            XCTAssertEqual(t["completion_mask"] as? [Int], labels.map { $0 == -100 ? 0 : 1 })
            XCTAssertEqual(x["labels"] as? [Int], labels)
            XCTAssertEqual(x["attention_mask"] as? [Int], [Int](repeating: 1, count: ids.count))
            // A -100 after the first loss token is a response token XTF masked.
            if let first = labels.firstIndex(where: { $0 != -100 }) { maskedResponseTokens += labels[first...].filter { $0 == -100 }.count }
        }
        XCTAssertGreaterThan(maskedResponseTokens, 0, "the rules masked response tokens, so the check below means something")

        // A run without masked.jsonl, and --out into the run (its own files), are refused by name.
        let empty = try TestPaths.scratchDirectory("export-empty")
        let missing = try MPIRunner.run(ranks: 1, ["export", empty.path, "--to", "trl", "--out", out.appendingPathComponent("x.jsonl").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("no masked.jsonl"), missing.stderr)
        for inside in ["masked.jsonl", "tokens.jsonl", "scores/x.jsonl"] {
            let onto = try MPIRunner.run(ranks: 1, ["export", run.path, "--to", "trl", "--out", run.appendingPathComponent(inside).path])
            XCTAssertNotEqual(onto.status, 0)
            XCTAssertTrue(onto.stderr.contains("is inside the run"), onto.stderr)
        }

        try TestPython.require("datasets", unchecked: "the exports were not read by the libraries")
        let check = try Process.outcome(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", TestPaths.packageRoot.appendingPathComponent("scripts/check_export.py").path, "--jsonl", files["jsonl"]!.path,
            "--trl", files["trl"]!.path, "--axolotl", files["axolotl"]!.path,
            "--tokenizer", model.appendingPathComponent("tokenizer.json").path,
        ], withStandardError: false)
        XCTAssertEqual(check.status, 0, check.output)
        let report = try XCTUnwrap(check.output.split(separator: "\n").last.flatMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }, check.output)
        XCTAssertTrue((report["checked"] as? [String])?.contains("datasets") == true, "\(report)")
        // torch, transformers and TRL are never installed by the suite: say loudly what was not run.
        for (check, reason) in report["skipped"] as? [String: String] ?? [:] { print("*** SKIP \(check): \(reason) ***") }
    }

    /// What TRL 1.16 made of an export, recorded where TRL was installed
    /// (Fixtures/trl-packing: a run's masked.jsonl of multi-turn samples masked by the paper's
    /// rules, and SFTTrainer's packed batches of its TRL export, from scripts/check_export.py
    /// --packed-out): today's export of the same masked.jsonl packs to those batches, with
    /// labels -100 exactly where xtf's are. The suite never installs TRL; this is its
    /// reference output.
    func testTRLPackingOfTheExportKeepsEveryMask() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/trl-packing")
        let run = try TestPaths.scratchDirectory("export-trl-packing")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("masked.jsonl"), to: run.appendingPathComponent("masked.jsonl"))
        let exported = run.deletingLastPathComponent().appendingPathComponent("trl-\(UUID().uuidString).jsonl")
        let result = try MPIRunner.run(ranks: 1, ["export", run.path, "--to", "trl", "--out", exported.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let masked = try Fixtures.jsonLines(run.appendingPathComponent("masked.jsonl")), rows = try Fixtures.jsonLines(exported)
        // Samples by their ids, with the labels TRL makes of the completion mask.
        var expected: [[Int]: [Int]] = [:]
        for (m, row) in zip(masked, rows) {
            let ids = row["input_ids"] as! [Int], mask = row["completion_mask"] as! [Int]
            XCTAssertEqual(ids, m["input_ids"] as? [Int])
            expected[ids] = zip(ids, mask).map { $1 == 1 ? $0 : -100 }
            XCTAssertEqual(expected[ids], m["labels"] as? [Int], "\(m["id"]!): the export's mask is xtf's labels")
        }
        XCTAssertEqual(expected.count, 8)
        let packed = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("trl-packed.json"))) as! [String: Any]
        XCTAssertEqual(packed["trl"] as? String, "1.16.0")
        var seen: [[Int]] = []
        for row in packed["rows"] as! [[String: Any]] {
            let ids = row["input_ids"] as! [Int], labels = row["labels"] as! [Int], positions = row["position_ids"] as! [Int]
            let starts = positions.indices.filter { positions[$0] == 0 } + [positions.count]
            for (a, b) in zip(starts, starts.dropFirst()) {
                let sequence = Array(ids[a..<b])
                guard let truth = expected[sequence] else {
                    XCTAssertTrue(labels[a..<b].allSatisfy { $0 == -100 }, "a packed sequence of \(b - a) tokens with a loss matches no exported sample")
                    continue
                }
                XCTAssertEqual(Array(labels[a..<b]), truth, "TRL's labels are -100 exactly where xtf's are")
                seen.append(sequence)
            }
        }
        XCTAssertEqual(Set(seen), Set(expected.keys), "every sample packed once")
        XCTAssertEqual(seen.count, expected.count)
        let multiTurn = masked.filter { m in
            let labels = m["labels"] as! [Int]
            // Two answers: a long run without a loss (the second question) between tokens with one.
            guard let first = labels.firstIndex(where: { $0 != -100 }), let last = labels.lastIndex(where: { $0 != -100 }) else { return false }
            var gap = 0, longest = 0
            for label in labels[first...last] { gap = label == -100 ? gap + 1 : 0; longest = max(longest, gap) }
            return longest > 20
        }
        // chat.jsonl:6's second question starts past --max-length 512: its sample ends after the first answer.
        XCTAssertEqual(multiTurn.count, 7, "the recorded samples with two scored answers")
    }
}
