import Foundation
import XCTest
import Scoring

final class CapsTests: XCTestCase {
    func testLimitIsFloorOfFractionTimesLength() {
        XCTAssertEqual(CapSelection.limit(fraction: 0.05, tokens: 19), 0)
        XCTAssertEqual(CapSelection.limit(fraction: 0.05, tokens: 20), 1)
        XCTAssertEqual(CapSelection.limit(fraction: 0.05, tokens: 39), 1)
        XCTAssertEqual(CapSelection.limit(fraction: 0.10, tokens: 30), 3)
        // 0.29 * 100 is 28.999999999999996 in Double; the cap must still be 29.
        XCTAssertEqual(CapSelection.limit(fraction: 0.29, tokens: 100), 29)
        XCTAssertEqual(CapSelection.limit(fraction: 1, tokens: 7), 7)
        XCTAssertEqual(CapSelection.limit(fraction: 0, tokens: 1000), 0)
        XCTAssertEqual(CapSelection.limit(fraction: 0.5, tokens: 0), 0)
    }

    func testKeepsTheHighestPCPWithEarlierPositionOnTies() {
        let pcp: [Float] = [0.97, 0.5, 0.999, 0.96, 0.5, 0.999, 0.5, 0.98, 0.5, 0.999]
        let flagged = Rules.kn(pcp, tau: 0.95)
        XCTAssertEqual(flagged, [0, 2, 3, 5, 7, 9])
        XCTAssertEqual(CapSelection.mostExtreme(flagged, limit: 2, scores: pcp, lowestFirst: false), [2, 5])
        XCTAssertEqual(CapSelection.mostExtreme(flagged, limit: 4, scores: pcp, lowestFirst: false), [2, 5, 7, 9])
        XCTAssertEqual(CapSelection.mostExtreme(flagged, limit: 0, scores: pcp, lowestFirst: false), [])
        XCTAssertEqual(CapSelection.mostExtreme(flagged, limit: 6, scores: pcp, lowestFirst: false), flagged)
    }

    func testKeepsTheLowestRIAndTR() {
        let scores: [Float] = [0.3, 0.1, 0.2, 0.1, 0.05]
        XCTAssertEqual(CapSelection.mostExtreme([0, 1, 2, 3, 4], limit: 2, scores: scores, lowestFirst: true), [1, 4])
        XCTAssertEqual(CapSelection.mostExtreme([0, 1, 2, 3, 4], limit: 3, scores: scores, lowestFirst: true), [1, 3, 4])
    }

    func testMaskerAppliesTheCapPerAttribute() throws {
        // 20 tokens, all KN-flagged with rising PCP; cap 0.1 keeps the 2 highest: positions 18, 19.
        let pcp = (0..<20).map { 0.96 + Float($0) * 0.001 }
        let sample = try Fixtures.sample(pcp: pcp, ri: Array(repeating: 0.5, count: 20), tr: Array(repeating: 0.9, count: 20))
        let settings = MaskSettings(attributes: [.kn])
        let mask = try Masker(settings: settings, trThresholds: nil).mask(sample)
        XCTAssertEqual(mask.ruleFlagged, [0, 20, 0])
        XCTAssertEqual(mask.flags.indices.filter { !mask.flags[$0].isEmpty }, [18, 19])
        XCTAssertTrue(mask.flags[19] == .kn)
    }

    func testCapZeroDisablesTheAttribute() throws {
        let sample = try Fixtures.sample(pcp: Array(repeating: 0.99, count: 50), ri: Array(repeating: 0.5, count: 50),
                                         tr: Array(repeating: 0.9, count: 50))
        let settings = MaskSettings(caps: Caps(ri: 0.05, kn: 0, tr: 0.05), attributes: [.ri, .kn])
        let mask = try Masker(settings: settings, trThresholds: nil).mask(sample)
        XCTAssertEqual(mask.maskedCount, 0)
        XCTAssertEqual(mask.ruleFlagged, [0, 0, 0])
    }
}
