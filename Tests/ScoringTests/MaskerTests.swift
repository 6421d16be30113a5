import Foundation
import XCTest
import Scoring

final class MaskerTests: XCTestCase {
    /// TR: 8 bins over [-1, 1], classes from -0.5, 0, 0.5; class 1 = [-0.5, 0) is flagged.
    static let thresholds = try! OtsuThresholds(layout: BinLayout(lower: -1, upper: 1, bins: 8), cuts: [2, 4, 6])
    static let uncapped = MaskSettings(otsuClasses: 4, flagClasses: [1], caps: Caps(ri: 1, kn: 1, tr: 1))

    /// 17 tokens; RI is 0 at positions 0-3 and 1 elsewhere (NaN last): Q1 = 0.75, Q3 = 1,
    /// fence 0.375, so 0-3 are RI-flagged. Each flag combination occurs at a known position.
    static func overlapSample() throws -> SampleScores {
        var ri = [Float](repeating: 1, count: 17), pcp = [Float](repeating: 0.5, count: 17)
        var tr = [Float](repeating: 0.9, count: 17)
        for p in 0...3 { ri[p] = 0 }
        ri[16] = .nan
        for p in [1, 3, 4, 5, 16] { pcp[p] = 0.99 }
        for p in [2, 3, 5, 6] { tr[p] = -0.25 }
        return try Fixtures.sample(pcp: pcp, ri: ri, tr: tr)
    }

    func testUnionKeepsEveryRuleThatFlagged() throws {
        let mask = try Masker(settings: Self.uncapped, trThresholds: Self.thresholds).mask(Self.overlapSample())
        let expected: [Int: Flags] = [0: .ri, 1: [.ri, .kn], 2: [.ri, .tr], 3: .all, 4: .kn, 5: [.kn, .tr], 6: .tr, 16: .kn]
        for position in 0..<17 {
            XCTAssertEqual(mask.flags[position], expected[position] ?? [], "position \(position)")
        }
        XCTAssertEqual(mask.maskedCount, 8)
        XCTAssertEqual(mask.ruleFlagged, [4, 5, 4])
    }

    func testOverlapCountsEveryRegionExactly() throws {
        var stats = NoiseStatistics(layout: try StatisticsLayout(vocabularySize: 17, sensitivity: .standard(otsuClasses: 4)))
        try stats.add(Self.overlapSample(), masker: Masker(settings: Self.uncapped, trThresholds: Self.thresholds))
        // Indexed by Flags.rawValue: none, ri, kn, ri+kn, tr, ri+tr, kn+tr, ri+kn+tr.
        XCTAssertEqual(stats.regions, [9, 1, 2, 1, 1, 1, 1, 1])
        XCTAssertEqual(stats.flagged(.ri), 4)
        XCTAssertEqual(stats.flagged(.kn), 5)
        XCTAssertEqual(stats.flagged(.tr), 4)
        XCTAssertEqual(stats.maskedTokens, 8)
        XCTAssertEqual(stats.flaggedByToken.indices.filter { stats.flaggedByToken[$0] > 0 }, [0, 1, 2, 3, 4, 5, 6, 16])
        // 8 of 17 masked: floor(8 * 100 / 17) = bin 47.
        XCTAssertEqual(stats.maskRatio.counts[47], 1)
    }

    func testAttributeSubsetDropsTheOthers() throws {
        var settings = Self.uncapped
        settings.attributes = [.kn, .tr]
        let mask = try Masker(settings: settings, trThresholds: Self.thresholds).mask(Self.overlapSample())
        XCTAssertEqual(mask.flags[0], [])
        XCTAssertEqual(mask.flags[3], [.kn, .tr])
        XCTAssertEqual(mask.ruleFlagged, [0, 5, 4])
    }

    func testTRNeedsThresholdsWithTheSettingsClassCount() throws {
        XCTAssertThrowsError(try Masker(settings: MaskSettings(), trThresholds: nil)) {
            XCTAssertEqual($0 as? ScoringError, .missingThresholds)
        }
        XCTAssertThrowsError(try Masker(settings: MaskSettings(otsuClasses: 5), trThresholds: Self.thresholds)) {
            guard case .layoutMismatch = $0 as? ScoringError else { return XCTFail("\($0)") }
        }
        // Without TR no thresholds are needed.
        XCTAssertNoThrow(try Masker(settings: MaskSettings(attributes: [.ri, .kn]), trThresholds: nil))
    }

    func testSampleArraysMustHaveOneValuePerToken() {
        XCTAssertThrowsError(try SampleScores(tokenIds: [1, 2], pcp: [0.1, 0.2], ri: [0.1], tr: [0, 0])) {
            XCTAssertEqual($0 as? ScoringError, .lengthMismatch(field: "ri", expected: 2, actual: 1))
        }
    }

    func testEmptySampleMasksNothing() throws {
        let mask = try Masker(settings: Self.uncapped, trThresholds: Self.thresholds).mask(Fixtures.sample(pcp: [], ri: [], tr: []))
        XCTAssertEqual(mask.flags, [])
        XCTAssertEqual(mask.maskedCount, 0)
    }
}
