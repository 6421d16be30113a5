import Foundation
import GroundTruth
import Pipeline
import TestSupport
import Training
import XCTest

/// `--mask-mode delete`: the masked tokens are cut out of the sequence. With the oracle mask
/// the training text is the clean twin's: the same ids as scoring train-clean.jsonl gives,
/// wherever the tokenizer splits the text at the noise's edges (it does for every sample here).
final class MaskModeTests: XCTestCase {
    func testOracleDeletionGivesTheCleanTwinsTokens() throws {
        let model = try Fixtures.tinyGPT2()
        let data = try TestPaths.scratchDirectory("mask-mode-data")
        let generated = try MPIRunner.run(ranks: 1, ["groundtruth", "generate", "--out", data.path, "--family", "late-fact",
                                                     "--train", "24", "--test", "2", "--pretrain", "0", "--seed", "5"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        var runs: [String: RunLayout] = [:]
        for name in ["train", "train-clean"] {
            let out = try TestPaths.scratchDirectory("mask-mode-\(name)")
            let result = try MPIRunner.run(ranks: 1, ["score", "--model", model.path, "--data", data.appendingPathComponent("\(name).jsonl").path,
                                                      "--format", "gsm8k", "--task", "math", "--out", out.path, "--max-length", "200"], timeout: 600)
            XCTAssertEqual(result.status, 0, result.stderr)
            runs[name] = RunLayout(out.path)
        }
        let noisy = runs["train"]!, clean = runs["train-clean"]!
        let noise = try Detection.noiseMask(problems: try Detection.labels(path: data.appendingPathComponent("train.jsonl").path), tokensFile: noisy.tokens)
        XCTAssertGreaterThan(noise.values.filter { $0.contains(true) }.count, 12, "most problems carry noise")
        let deleted = try TrainingData.load(run: noisy, mask: .oracle, mode: .delete, seed: 1, noise: noise)
        let masked = try TrainingData.load(run: noisy, mask: .oracle, mode: .loss, seed: 1, noise: noise)
        let twins = try TrainingData.load(run: clean, mask: .none, seed: 1)
        XCTAssertEqual(deleted.count, twins.count)
        for (d, (m, c)) in zip(deleted, zip(masked, twins)) {
            XCTAssertEqual(d.ids, c.ids, "sample \(d.id): the deleted text is the clean twin's")
            XCTAssertEqual(d.labels, c.labels, "sample \(d.id): every kept response token carries a loss")
            // The loss mode keeps the sequence and drops exactly the noise from the loss.
            XCTAssertEqual(m.ids.count - d.ids.count, noise[m.id]!.filter { $0 }.count)
            XCTAssertEqual(m.labels.filter { $0 != -100 }.count, d.labels.filter { $0 != -100 }.count)
        }
    }

    func testDeleteNeedsAMaskThatPicksTokens() throws {
        var job = TrainJob.fromScores("/r", model: "/m", mask: .none, reference: nil, settings: TrainSettings())
        job.maskMode = .delete
        XCTAssertThrowsError(try job.validate()) { XCTAssertTrue("\($0)".contains("mask-mode"), "\($0)") }
        job.mask = .xtf
        XCTAssertNoThrow(try job.validate())
    }
}
