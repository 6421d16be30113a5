import Foundation
import TestSupport
import XCTest

/// The score -> mask pipeline under mpirun with the stand-in model of `xtf-testbench
/// pipeline`: the coordinator, chunk files, resume after a crash, bad records and the
/// independence from -np, on real GSM8K records.
final class PipelineRunTests: XCTestCase {
    /// Files whose bytes must not depend on the number of ranks or on a crash and resume.
    static let deterministicOutputs = ["stats.json", "masked.jsonl", "tokens.jsonl", "mask-settings.json", "settings.json", "tr.safetensors"]

    /// 150 GSM8K records with a malformed line, an empty answer and a missing field mixed in.
    static func dataset() throws -> URL {
        let source = try String(contentsOf: TestPaths.sharedFile("data/gsm8k/train.jsonl"), encoding: .utf8)
        var lines = source.split(separator: "\n").prefix(150).map(String.init)
        lines.insert("{\"question\": \"broken", at: 20)
        lines.insert("{\"question\": \"What is 1+1?\", \"answer\": \"   \"}", at: 61)
        lines.insert("{\"question\": \"No answer field\"}", at: 99)
        let url = try TestPaths.scratchDirectory("pipeline-data").appendingPathComponent("train.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func runPipeline(ranks: Int, data: URL, out: URL, extra: [String] = []) throws -> MPIRunner.Result {
        try MPIRunner.run(ranks: ranks, ["pipeline", "--data", data.path, "--out", out.path,
                                         "--records-per-chunk", "16", "--on-bad-record", "skip"] + extra, binary: MPIRunner.testbenchBinary)
    }

    func bytes(_ run: URL, _ file: String) throws -> Data {
        try Data(contentsOf: run.appendingPathComponent(file))
    }

    /// Every output file of `run` equals `reference`'s, and so does every chunk file.
    func assertSameOutputs(_ run: URL, _ reference: URL, _ label: String) throws {
        for file in Self.deterministicOutputs {
            XCTAssertEqual(try bytes(run, file), try bytes(reference, file), "\(label): \(file) differs")
        }
        for directory in ["scores", "masks"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: reference.appendingPathComponent(directory).path).sorted()
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent(directory).path).sorted(), names)
            for name in names {
                XCTAssertEqual(try bytes(run, "\(directory)/\(name)"), try bytes(reference, "\(directory)/\(name)"), "\(label): \(directory)/\(name) differs")
            }
        }
    }

    func testOutputsAreIdenticalFor1And2And4RanksAndReconcile() throws {
        let data = try Self.dataset()
        var runs: [URL] = []
        for ranks in [1, 2, 4] {
            let out = try TestPaths.scratchDirectory("pipeline-np\(ranks)")
            // np=2 logs as JSON, np=4 quietly: neither changes the outputs.
            let extra = ranks == 2 ? ["--log-format", "json"] : ranks == 4 ? ["--quiet"] : []
            let result = try runPipeline(ranks: ranks, data: data, out: out, extra: extra)
            XCTAssertEqual(result.status, 0, "np=\(ranks):\n\(result.stdout)\n\(result.stderr)")
            runs.append(out)
            let lines = result.stderr.split(separator: "\n")
            switch ranks {
            case 1:
                // Progress as plain lines; the last one says all 10 chunks are done.
                XCTAssertTrue(lines.contains { $0.hasPrefix("score: 10/10 chunks (100%), ") && $0.contains(" tokens/s, ") }, result.stderr)
            case 2:
                // One JSON object per line (logs and progress), from rank 0 only.
                let objects = lines.map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                XCTAssertTrue(objects.allSatisfy { $0 != nil }, "not JSON: \(result.stderr)")
                let progress = objects.compactMap { $0 }.filter { $0["event"] as? String == "progress" }
                XCTAssertEqual(progress.last?["done"] as? Int, 10, result.stderr)
                XCTAssertEqual(progress.last?["total"] as? Int, 10, result.stderr)
                XCTAssertTrue(objects.contains { $0?["message"] as? String == "scoring 10 chunks on 2 rank(s)" }, result.stderr)
            default:
                XCTAssertEqual(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines), "", "--quiet printed: \(result.stderr)")
            }
        }
        for (i, ranks) in [2, 4].enumerated() { try assertSameOutputs(runs[i + 1], runs[0], "np=\(ranks) vs np=1") }

        // Records read = scored + rejected, and every rejection is listed with its reason.
        let manifest = try JSONSerialization.jsonObject(with: bytes(runs[0], "manifest.json")) as! [String: Any]
        let totals = manifest["totals"] as! [String: Int]
        XCTAssertEqual(totals["records"], 153)
        XCTAssertEqual(totals["scored"], 150)
        XCTAssertEqual(totals["rejected"], 3)
        let rejected = manifest["rejected"] as! [[String: Any]]
        XCTAssertEqual(rejected.map { $0["line"] as! Int }, [21, 62, 100])
        XCTAssertTrue((rejected[0]["reason"] as! String).contains("malformed JSON"), "\(rejected[0])")
        XCTAssertEqual(rejected[1]["reason"] as? String, "empty response")
        XCTAssertEqual(rejected[2]["reason"] as? String, "missing field \"answer\"")
        // Checksums in the manifest are the files' own.
        for output in manifest["outputs"] as! [[String: Any]] {
            let path = output["path"] as! String
            let data = try bytes(runs[0], path)
            XCTAssertEqual(output["bytes"] as? Int, data.count, path)
        }

        // masked.jsonl: one line per scored record; labels -100 on the prompt and on masked tokens.
        let masked = try String(decoding: bytes(runs[0], "masked.jsonl"), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(masked.count, 150)
        let stats = try JSONSerialization.jsonObject(with: bytes(runs[0], "stats.json")) as! [String: Any]
        let report = stats["report"] as! [String: Any]
        var maskedResponse = 0, responseTokens = 0
        for line in masked {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let ids = record["input_ids"] as! [Int], labels = record["labels"] as! [Int]
            XCTAssertEqual(ids.count, labels.count)
            // The prompt is never trained on: the first position always carries -100.
            let firstLabelled = labels.firstIndex { $0 != -100 } ?? ids.count
            XCTAssertGreaterThan(firstLabelled, 0)
            for (id, label) in zip(ids, labels) where label != -100 { XCTAssertEqual(id, label) }
        }
        for line in try String(decoding: bytes(runs[0], "tokens.jsonl"), as: UTF8.self).split(separator: "\n") {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let flags = record["flags"] as! [String]
            responseTokens += flags.count
            maskedResponse += flags.filter { !$0.isEmpty }.count
        }
        XCTAssertEqual(report["responseTokens"] as? Int, responseTokens)
        XCTAssertEqual(report["maskedTokens"] as? Int, maskedResponse)
        XCTAssertGreaterThan(maskedResponse, 0)
    }

    /// On a terminal the progress line is redrawn in place (carriage return, erase line) and
    /// ends with a newline; `script` gives the process a pseudo-terminal.
    func testProgressIsRedrawnOnATerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            throw XCTSkip("SKIPPED LOUDLY: no /usr/bin/script (util-linux) to give xtf a terminal")
        }
        let data = try Self.dataset()
        let out = try TestPaths.scratchDirectory("pipeline-tty")
        let command = [MPIRunner.testbenchBinary.path, "pipeline", "--data", data.path, "--out", out.path,
                       "--records-per-chunk", "16", "--on-bad-record", "skip"].joined(separator: " ")
        let result = try Process.capture("/usr/bin/script", ["-qec", command, "/dev/null"])
        XCTAssertEqual(result.status, 0, result.stdout)
        XCTAssertTrue(result.stdout.contains("\r\u{1B}[2Kscore: 10/10 chunks (100%), "), result.stdout)
        XCTAssertFalse(result.stdout.contains("\nscore: 10/10"), "a terminal gets a redrawn line, not plain lines: \(result.stdout)")
    }

    func testCrashedRunResumesToTheSameFiles() throws {
        let data = try Self.dataset()
        let reference = try TestPaths.scratchDirectory("pipeline-ref")
        XCTAssertEqual(try runPipeline(ranks: 2, data: data, out: reference).status, 0)

        let out = try TestPaths.scratchDirectory("pipeline-crash")
        let crashed = try runPipeline(ranks: 2, data: data, out: out, extra: ["--crash-after", "2"])
        XCTAssertNotEqual(crashed.status, 0, "the job was meant to crash")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("stats.json").path))
        let progress = try String(contentsOf: out.appendingPathComponent("progress.jsonl"), encoding: .utf8)
        let finishedBefore = progress.split(separator: "\n").count
        XCTAssertGreaterThan(finishedBefore, 0)
        XCTAssertLessThan(finishedBefore, 10)

        // A temporary file a writer killed mid-write leaves behind is cleared by the resume.
        try Data("partial".utf8).write(to: out.appendingPathComponent("scores/chunk-000009.safetensors.tmp-1-2"))

        // Without --resume the run directory is refused, and left as it was.
        let refused = try runPipeline(ranks: 2, data: data, out: out)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--resume"), refused.stderr)

        let resumed = try runPipeline(ranks: 4, data: data, out: out, extra: ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming: \(finishedBefore) of 10 chunks already scored"), resumed.stderr)
        try assertSameOutputs(out, reference, "resumed")
    }

    func testBadRecordFailsNamingFileAndLine() throws {
        let data = try Self.dataset()
        let out = try TestPaths.scratchDirectory("pipeline-fail")
        let result = try MPIRunner.run(ranks: 2, ["pipeline", "--data", data.path, "--out", out.path,
                                                  "--records-per-chunk", "16"], binary: MPIRunner.testbenchBinary)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("train.jsonl:21: record train.jsonl:21: malformed JSON"), result.stderr)
    }
}
