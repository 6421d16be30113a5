import Foundation
import XCTest
import Scoring

final class HistogramTests: XCTestCase {
    func testBinsEdgesClampingAndNaN() throws {
        var h = Histogram(layout: try BinLayout(lower: 0, upper: 1, bins: 4))
        for x: Float in [0, 0.2499, 0.25, 0.5, 0.99, 1, -0.5, 1.5, .infinity, -.infinity, .nan] { h.add(x) }
        // [0,.25): 0, .2499, -0.5, -inf | [.25,.5): .25 | [.5,.75): .5 | [.75,1]: .99, 1, 1.5, +inf
        XCTAssertEqual(h.counts, [4, 1, 1, 4])
        XCTAssertEqual(h.clampedBelow, 2)
        XCTAssertEqual(h.clampedAbove, 2)
        XCTAssertEqual(h.nanCount, 1)
        XCTAssertEqual(h.total, 10)
    }

    func testQuantileInterpolatesInsideTheBin() throws {
        var h = Histogram(layout: try BinLayout(lower: 0, upper: 1, bins: 10))
        for _ in 0..<4 { h.add(0.05) }   // bin 0
        for _ in 0..<4 { h.add(0.55) }   // bin 5
        XCTAssertEqual(h.quantile(0.25)!, 0.05, accuracy: 1e-12)  // 2 of bin 0's 4: half way into it
        XCTAssertEqual(h.quantile(0.5)!, 0.1, accuracy: 1e-12)    // all of bin 0
        XCTAssertEqual(h.quantile(0.75)!, 0.55, accuracy: 1e-12)
        XCTAssertEqual(h.quantile(1)!, 0.6, accuracy: 1e-12)
        XCTAssertNil(Histogram(layout: h.layout).quantile(0.5))
    }

    func testMergeNeedsTheSameLayout() throws {
        var a = Histogram(layout: try BinLayout(lower: 0, upper: 1, bins: 4))
        XCTAssertThrowsError(try a.merge(Histogram(layout: try BinLayout(lower: 0, upper: 2, bins: 4))))
    }

    func testLayoutValidation() {
        XCTAssertThrowsError(try BinLayout(lower: 1, upper: 1, bins: 4))
        XCTAssertThrowsError(try BinLayout(lower: 0, upper: .infinity, bins: 4))
        XCTAssertThrowsError(try BinLayout(lower: 0, upper: 1, bins: 0))
        XCTAssertThrowsError(try JSONDecoder().decode(BinLayout.self, from: Data(#"{"lower":0,"upper":1,"bins":-3}"#.utf8)))
    }

    func testUnpackRefusesWrongLengthsAndNegativeCounts() throws {
        let layout = try HistogramLayouts.standard(bins: 8)
        let packed = ScoreHistograms(layout: layout).pack()
        XCTAssertEqual(packed.count, 3 * (8 + 3))
        XCTAssertThrowsError(try ScoreHistograms(unpacking: packed.dropLast() + [], layout: layout)) {
            XCTAssertEqual($0 as? ScoringError, .packedLength(what: "score histograms", expected: 33, actual: 32))
        }
        var negative = packed
        negative[4] = -1
        XCTAssertThrowsError(try ScoreHistograms(unpacking: negative, layout: layout))
    }
}

final class HistogramCodingTests: XCTestCase {
    func testCodableRoundTripAndCorruptCounts() throws {
        var h = ScoreHistograms(layout: try HistogramLayouts.standard(bins: 8))
        h.add(try SampleScores(tokenIds: [1, 2], pcp: [0.5, 1], ri: [0.1, .nan], tr: [-2, 0.3]))
        let data = try JSONEncoder().encode(h)
        XCTAssertEqual(try JSONDecoder().decode(ScoreHistograms.self, from: data), h)
        let short = #"{"layout":{"lower":0,"upper":1,"bins":4},"counts":[1,2],"clampedBelow":0,"clampedAbove":0,"nanCount":0}"#
        XCTAssertThrowsError(try JSONDecoder().decode(Histogram.self, from: Data(short.utf8)))
    }
}
