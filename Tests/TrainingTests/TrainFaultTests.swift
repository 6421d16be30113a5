import Artifacts
import Foundation
import Model
import TestSupport
import Training
import XCTest

/// `xtf train` under mpirun on the default model and a few GSM8K records when something goes
/// wrong: a loss or gradient that becomes NaN (every rank stops together, naming the step and
/// the ranks; the last good checkpoint stays loadable), a full disk while saving a checkpoint,
/// and fewer samples than ranks with a global batch the rank count does not divide.
final class TrainFaultTests: XCTestCase {
    static let model = TestPaths.packageRoot.appendingPathComponent("models/default")
    /// The first 3 and 4 GSM8K records, one file each (a resumed run must read the same file).
    static let data = [3: try! Fixtures.gsm8k(records: 3), 4: try! Fixtures.gsm8k(records: 4)]

    func train(ranks: Int, records: Int, out: URL, _ extra: [String]) throws -> MPIRunner.Result {
        try MPIRunner.run(ranks: ranks, ["train", "--model", Self.model.path, "--data", Self.data[records]!.path,
                                         "--format", "gsm8k", "--mask", "none", "--max-length", "512", "--out", out.path] + extra)
    }

    /// The lines of stderr that report an error (mpirun's own banner aside).
    func errors(_ result: MPIRunner.Result) -> [Substring] {
        result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") || $0.contains("] error:") }
    }

    func testANonFiniteLossOrGradientStopsEveryRankAndKeepsTheLastGoodCheckpoint() throws {
        let out = try TestPaths.scratchDirectory("train-nan")
        defer { try? FileManager.default.removeItem(at: out) }
        // Step 1 moves every weight by about the learning rate; step 2 overflows.
        let arguments = ["--max-steps", "4", "--global-batch", "2", "--checkpoint-every", "1", "--lr", "1e30"]
        let first = try train(ranks: 2, records: 4, out: out, arguments)
        XCTAssertNotEqual(first.status, 0)
        let good = out.appendingPathComponent("checkpoint-00000001")
        let expected = "Error: step 2: the gradient on ranks 0, 1 is not finite (NaN or infinity); training stopped before the "
            + "update and wrote no checkpoint of this step. The last good checkpoint: \(good.path)."
        XCTAssertEqual(errors(first).count, 1, "one message, from rank 0:\n\(first.stderr)")
        XCTAssertTrue(errors(first).first?.hasPrefix(expected) ?? false, first.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint-00000002").path))
        XCTAssertEqual(try losses(out).count, 1, "losses.jsonl holds step 1, the last step that finished")

        // The last good checkpoint is complete and loads (its weights are finite, if huge).
        XCTAssertTrue(FileManager.default.fileExists(atPath: good.appendingPathComponent("COMPLETE").path))
        XCTAssertEqual(try Transformer.load(directory: good).parameters.count, try Transformer.load(directory: Self.model).parameters.count)
        let weights = try FileDigest.sha256Hex(ofFile: good.appendingPathComponent("model.safetensors").path)

        // --resume with the same settings continues from it and stops at the same step, again;
        // with another learning rate it is refused, naming the setting.
        let again = try train(ranks: 2, records: 4, out: out, arguments + ["--resume"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("resuming from \(good.path) at step 1 of 4"), again.stderr)
        XCTAssertTrue(errors(again).first?.hasPrefix(expected) ?? false, again.stderr)
        XCTAssertEqual(try FileDigest.sha256Hex(ofFile: good.appendingPathComponent("model.safetensors").path), weights)
        let lower = try train(ranks: 1, records: 4, out: out, Array(arguments.dropLast()) + ["1e-3", "--resume"])
        XCTAssertNotEqual(lower.status, 0)
        XCTAssertTrue(lower.stderr.contains("\(out.path)/train-settings.json: was written by another run (settings.learningRate: was 1e+30, now 0.001)"),
                      lower.stderr)
    }

    /// Runs `/bin/mount` or `/bin/umount` with `arguments`; whether it succeeded.
    func mountTool(_ tool: String, _ arguments: [String]) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/\(tool)")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Which ranks' own loss or gradient was not finite; none when only their sum overflowed.
    func testTheNonFiniteMessageSaysWhatWasNotFiniteAndWhere() {
        let tail = "not finite (NaN or infinity); training stopped before the update and wrote no checkpoint of this step. "
        let advice = " A learning rate too high for the model (--lr) is the usual cause."
        XCTAssertEqual("\(TrainingError.nonFinite(step: 3, lossRanks: [2], gradientRanks: [0, 2], lastCheckpoint: "out/checkpoint-00000002"))",
                       "step 3: the loss on rank 2 and the gradient on ranks 0, 2 are " + tail + "The last good checkpoint: out/checkpoint-00000002." + advice)
        XCTAssertEqual("\(TrainingError.nonFinite(step: 1, lossRanks: [], gradientRanks: [], lastCheckpoint: nil))",
                       "step 1: the loss or gradient summed over the ranks is " + tail + "The last good checkpoint: none yet." + advice)
    }

    /// A real full disk (a small tmpfs: ENOSPC) while saving the model, and while streaming the
    /// moments that rank 1 sends rank 0 (rank 0 keeps receiving them, so no rank is left waiting).
    func testAFullDiskWhileSavingACheckpointStopsNamingItAndLeavesItIncomplete() throws {
        // The checkpoint: model.safetensors 13.9 MB, then optimizer.safetensors, 27.8 MB: exp_avg
        // of rank 0's slice (6.95 MB, written from its own memory) and of rank 1's (received),
        // then exp_avg_sq the same way. A tmpfs of 4 MiB fills within the model, 17 MiB (17.8 MB)
        // within rank 0's own piece, 24 MiB (25.2 MB) within the piece rank 1 sends.
        for (size, failing) in [("4m", "model.safetensors"), ("17m", "optimizer.safetensors"), ("24m", "optimizer.safetensors")] {
            let disk = try TestPaths.scratchDirectory("train-full")
            guard try mountTool("mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", disk.path]) else {
                throw XCTSkip("SKIPPED LOUDLY: cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN); the full-disk case is untested")
            }
            defer { _ = try? mountTool("umount", [disk.path]); try? FileManager.default.removeItem(at: disk) }
            let out = disk.appendingPathComponent("out")
            let result = try train(ranks: 2, records: 4, out: out, ["--max-steps", "1", "--global-batch", "2"])

            XCTAssertNotEqual(result.status, 0, failing)
            let checkpoint = out.appendingPathComponent("checkpoint-00000001")
            XCTAssertEqual(errors(result).count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("Error: \(checkpoint.path): not saved at step 1 (\(checkpoint.path)/\(failing).tmp-"), result.stderr)
            XCTAssertTrue(result.stderr.contains(" failed: No space left on device); it has no COMPLETE marker, so it is never loaded"), result.stderr)
            let left = (try? FileManager.default.contentsOfDirectory(atPath: checkpoint.path)) ?? []
            XCTAssertFalse(left.contains("COMPLETE"))
            XCTAssertTrue(left.filter { $0.contains(".tmp-") }.isEmpty, "\(left)")
        }
    }

    func losses(_ out: URL) throws -> [Double] {
        try String(contentsOf: out.appendingPathComponent("losses.jsonl"), encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Double])["loss"]!
        }
    }

    /// 3 samples on 4 ranks, 2 per step: two ranks never get one, the last step of an epoch has
    /// one sample, and 4 does not divide 2. The loss is divided by the global token count, so
    /// the run is the single-rank run up to float rounding.
    func testFewerSamplesThanRanksAndABatchTheRanksDoNotDivideTrainAsOneRank() throws {
        var runs: [[Double]] = []
        for ranks in [1, 4] {
            let out = try TestPaths.scratchDirectory("train-few-np\(ranks)")
            defer { try? FileManager.default.removeItem(at: out) }
            let result = try train(ranks: ranks, records: 3, out: out, ["--max-steps", "4", "--global-batch", "2", "--lr", "1e-3"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stderr.contains("only 2 of the 4 ranks get samples in a step (global batch 2, 3 samples)"), ranks == 4, result.stderr)
            runs.append(try losses(out))
        }
        XCTAssertEqual(runs[0].count, 4)
        XCTAssertEqual(runs[1].count, 4)
        for (a, b) in zip(runs[0], runs[1]) { XCTAssertEqual(a, b, accuracy: 1e-4 * abs(a)) }
    }
}
