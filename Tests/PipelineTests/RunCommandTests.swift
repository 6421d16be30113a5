import Foundation
import Report
import TestSupport
import XCTest

/// `xtf run` on generated ground-truth data with a tiny GPT-2: every stage's outputs, the
/// report and manifest, stages skipped when run again, overrides, and config errors that
/// name the file and the setting.
final class RunCommandTests: XCTestCase {
    static let shared: (model: URL, data: URL) = {
        let model = try! Fixtures.tinyGPT2()
        let data = try! TestPaths.scratchDirectory("run-data")
        let result = try! MPIRunner.run(ranks: 1, ["groundtruth", "generate", "--out", data.path, "--train", "40", "--test", "6",
                                                   "--pretrain", "10", "--seed", "3"])
        precondition(result.status == 0, result.stderr)
        return (model, data)
    }()

    func config(_ directory: URL, arms: String = "  normal: {mask: none}\n  xtf: {}\n  kn-only: {attributes: kn, tau-kn: 0.00002}\n") throws -> URL {
        let text = """
            out: run
            model: \(Self.shared.model.path)
            score:
              data: \(Self.shared.data.path)/train.jsonl
              format: gsm8k
              task: math
              records-per-chunk: 8
              max-length: 160
            train:
              max-steps: 3
              global-batch: 8
              lr: 3e-3
            arms:
            \(arms)
            eval:
              task: gsm8k
              data: \(Self.shared.data.path)/test.jsonl
              max-new-tokens: 6
              limit: 4
            groundtruth:
              labels: \(Self.shared.data.path)/train.jsonl
            """
        let url = directory.appendingPathComponent("run.yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testRunsEveryStageThenSkipsThem() throws {
        let directory = try TestPaths.scratchDirectory("run")
        let file = try config(directory)
        let first = try MPIRunner.run(ranks: 2, ["run", "--config", file.path], timeout: 900)
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        let out = directory.appendingPathComponent("run")  // relative to the YAML file
        for name in ["run.json", "environment.json", "report.md", "report.json", "report.html", "detection.json", "manifest.json", "base-eval.json",
                     "score/stats.json", "arms/normal/eval.json", "arms/xtf/eval.json", "arms/kn-only/eval.json",
                     "arms/kn-only/masks/stats.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "missing \(name)")
        }
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        for row in ["| base |", "| normal | none | 3 |", "| xtf | xtf | 3 |", "| kn-only | xtf | 3 |", "| kn | boilerplate |",
                    "## Noise flagged in the data", "40 records: 40 scored, 0 rejected",
                    "Every scored sample trained on or held out (trained + held out, per arm): normal 40 + 0, xtf 40 + 0, kn-only 40 + 0."] {
            XCTAssertTrue(report.contains(row), "no \(row) in\n\(report)")
        }
        XCTAssertTrue(first.stdout.contains("report: \(out.path)/report.md"), first.stdout)

        // Every evaluated item's generation and grade, in data order.
        let generations = try String(contentsOf: out.appendingPathComponent("arms/xtf/generations.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(generations.map { $0["index"] as? Int }, [0, 1, 2, 3])
        XCTAssertTrue(generations.allSatisfy { ($0["prompt"] as? String)?.hasSuffix("now?\n") ?? false }, "\(generations)")
        let evalResult = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("arms/xtf/eval.json"))) as! [String: Any]
        XCTAssertEqual(evalResult["correct"] as? Int, generations.filter { $0["correct"] as? Bool == true }.count)

        // `xtf inspect`: sample 3's tokens, scores and flags, as tokens.jsonl has them.
        let inspect = try MPIRunner.run(ranks: 1, ["inspect", out.path, "--sample", "3", "--color", "never"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let line = try String(contentsOf: out.appendingPathComponent("score/tokens.jsonl"), encoding: .utf8).split(separator: "\n")[2]
        let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let tokens = record["tokens"] as! [String], flags = record["flags"] as! [String]
        XCTAssertTrue(inspect.stdout.hasPrefix("train.jsonl:3: \(tokens.count) response tokens, \(flags.filter { !$0.isEmpty }.count) masked"),
                      inspect.stdout)
        XCTAssertEqual(inspect.stdout.split(separator: "\n").filter { $0.range(of: #"^ +\d+  "#, options: .regularExpression) != nil }.count,
                       tokens.count, inspect.stdout)
        for (token, flag) in zip(tokens, flags) where !flag.isEmpty {
            XCTAssertTrue(inspect.stdout.contains("[\(token.replacingOccurrences(of: "\\n", with: "\n"))]{\(flag)}"), "\(token) \(flag)\n\(inspect.stdout)")
        }
        let missing = try MPIRunner.run(ranks: 1, ["inspect", out.path, "--sample", "train.jsonl:999"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("tokens.jsonl: no sample \"train.jsonl:999\""), missing.stderr)

        // The arm's own masks: KN only.
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("arms/kn-only/masks/stats.json"))) as! [String: Any]
        let attributes = (stats["report"] as! [String: Any])["attributes"] as! [[String: Any]]
        let flagged = Dictionary(uniqueKeysWithValues: attributes.map { ($0["attribute"] as! String, $0["flagged"] as! Int) })
        XCTAssertEqual(flagged["ri"], 0)
        XCTAssertEqual(flagged["tr"], 0)
        XCTAssertGreaterThan(flagged["kn"] ?? 0, 0)

        try assertHTMLReportRenders(out)

        // The manifest's checksums are the files'.
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json"))) as! [[String: Any]]
        let entry = try XCTUnwrap(manifest.first { $0["path"] as? String == "report.md" })
        let sum = try Process.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), [out.appendingPathComponent("report.md").path])
        XCTAssertEqual(entry["sha256"] as? String, sum.split(separator: " ").first.map(String.init))
        XCTAssertTrue(manifest.contains { ($0["path"] as? String)?.hasPrefix("arms/xtf/train/checkpoint-00000003/") ?? false })

        // Again: every stage is found done; the report is the same.
        let second = try MPIRunner.run(ranks: 2, ["run", "--config", file.path], timeout: 900)
        XCTAssertEqual(second.status, 0, second.stderr)
        for line in ["score: done", "normal: training done", "xtf: evaluation done"] {
            XCTAssertTrue(second.stderr.contains(line), "no \"\(line)\" in\n\(second.stderr)")
        }
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8), report)
        // The rerun rewrote report.html (its timings differ): the manifest has the new checksum.
        let again = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json"))) as! [[String: Any]]
        let html = try XCTUnwrap(again.first { $0["path"] as? String == "report.html" })
        let htmlSum = try Process.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), [out.appendingPathComponent("report.html").path])
        XCTAssertEqual(html["sha256"] as? String, htmlSum.split(separator: " ").first.map(String.init))

        // One arm run again by name: the report still compares every arm the directory holds.
        let one = try MPIRunner.run(ranks: 1, ["run", "--config", file.path, "--arms", "xtf"], timeout: 900)
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8), report)

        // Overrides and arm selection on a new run directory.
        let third = try MPIRunner.run(ranks: 1, ["run", "--config", file.path, "--set", "out=\(directory.path)/other",
                                                 "--set", "train.max-steps=2", "--set", "train.lora=4,16,c_attn",
                                                 "--set", "arms.normal.caps=0.05 0.1 0.05", "--arms", "normal"], timeout: 900)
        XCTAssertEqual(third.status, 0, third.stderr)
        let other = try String(contentsOf: directory.appendingPathComponent("other/report.md"), encoding: .utf8)
        XCTAssertTrue(other.contains("| normal | none | 2 |"), other)
        XCTAssertFalse(other.contains("| xtf |"), other)
        // A comma stays inside one value (a LoRA run: its checkpoint is an adapter, evaluated on the base).
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent(
            "other/arms/normal/train/checkpoint-00000002/adapter_config.json").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("other/arms/normal/eval.json").path))
    }

    /// `xtf report`: one HTML file that headless Chromium opens from disk with no console
    /// message and no script error, with the sample browser, the histograms and the loss
    /// chart drawn; the screenshot is kept in test-artifacts/.
    func assertHTMLReportRenders(_ run: URL) throws {
        let result = try MPIRunner.run(ranks: 1, ["report", run.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let html = run.appendingPathComponent("report.html")
        let page = try String(contentsOf: html, encoding: .utf8)
        XCTAssertNil(page.range(of: #"(src|href)="(https?:)?//"#, options: .regularExpression), "the report must not fetch anything")
        for figure in ["loss.svg", "histogram-ri.svg", "histogram-kn.svg", "histogram-tr.svg", "overlap.svg", "ranks.svg"] {
            let svg = try String(contentsOf: run.appendingPathComponent("figures/\(figure)"), encoding: .utf8)
            XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""), figure)
        }
        // The report reads flags and RI without a JSON decoder: the same values as one.
        let tokens = try Data(contentsOf: run.appendingPathComponent("score/tokens.jsonl"))
        for line in tokens.split(separator: UInt8(ascii: "\n")) {
            let scanned = try XCTUnwrap(SampleSelection.scanFlagsAndRI(line))
            let record = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            XCTAssertEqual(scanned.flags, record["flags"] as? [String])
            XCTAssertEqual(scanned.ri.map { $0.map(Double.init) }, (record["ri"] as! [Any]).map { ($0 as? NSNumber).map { Double($0.floatValue) } })
        }
        XCTAssertNil(SampleSelection.scanFlagsAndRI(Data(#"{"id":"x","flags":[""],"ri":[1]}"#.utf8)[...]), "another key order is left to the decoder")
        XCTAssertNil(SampleSelection.scanFlagsAndRI(Data(#"{"flags":["",""],"ri":[0.5]}"#.utf8)[...]), "counts that disagree")

        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let chromium else {
            throw XCTSkip("SKIPPED LOUDLY: no chromium (scripts/test.sh installs Debian's chromium); the report was written but not rendered")
        }
        let artifacts = TestPaths.packageRoot.appendingPathComponent("test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts.appendingPathComponent("report.png")
        try? FileManager.default.removeItem(at: screenshot)
        // As root in a container: no sandbox, and no reliance on a small /dev/shm.
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
        let shot = try Process.capture(chromium, flags + ["--window-size=1400,3000", "--screenshot=\(screenshot.path)", html.absoluteString])
        XCTAssertTrue(FileManager.default.fileExists(atPath: screenshot.path), "no screenshot: \(shot.stderr)")
        let dom = try Process.capture(chromium, flags + ["--dump-dom", html.absoluteString])
        for output in [shot.stderr, dom.stderr] {
            let console = output.split(separator: "\n").filter { $0.contains(":CONSOLE") }
            XCTAssertTrue(console.isEmpty, "console messages: \(console)")
        }
        XCTAssertTrue(dom.stdout.contains("data-ready=\"yes\""), "the page's script did not finish: \(dom.stdout.prefix(400))")
        XCTAssertFalse(dom.stdout.contains("data-errors="), "script errors")
        for part in ["id=\"sample-browser\"", "id=\"histogram-ri\"", "id=\"histogram-kn\"", "id=\"histogram-tr\"", "id=\"loss-chart\"",
                     "class=\"series\" data-name=\"normal\"", "class=\"tok flagged\"", "<li class=\"current\">"] {
            XCTAssertTrue(dom.stdout.contains(part), "no \(part) in the rendered page")
        }
        print("report screenshot: \(screenshot.path)")
    }

    func testConfigErrorsNameTheFileAndSetting() throws {
        let directory = try TestPaths.scratchDirectory("run-bad")
        let file = try config(directory)
        let unknownSection = directory.appendingPathComponent("bad.yaml")
        try (try String(contentsOf: file, encoding: .utf8) + "\nscoring: {}\n").write(to: unknownSection, atomically: true, encoding: .utf8)
        let a = try MPIRunner.run(ranks: 1, ["run", "--config", unknownSection.path])
        XCTAssertNotEqual(a.status, 0)
        XCTAssertTrue(a.stderr.contains("bad.yaml: scoring: unknown section"), a.stderr)

        let b = try MPIRunner.run(ranks: 1, ["run", "--config", file.path, "--set", "score.no-such-option=1"])
        XCTAssertNotEqual(b.status, 0)
        XCTAssertTrue(b.stderr.contains("run.yaml: score.no-such-option: unknown option (known here: assistant-turns, attributes, batch-size"), b.stderr)
        let d = try MPIRunner.run(ranks: 1, ["run", "--config", file.path, "--set", "score.max-length=many"])
        XCTAssertNotEqual(d.status, 0)
        XCTAssertTrue(d.stderr.contains("run.yaml: score.max-length: expected Int"), d.stderr)

        let c = try MPIRunner.run(ranks: 1, ["run", "--config", file.path, "--arms", "missing"])
        XCTAssertNotEqual(c.status, 0)
        XCTAssertTrue(c.stderr.contains("no arm \"missing\""), c.stderr)
    }
}

extension Process {
    /// Runs `path` with `arguments` and returns its status and outputs (standard error through
    /// a file, so neither pipe can fill up and block it).
    static func capture(_ path: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("xtf-capture-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        let process = Process(), pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: path); process.arguments = arguments
        process.standardOutput = pipe
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), try String(contentsOf: errors, encoding: .utf8))
    }
}
