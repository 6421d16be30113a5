import Foundation
import TestSupport
import XCTest

/// The fuzz corpora (Tests/Fuzzers/Corpus: the seeds, and every input libFuzzer found that
/// crashed, hung or leaked before its fix) replayed through the fuzz targets' code in an
/// ordinary build: each must be read or refused, never crash. scripts/libfuzzer.sh runs the fuzzers.
final class FuzzRegressionTests: XCTestCase {
    func testEveryCorpusInputIsHandled() throws {
        let binary = MPIRunner.xtfBinary.deletingLastPathComponent().appendingPathComponent("xtf-fuzz")
        let corpus = TestPaths.packageRoot.appendingPathComponent("Tests/Fuzzers/Corpus")
        let targets = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        XCTAssertTrue(Set(["chat-template", "dataset", "config"]).isSubset(of: targets), "\(targets)")
        for target in targets {
            let folder = corpus.appendingPathComponent(target)
            let inputs = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { folder.appendingPathComponent($0).path }
            XCTAssertFalse(inputs.isEmpty, target)
            let replay = try Process.outcome(binary, [target] + inputs, withStandardError: true)
            XCTAssertEqual(replay.status, 0, "\(target): \(replay.output.suffix(2000))")
            XCTAssertTrue(replay.output.contains("replayed \(inputs.count) inputs of \(target)"), replay.output)
        }
    }
}
