import Foundation
import TestSupport
import XCTest

/// The fuzz corpora (Tests/Fuzzers/Corpus: the seeds, and every input libFuzzer found that
/// crashed or hung before its fix) replayed through the fuzz targets' code in an ordinary build:
/// each must be read or refused within a minute, never crash (leaks show only in the fuzz build,
/// scripts/libfuzzer.sh).
final class FuzzRegressionTests: XCTestCase {
    /// Each target's inputs: its regression corpus, and for the chat-template engine the
    /// templates of the parity tests (which seed its fuzzing too).
    static func inputs() throws -> [String: [String]] {
        let root = TestPaths.packageRoot
        var folders: [String: [URL]] = ["chat-template": [root.appendingPathComponent("Tests/ChatTemplateTests/Fixtures/templates")]]
        let corpus = root.appendingPathComponent("Tests/Fuzzers/Corpus")
        for target in try FileManager.default.contentsOfDirectory(atPath: corpus.path) {
            folders[target, default: []].append(corpus.appendingPathComponent(target))
        }
        return try folders.mapValues { urls in
            try urls.flatMap { url in try FileManager.default.contentsOfDirectory(atPath: url.path).sorted().map { url.appendingPathComponent($0).path } }
        }
    }

    func testEveryCorpusInputIsHandled() throws {
        let binary = MPIRunner.xtfBinary.deletingLastPathComponent().appendingPathComponent("xtf-fuzz")
        let inputs = try Self.inputs()
        XCTAssertTrue(Set(["chat-template", "dataset", "config"]).isSubset(of: inputs.keys), "\(inputs.keys.sorted())")
        for (target, files) in inputs.sorted(by: { $0.key < $1.key }) {
            XCTAssertFalse(files.isEmpty, target)
            // A hang is a failure too: the replay gets a minute.
            let replay = try Process.outcome(URL(fileURLWithPath: "/usr/bin/timeout"), ["60", binary.path, target] + files, withStandardError: true)
            XCTAssertEqual(replay.status, 0, "\(target): \(replay.output.suffix(2000))")
            XCTAssertTrue(replay.output.contains("replayed \(files.count) inputs of \(target)"), replay.output)
        }
    }
}
