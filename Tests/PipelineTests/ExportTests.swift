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
}
