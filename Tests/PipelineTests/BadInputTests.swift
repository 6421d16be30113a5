import Artifacts
import Foundation
import TestSupport
import XCTest

/// Bad input at the command level, under mpirun on the default model and three GSM8K records:
/// a tokenizer that does not fit the model, more ranks than records, and output directories
/// that hold another run. (Bad records, files and checkpoints are tested where they are read:
/// DataTests, SafetensorsTests, ModelTests/CheckpointFaultTests, TrainingTests/TrainFaultTests.)
final class BadInputTests: XCTestCase {
    static let model = TestPaths.packageRoot.appendingPathComponent("models/default")

    /// Three records and a scoring run of them on one rank, one record per chunk.
    static let shared: (data: URL, scored: URL) = {
        let data = try! Fixtures.gsm8k(records: 3)
        let scored = try! TestPaths.scratchDirectory("bad-input-scored")
        let result = try! MPIRunner.run(ranks: 1, ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k",
                                                   "--task", "math", "--out", scored.path, "--max-length", "512", "--records-per-chunk", "1"])
        precondition(result.status == 0, result.stderr)
        return (data, scored)
    }()

    func score(ranks: Int = 1, out: URL, _ extra: [String] = []) throws -> MPIRunner.Result {
        try MPIRunner.run(ranks: ranks, ["score", "--model", Self.model.path, "--data", Self.shared.data.path, "--format", "gsm8k",
                                         "--task", "math", "--out", out.path, "--max-length", "512", "--records-per-chunk", "1"] + extra)
    }

    func train(ranks: Int = 1, out: URL, _ source: [String]? = nil, _ extra: [String] = []) throws -> MPIRunner.Result {
        let data = source ?? ["--data", Self.shared.data.path, "--format", "gsm8k", "--mask", "none", "--max-length", "512"]
        return try MPIRunner.run(ranks: ranks, ["train", "--model", Self.model.path, "--out", out.path, "--max-steps", "1",
                                                "--global-batch", "2"] + data + extra)
    }

    /// Asserts the job failed with `message` on stderr (reported once, not once per rank).
    func assertRefused(_ result: MPIRunner.Result, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(result.status, 0, file: file, line: line)
        // The rank's own line, wherever mpirun's banner falls around it: exactly one line says it.
        let lines = result.stderr.split(separator: "\n").filter { $0.contains(message) }
        XCTAssertEqual(lines.count, 1, "no line, or more than one, with \"\(message)\" in\n\(result.stderr)", file: file, line: line)
    }

    /// What a command left in `directory`, besides the lock file every writer takes first.
    func files(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0 != DirectoryLock.fileName }.sorted()
    }

    // MARK: Tokenizer and model

    func testATokenizerThatDoesNotFitTheModelIsRefusedBeforeAnyWork() throws {
        let gpt2 = try TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json").path
        let expected = "tokenizer \(gpt2) does not fit model \(Self.model.path): the tokenizer's ids go up to 50256, the model's vocab_size is 1024; wrong --tokenizer or --model?"
        let out = try TestPaths.scratchDirectory("bad-tokenizer")
        defer { try? FileManager.default.removeItem(at: out) }
        assertRefused(try score(ranks: 2, out: out, ["--tokenizer", gpt2]), expected)
        XCTAssertEqual(files(out), [], "nothing written")
        assertRefused(try train(ranks: 2, out: out, nil, ["--tokenizer", gpt2]), expected)
        XCTAssertEqual(files(out), [], "nothing written")
        let evaluation = try MPIRunner.run(ranks: 2, ["eval", "--model", Self.model.path, "--tokenizer", gpt2, "--task", "perplexity",
                                                      "--data", Self.shared.data.path])
        assertRefused(evaluation, expected)

        // The model's own tokenizer with an added special token (the llama3 template's) past
        // the model's vocabulary.
        let tokenizer = out.deletingLastPathComponent().appendingPathComponent("eot-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: tokenizer) }
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.model.appendingPathComponent("tokenizer.json"))) as! [String: Any]
        json["added_tokens"] = (json["added_tokens"] as! [[String: Any]]) + [["content": "<|eot_id|>", "id": 3000, "lstrip": false, "normalized": false,
                                                                            "rstrip": false, "single_word": false, "special": true]]
        try JSONSerialization.data(withJSONObject: json).write(to: tokenizer)
        assertRefused(try score(out: out, ["--tokenizer", tokenizer.path, "--template", "llama3"]),
                      "tokenizer \(tokenizer.path) does not fit model \(Self.model.path): the tokenizer's ids go up to 3000, the model's vocab_size is 1024")
        XCTAssertEqual(files(out), [], "nothing written")

        // Sparse ids: few tokens, but one of them past the model's vocabulary.
        let sparse = out.deletingLastPathComponent().appendingPathComponent("sparse-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: sparse) }
        var sparseJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.model.appendingPathComponent("tokenizer.json"))) as! [String: Any]
        var bpe = sparseJSON["model"] as! [String: Any]
        var vocab = bpe["vocab"] as! [String: Any]
        vocab["zzzq"] = 5000
        bpe["vocab"] = vocab; sparseJSON["model"] = bpe
        try JSONSerialization.data(withJSONObject: sparseJSON).write(to: sparse)
        assertRefused(try score(out: out, ["--tokenizer", sparse.path]),
                      "tokenizer \(sparse.path) does not fit model \(Self.model.path): the tokenizer's ids go up to 5000, the model's vocab_size is 1024")
        XCTAssertEqual(files(out), [], "nothing written")

        // Token ids of a scoring run against a model with a smaller vocabulary.
        let config = out.deletingLastPathComponent().appendingPathComponent("small-\(UUID().uuidString).json")
        let small = out.deletingLastPathComponent().appendingPathComponent("small-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: config); try? FileManager.default.removeItem(at: small) }
        try #"{"model_type": "gpt2", "vocab_size": 200, "n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 512}"#
            .write(to: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try MPIRunner.run(ranks: 1, ["model", "init", "--config", config.path, "--out", small.path]).status, 0)
        let ids = try MPIRunner.run(ranks: 2, ["train", "--model", small.path, "--scores", Self.shared.scored.path, "--mask", "none",
                                               "--out", out.path, "--max-steps", "1"])
        assertRefused(ids, "tokenizer \(Self.model.path) does not fit model \(small.path): sample train.jsonl:")
        XCTAssertTrue(ids.stderr.contains(" of the scoring run \(Self.shared.scored.path) holds token id "), ids.stderr)
        XCTAssertTrue(ids.stderr.contains(", past the model's vocab_size 200; wrong --tokenizer or --model?"), ids.stderr)
        XCTAssertEqual(files(out), [], "nothing written")
    }

    // MARK: Ranks

    /// Three records on four ranks, one per chunk: one rank gets none, and the files are those
    /// of one rank.
    func testMoreRanksThanRecordsScoreTheSameBytesAsOneRank() throws {
        let out = try TestPaths.scratchDirectory("bad-input-np4")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try score(ranks: 4, out: out)
        XCTAssertEqual(result.status, 0, result.stderr)
        for file in ["stats.json", "masked.jsonl", "tokens.jsonl", "tr.safetensors", "scores/chunk-000002.safetensors"] {
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(file)),
                           try Data(contentsOf: Self.shared.scored.appendingPathComponent(file)), file)
        }
    }

    // MARK: Output directories

    func testAnOutputDirectoryOfAnotherRunIsRefused() throws {
        let scored = Self.shared.scored
        assertRefused(try score(out: scored),
                      "\(scored.path): already holds an xtf score run (progress.jsonl, scores, settings.json); pass --resume to continue it, or choose another --out")
        assertRefused(try score(ranks: 2, out: scored, ["--resume", "--max-length", "300"]),
                      "\(scored.path)/settings.json: was written by another run (maxLength: was 512, now 300); --resume continues only the same run: choose another --out")
        let resumed = try score(ranks: 2, out: scored, ["--resume"])
        XCTAssertEqual(resumed.status, 0, "the same settings continue (here: nothing left to score)\n\(resumed.stderr)")
        XCTAssertTrue(resumed.stderr.contains("resuming: 3 of 3 chunks already scored"), resumed.stderr)
        assertRefused(try train(out: scored, ["--scores", scored.path, "--mask", "xtf"]),
                      "\(scored.path): holds an xtf score run (progress.jsonl, scores, settings.json), not an xtf train run: choose another --out")

        let trained = try TestPaths.scratchDirectory("bad-input-trained")
        defer { try? FileManager.default.removeItem(at: trained) }
        let first = try train(ranks: 2, out: trained)
        XCTAssertEqual(first.status, 0, first.stderr)
        let outputs = "(checkpoint-00000001, losses.jsonl, train-settings.json)"
        assertRefused(try score(out: trained), "\(trained.path): holds an xtf train run \(outputs), not an xtf score run: choose another --out")
        assertRefused(try train(out: trained), "\(trained.path): already holds an xtf train run \(outputs); pass --resume to continue it, or choose another --out")
        let other = try Fixtures.gsm8k(records: 4)
        assertRefused(try train(ranks: 2, out: trained, ["--data", other.path, "--format", "gsm8k", "--mask", "none", "--max-length", "512"], ["--resume"]),
                      "\(trained.path)/train-settings.json: was written by another run (data.path: was \"\(Self.shared.data.path)\", now \"\(other.path)\"); --resume continues only the same run")
        // The same run continued for more steps is not another run; what a killed writer left
        // half-written (a temporary file) is gone after the resume.
        let orphan = trained.appendingPathComponent("checkpoint-00000001/optimizer.safetensors.tmp-4242-7")
        try Data().write(to: orphan)
        let longer = try train(ranks: 2, out: trained, nil, ["--resume", "--max-steps", "2"])
        XCTAssertEqual(longer.status, 0, longer.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: orphan.path), "a killed writer's temporary file survived --resume")
        XCTAssertTrue(longer.stderr.contains("resuming from \(trained.path)/checkpoint-00000001 at step 1 of 2"), longer.stderr)
    }

    /// One writer per run directory: while another process holds OUT (here the test itself),
    /// score and train refuse it, naming the holder (this half proves the lock). Two scorings
    /// started together into one new OUT leave one complete run, never a mix (the later one is
    /// refused by the lock or, if the first already finished, as "already holds" a run).
    func testARunDirectoryInUseIsRefusedNamingItsHolder() throws {
        let busy = try TestPaths.scratchDirectory("bad-input-locked")
        defer { try? FileManager.default.removeItem(at: busy) }
        try DirectoryLock.acquire(busy.path, purpose: "a test holding it")
        let holder = "in use by another xtf process (pid \(getpid()) on "
        assertRefused(try score(out: busy), holder)
        assertRefused(try train(out: busy), holder)
        XCTAssertTrue(try score(out: busy).stderr.contains("a test holding it"))
        XCTAssertEqual(files(busy), [], "nothing written while another process holds it")

        // A folder of the user's own files is never written over.
        let users = try TestPaths.scratchDirectory("bad-input-users-folder")
        defer { try? FileManager.default.removeItem(at: users) }
        try "mine\n".write(to: users.appendingPathComponent("masked.jsonl"), atomically: true, encoding: .utf8)
        assertRefused(try score(out: users), "\(users.path): holds files that are not an xtf run (masked.jsonl): choose a new or empty --out")
        assertRefused(try train(out: users), "\(users.path): holds files that are not an xtf run (masked.jsonl): choose a new or empty --out")
        XCTAssertEqual(try String(contentsOf: users.appendingPathComponent("masked.jsonl"), encoding: .utf8), "mine\n")

        let contested = try TestPaths.scratchDirectory("bad-input-contested")
        defer { try? FileManager.default.removeItem(at: contested) }
        // Two jobs launched together (not through MPIRunner, which waits for each).
        let jobs = (0..<2).map { _ -> Process in
            let p = Process()
            p.executableURL = TestPaths.packageRoot.appendingPathComponent("scripts/xtf-mpirun")
            p.arguments = ["-np", "1", "score", "--model", Self.model.path, "--data", Self.shared.data.path, "--format", "gsm8k",
                           "--task", "math", "--out", contested.path, "--max-length", "512", "--records-per-chunk", "1"]
            var environment = MPIRunner.cleanEnvironment
            environment["XTF_BIN"] = MPIRunner.xtfBinary.path
            p.environment = environment
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            return p
        }
        for job in jobs { try job.run() }
        for job in jobs { job.waitUntilExit() }
        let statuses = jobs.map(\.terminationStatus)
        XCTAssertEqual(statuses.filter { $0 == 0 }.count, 1, "exactly one of two simultaneous writers succeeds: \(statuses)")
        let resumed = try score(out: contested, ["--resume"])
        XCTAssertTrue(resumed.stderr.contains("resuming: 3 of 3 chunks already scored"), "the one run is complete and consistent\n\(resumed.stderr)")
    }

    /// Issue #21's item 9: each of these got a Foundation error, a hang or a wrong run; each
    /// now gets a message naming the file or option and what is wrong, before any work.
    func testMessagesNameTheFileAndWhatIsWrong() throws {
        func run(_ arguments: [String]) throws -> MPIRunner.Result { try MPIRunner.run(ranks: 1, arguments) }
        let out = try TestPaths.scratchDirectory("bad-input-messages").appendingPathComponent("out")
        let base = ["score", "--model", Self.model.path, "--format", "gsm8k", "--task", "math", "--out", out.path]
        let folder = out.deletingLastPathComponent()
        assertRefused(try run(base + ["--data", folder.path]), "\(folder.path): cannot read: is a directory: give the data file")
        assertRefused(try run(base + ["--data", "/dev/zero"]), "/dev/zero: cannot read: is not a regular file (a device or a pipe): give the data file")
        let file = folder.appendingPathComponent("a-file")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        assertRefused(try run(["score", "--model", Self.model.path, "--format", "gsm8k", "--task", "math", "--data", Self.shared.data.path,
                               "--out", file.path]), "\(file.path): is a file, not a directory: --out names the run's directory")
        assertRefused(try run(base + ["--data", Self.shared.data.path, "--tau-kn", "-1"]), "tauKN: must lie in [0, 1], got -1.0")
        XCTAssertEqual(files(out), [], "nothing written")

        // A tokenizer.json with a bad field: the file and the field.
        let model = folder.appendingPathComponent("model")
        try FileManager.default.copyItem(at: Self.model, to: model)
        try #"{"model": {"type": "BPE", "vocab": 5}}"#.write(to: model.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        assertRefused(try run(["score", "--model", model.path, "--format", "gsm8k", "--task", "math", "--data", Self.shared.data.path,
                               "--out", out.path]), "\(model.path)/tokenizer.json: model.vocab: expected an object")

        // xtf-mpirun with -np and no number, or 0.
        for extra in [["-np"], ["-np", "0"]] {
            let launcher = try Process.outcome(TestPaths.packageRoot.appendingPathComponent("scripts/xtf-mpirun"), extra + ["info"], withStandardError: true)
            XCTAssertEqual(launcher.status, 2, launcher.output)
            XCTAssertTrue(launcher.output.contains("xtf-mpirun: "), launcher.output)
        }

        // An --out the user may not create (as another user than the folder's owner).
        if getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            let locked = folder.appendingPathComponent("not-yours")
            try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let denied = try Process.outcome(URL(fileURLWithPath: "/usr/bin/setpriv"), [
                "--reuid=65534", "--regid=65534", "--clear-groups", MPIRunner.xtfBinary.path, "score", "--model", Self.model.path,
                "--format", "gsm8k", "--task", "math", "--data", Self.shared.data.path, "--out", locked.appendingPathComponent("run").path,
            ], withStandardError: true)
            XCTAssertNotEqual(denied.status, 0)
            XCTAssertTrue(denied.output.contains("\(locked.path)/run: create the directory failed: Permission denied"), denied.output)
        } else {
            print("*** SKIP: the permission case needs root and setpriv to run xtf as another user ***")
        }

        // inspect on a tokens.jsonl cut short.
        let cut = folder.appendingPathComponent("cut")
        try FileManager.default.createDirectory(at: cut, withIntermediateDirectories: true)
        let tokens = try Data(contentsOf: Self.shared.scored.appendingPathComponent("tokens.jsonl"))
        // Cut inside the first record, after its id (keys are sorted: flags, id, pcp, ...).
        let cutAt = try XCTUnwrap(String(decoding: tokens, as: UTF8.self).range(of: "\"pcp\"")).upperBound.utf16Offset(in: String(decoding: tokens, as: UTF8.self))
        try tokens.prefix(cutAt + 20).write(to: cut.appendingPathComponent("tokens.jsonl"))
        let inspect = try run(["inspect", cut.path, "--sample", "1"])
        assertRefused(inspect, "\(cut.path)/tokens.jsonl: cannot be read: line 1: not a tokens.jsonl record (not valid JSON)")
    }

    /// An --out inside another run (its scores/ or a checkpoint), or one that is a symbolic
    /// link, is refused before anything is written; an eval writing its result into a folder
    /// another process is writing is refused naming the holder.
    func testOutputsInsideRunsSymlinksAndBusyEvalFoldersAreRefused() throws {
        let scored = Self.shared.scored
        for inside in ["scores/nested", "nested"] {
            let out = scored.appendingPathComponent(inside)
            assertRefused(try score(out: out), "\(out.path): is inside the xtf run \(scored.path): choose an --out outside it")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing written inside the run")
        }
        let target = try TestPaths.scratchDirectory("bad-input-link-target"), link = target.deletingLastPathComponent().appendingPathComponent("bad-input-link")
        try? FileManager.default.removeItem(at: link)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        defer { try? FileManager.default.removeItem(at: link) }
        assertRefused(try score(out: link), "\(link.path): is a symbolic link: give the directory it points to as --out")
        XCTAssertEqual(files(target), [])
        // A run's sub-folder that is a link: resuming would write wherever it points.
        let linked = try TestPaths.scratchDirectory("bad-input-linked-scores"), elsewhere = try TestPaths.scratchDirectory("bad-input-elsewhere")
        XCTAssertEqual(try score(out: linked).status, 0)
        try FileManager.default.removeItem(at: linked.appendingPathComponent("scores"))
        try FileManager.default.createSymbolicLink(at: linked.appendingPathComponent("scores"), withDestinationURL: elsewhere)
        assertRefused(try score(out: linked, ["--resume"]), "\(linked.path)/scores: is a symbolic link (to \(elsewhere.path)): a run writes only into folders of its own")
        XCTAssertEqual(files(elsewhere), [])

        let busy = try TestPaths.scratchDirectory("bad-input-eval-busy")
        try DirectoryLock.acquire(busy.path, purpose: "a test holding it")
        let data = try Fixtures.gsm8k(records: 2)
        let eval = try MPIRunner.run(ranks: 1, ["eval", "--model", Self.model.path, "--task", "gsm8k", "--data", data.path,
                                                "--max-new-tokens", "2", "--out", busy.appendingPathComponent("eval.json").path])
        assertRefused(eval, "in use by another xtf process (pid \(getpid()) on ")
        XCTAssertFalse(FileManager.default.fileExists(atPath: busy.appendingPathComponent("eval.json").path))
        // A folder an eval wrote into (it keeps the lock file) is not a run: runs go below it.
        let below = try score(out: busy.appendingPathComponent("below"))
        XCTAssertEqual(below.status, 0, below.stderr)
        // Data reached through a symbolic link (a hub cache's snapshot) is its file.
        let dataLink = busy.deletingLastPathComponent().appendingPathComponent("bad-input-data-link.jsonl")
        try? FileManager.default.removeItem(at: dataLink)
        try FileManager.default.createSymbolicLink(at: dataLink, withDestinationURL: Self.shared.data)
        defer { try? FileManager.default.removeItem(at: dataLink) }
        let viaLink = try MPIRunner.run(ranks: 1, ["score", "--model", Self.model.path, "--data", dataLink.path, "--format", "gsm8k", "--task", "math",
                                                   "--out", busy.appendingPathComponent("linked-data").path, "--max-length", "512"])
        XCTAssertEqual(viaLink.status, 0, viaLink.stderr)
    }

    /// `xtf eval` refuses what it cannot evaluate honestly: a bad record (named by file and
    /// line; skipped and listed under --on-bad-record skip), an empty file, a malformed HumanEval
    /// line, and k, samples, timeout or limit no run can honour.
    func testEvalRefusesBadDataAndSettings() throws {
        let dir = try TestPaths.scratchDirectory("bad-input-eval")
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try String(contentsOf: Self.shared.data, encoding: .utf8).split(separator: "\n")[0]
        let bad = dir.appendingPathComponent("bad.jsonl"), empty = dir.appendingPathComponent("empty.jsonl")
        try "\(good)\n{\"question\": \"no answer\"}\n".write(to: bad, atomically: true, encoding: .utf8)
        try "\n".write(to: empty, atomically: true, encoding: .utf8)
        func eval(_ data: URL, _ extra: [String] = []) throws -> MPIRunner.Result {
            try MPIRunner.run(ranks: 1, ["eval", "--model", Self.model.path, "--task", "gsm8k", "--data", data.path, "--max-new-tokens", "4"] + extra)
        }
        assertRefused(try eval(bad), "\(bad.path):2: record bad.jsonl:2: missing field \"answer\"")
        let result = dir.appendingPathComponent("eval.json")
        let skipped = try eval(bad, ["--on-bad-record", "skip", "--out", result.path])
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: result)) as! [String: Any]
        XCTAssertEqual(json["items"] as? Int, 1)
        XCTAssertEqual(json["skipped"] as? [String], ["bad.jsonl:2: missing field \"answer\""])
        assertRefused(try eval(empty), "\(empty.path): no records to evaluate")

        let humaneval = dir.appendingPathComponent("he.jsonl")
        try "{\"task_id\": \"x\"}\n".write(to: humaneval, atomically: true, encoding: .utf8)
        let he = try MPIRunner.run(ranks: 1, ["eval", "--model", Self.model.path, "--task", "humaneval", "--data", humaneval.path])
        assertRefused(he, "\(humaneval.path): line 1: missing field")
        for (extra, message) in [(["--samples", "1", "--k", "5"], "--k: each k must lie in 1...1 (the samples per problem), got 5"),
                                 (["--samples", "0"], "--samples: must be >= 1, got 0"),
                                 (["--timeout=-1"], "--timeout: must be > 0 seconds, got -1.0"),
                                 (["--limit", "0"], "--limit: must be >= 1, got 0")] {
            let r = try MPIRunner.run(ranks: 1, ["eval", "--model", Self.model.path, "--task", "humaneval", "--data", humaneval.path] + extra)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains(message), "\(extra): \(r.stderr)")
        }
    }

    func testAnXtfRunDirectoryOfAnotherRunIsRefused() throws {
        let directory = try TestPaths.scratchDirectory("bad-input-run")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("run")
        let config = directory.appendingPathComponent("run.yaml")
        try """
            out: \(out.path)
            model: \(Self.model.path)
            score: {data: \(Self.shared.data.path), format: gsm8k, task: math, max-length: 512, records-per-chunk: 1}
            train: {max-steps: 1, global-batch: 2, lr: 1e-3}
            arms:
              normal: {mask: none}
            """.write(to: config, atomically: true, encoding: .utf8)
        let first = try MPIRunner.run(ranks: 2, ["run", "--config", config.path])
        XCTAssertEqual(first.status, 0, first.stderr)

        let refusal = "\(out.path)/run.json: was written by another run (%@), whose outputs would be taken as this run's: "
            + "choose another out, or delete the directories of those stages to redo them"
        assertRefused(try MPIRunner.run(ranks: 2, ["run", "--config", config.path, "--set", "score.max-length=300"]),
                      String(format: refusal, "score.max-length: was 512, now 300"))
        assertRefused(try MPIRunner.run(ranks: 1, ["run", "--config", config.path, "--set", "train.lr=0.01"]),
                      String(format: refusal, "arms.normal.lr: was 0.001, now 0.01"))
        // The same file again: every stage is found done.
        let again = try MPIRunner.run(ranks: 1, ["run", "--config", config.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("score: done") && again.stderr.contains("normal: training done"), again.stderr)
        // Another command's directory.
        assertRefused(try MPIRunner.run(ranks: 1, ["run", "--config", config.path, "--set", "out=\(Self.shared.scored.path)"]),
                      "\(Self.shared.scored.path): holds an xtf score run (progress.jsonl, scores, settings.json), not an xtf run directory: choose another --out")
    }
}
