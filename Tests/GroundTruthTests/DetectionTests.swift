import Artifacts
import Foundation
import GroundTruth
import RunFiles
import XCTest

/// The detection metrics on hand-computed cases, and token labelling on a tiny run file.
final class DetectionTests: XCTestCase {
    func testAUROCOnHandComputedCases() {
        XCTAssertEqual(Detection.auroc([0.9, 0.8, 0.1, 0.2], [true, true, false, false]), 1)
        XCTAssertEqual(Detection.auroc([0.1, 0.2, 0.9, 0.8], [true, true, false, false]), 0)
        // Pairs (p, n): (0.8, 0.5) win, (0.8, 0.9) loss, (0.5, 0.5) tie, (0.5, 0.9) loss: 1.5 / 4.
        XCTAssertEqual(Detection.auroc([0.8, 0.5, 0.5, 0.9], [true, true, false, false]), 0.375)
        XCTAssertEqual(Detection.auroc([1, 2], [true, true]), 0.5)
        XCTAssertEqual(Detection.fractionalRanks([3, 1, 3, 2]), [2.5 / 3, 0, 2.5 / 3, 1.0 / 3])
    }

    func testTokensAreLabelledByTheSpanHoldingMostOfTheirBytes() throws {
        // "A is 2. Hi there. #### 2": the span " Hi there." is boilerplate.
        let answer = "A is 2. Hi there.\n#### 2"
        let problem = Problem(id: "gt-0", question: "q", answer: answer,
                              noise: [NoiseSpan(start: 7, end: 17, kind: .boilerplate)], result: 2)
        // As tokens.jsonl shows them: control characters escaped.
        let pieces = ["A", " is", " 2", ".", " Hi", " there", ".", "\\n", "####", " 2"]
        XCTAssertEqual(pieces.joined().replacingOccurrences(of: "\\n", with: "\n"), answer)
        // KN flags " Hi" and " there" (true positives) and "A" (a false positive).
        let flags = ["kn", "", "", "", "kn", "kn", "", "", "", ""]
        let pcp: [Float?] = [0.99, 0.1, 0.2, 0.3, 0.98, 0.97, 0.4, 0.5, 0.6, 0.7]
        let record = TokenRecord(id: "train.jsonl:1", tokenIds: pieces.indices.map(Int32.init), tokens: pieces, pcp: pcp,
                                 ri: pcp.map { _ in 0.1 }, tr: pcp.map { _ in 0.5 }, flags: flags)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("detection-\(UUID().uuidString).jsonl")
        try AtomicFile.writeJSONLines([record], to: file.path)
        let report = try Detection.evaluate(problems: [1: problem], tokensFile: file.path)
        // The oracle mask: exactly the tokens the labelled span holds most of.
        XCTAssertEqual(try Detection.noiseMask(problems: [1: problem], tokensFile: file.path),
                       ["train.jsonl:1": [false, false, false, false, true, true, true, false, false, false]])
        XCTAssertEqual(report.noiseTokens, ["boilerplate": 3, "clean": 7])
        let kn = report.rows.first { $0.attribute == "kn" && $0.kind == "boilerplate" }!
        XCTAssertEqual(kn.positives, 3)
        XCTAssertEqual(kn.precision, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(kn.recall, 2.0 / 3, accuracy: 1e-12)
        // Positive scores 0.98, 0.97, 0.4 against clean 0.99, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7:
        // 6 + 6 + 3 wins of 21 pairs.
        XCTAssertEqual(kn.auroc, 15.0 / 21, accuracy: 1e-12)
        // Spans: the one span has 2 of 3 tokens flagged (found) and its opening " Hi" flagged;
        // of the flagged stretches "A" and " Hi there", one is noise.
        XCTAssertEqual(kn.spanRecall, 1)
        XCTAssertEqual(kn.spanPrecision, 0.5)
        XCTAssertEqual(kn.spanF1!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(kn.openingRecall, 1)
        let ri = report.rows.first { $0.attribute == "ri" && $0.kind == "all" }!
        XCTAssertEqual([ri.spanRecall, ri.spanPrecision, ri.spanF1, ri.openingRecall], [0, 0, 0, 0])

        // A token that is not the answer's text names the sample.
        let wrong = TokenRecord(id: record.id, tokenIds: record.tokenIds, tokens: ["B"] + pieces.dropFirst(), pcp: record.pcp,
                                ri: record.ri, tr: record.tr, flags: record.flags)
        try AtomicFile.writeJSONLines([wrong], to: file.path)
        XCTAssertThrowsError(try Detection.evaluate(problems: [1: problem], tokensFile: file.path)) { error in
            XCTAssertTrue("\(error)".contains("train.jsonl:1"), "\(error)")
        }
    }
}
