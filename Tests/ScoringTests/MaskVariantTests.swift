import Foundation
import XCTest
import Scoring

/// The official code's choices as options (TR class rule, KN cap count) and the refinements
/// (coverage guard, span closure), on hand-computed cases.
final class MaskVariantTests: XCTestCase {
    func testOfficialKNCapCountIsOneFewerWhenTheProductIsWhole() {
        // n = 20, c = 0.1: the official code leaves 20 - 1 - int(18.0) = 1 place, floor gives 2.
        XCTAssertEqual(CapSelection.officialUpperTailLimit(fraction: 0.1, tokens: 20), 1)
        XCTAssertEqual(CapSelection.limit(fraction: 0.1, tokens: 20), 2)
        // n = 25: 25 - 1 - int(22.5) = 2 = floor(2.5).
        XCTAssertEqual(CapSelection.officialUpperTailLimit(fraction: 0.1, tokens: 25), 2)
        XCTAssertEqual(CapSelection.officialUpperTailLimit(fraction: 0.1, tokens: 5), 0)
        XCTAssertEqual(CapSelection.officialUpperTailLimit(fraction: 0, tokens: 50), 0)
        // Through the masker: 20 tokens all above tau, the two highest PCPs under floor, one under official.
        let pcp = (0..<20).map { 0.96 + Float($0) / 1000 }
        let sample = try! SampleScores(tokenIds: (0..<20).map(Int32.init), pcp: pcp, ri: pcp.map { _ in 1 }, tr: pcp.map { _ in 0.9 })
        let floor = try! Masker(settings: MaskSettings(attributes: [.kn]), trThresholds: nil).mask(sample)
        let official = try! Masker(settings: MaskSettings(attributes: [.kn], knCapCount: .official), trThresholds: nil).mask(sample)
        XCTAssertEqual(floor.flags.indices.filter { !floor.flags[$0].isEmpty }, [18, 19])
        XCTAssertEqual(official.flags.indices.filter { !official.flags[$0].isEmpty }, [19])
    }

    func testOfficialTRClassRuleAddsUpSharesAboveEachThreshold() throws {
        // 8 bins over [-1, 1], cuts at bins 2, 4, 6 (K = 4). Counts per bin below.
        let layout = try BinLayout(lower: -1, upper: 1, bins: 8)
        let thresholds = try OtsuThresholds(layout: layout, cuts: [2, 4, 6])
        func histogram(_ counts: [Int]) -> Histogram {
            var h = Histogram(layout: layout)
            for (bin, n) in counts.enumerated() { for _ in 0..<n { h.add(Float(layout.edge(bin) + layout.width / 2)) } }
            return h
        }
        // Shares at or above the cuts: 0.9, 0.5, 0.1. Running sums 0.9, 1.4: passes 1.0 at i = 1,
        // so threshold 0: class C1 only.
        XCTAssertEqual(TRClassChoice.official(histogram: histogram([5, 5, 20, 20, 20, 20, 5, 5]), thresholds: thresholds, weight: 1), [0])
        // Shares 0.3, 0.2, 0.1: sums 0.3, 0.5, 0.6 never pass 1.0: the top threshold, C1-C3.
        XCTAssertEqual(TRClassChoice.official(histogram: histogram([35, 35, 5, 5, 5, 5, 5, 5]), thresholds: thresholds, weight: 1), [0, 1, 2])
        // Weight 0.55 with the same shares: passes at i = 2, threshold 1: C1-C2.
        XCTAssertEqual(TRClassChoice.official(histogram: histogram([35, 35, 5, 5, 5, 5, 5, 5]), thresholds: thresholds, weight: 0.55), [0, 1])
        // Weight 0.2: passes at i = 0, threshold 0.
        XCTAssertEqual(TRClassChoice.official(histogram: histogram([35, 35, 5, 5, 5, 5, 5, 5]), thresholds: thresholds, weight: 0.2), [0])
    }

    /// KN alone flags PCP > 0.95 (uncapped): the flags below come from PCP only.
    func masker(guardIds: Set<Int32> = [], closure: Double?, clauseEndIds: Set<Int32> = []) throws -> Masker {
        try Masker(settings: MaskSettings(caps: Caps(ri: 1, kn: 1, tr: 1), attributes: [.kn], coverageGuard: guardIds.isEmpty ? nil : 0.5,
                                          spanClosure: closure),
                   trThresholds: nil, protectedIds: guardIds, clauseEnds: (0..<10).map { clauseEndIds.contains(Int32($0)) })
    }

    func testSpanClosureMasksMostlyMaskedClausesWhole() throws {
        // Ids: 9 ends a clause. Clause A = positions 0-3 (3 of 4 flagged), clause B = 4-7
        // (1 of 4 flagged), clause C = 8-9 (the end; unflagged, with an unscored token).
        let ids: [Int32] = [1, 2, 3, 9, 1, 2, 3, 9, 4, 5]
        let pcp: [Float] = [0.1, 0.99, 0.99, 0.99, 0.99, 0.1, 0.1, 0.1, 0.1, .nan]
        let sample = try SampleScores(tokenIds: ids, pcp: pcp, ri: pcp.map { _ in 1 }, tr: pcp.map { _ in 0.9 })
        let none = try masker(closure: nil, clauseEndIds: [9]).mask(sample)
        XCTAssertEqual(none.maskedCount, 4)
        let closed = try masker(closure: 0.5, clauseEndIds: [9]).mask(sample)
        XCTAssertEqual(closed.flags.map { !$0.isEmpty }, [true, true, true, true, true, false, false, false, false, false])
        XCTAssertEqual(closed.flags[0], .kn, "an added token takes the clause's flags")
        XCTAssertEqual(closed.ruleFlagged, none.ruleFlagged, "the rules' counts are not the refinement's")
        // At 0.8 clause A (0.75) stays as it was.
        XCTAssertEqual(try masker(closure: 0.8, clauseEndIds: [9]).mask(sample).maskedCount, 4)
        // An unscored token is never added, even in a clause whose every scored token is masked.
        let tail = try SampleScores(tokenIds: [1, 5], pcp: [0.99, .nan], ri: [1, .nan], tr: [0.9, .nan])
        XCTAssertEqual(try masker(closure: 0.5, clauseEndIds: [9]).mask(tail).flags.map { !$0.isEmpty }, [true, false])
    }

    func testCoverageGuardUnmasksProtectedIdsBeforeClosure() throws {
        let ids: [Int32] = [1, 2, 3, 9]
        let pcp: [Float] = [0.99, 0.99, 0.1, 0.99]
        let sample = try SampleScores(tokenIds: ids, pcp: pcp, ri: pcp.map { _ in 1 }, tr: pcp.map { _ in 0.9 })
        // Guarding id 9 leaves 2 of the 3 maskable tokens masked; closure at 0.7 then adds nothing.
        let guarded = try masker(guardIds: [9], closure: 0.7, clauseEndIds: [9]).mask(sample)
        XCTAssertEqual(guarded.flags.map { !$0.isEmpty }, [true, true, false, false])
        // Closure at 0.5 closes the clause, but never re-masks the protected id.
        let closed = try masker(guardIds: [9], closure: 0.5, clauseEndIds: [9]).mask(sample)
        XCTAssertEqual(closed.flags.map { !$0.isEmpty }, [true, true, true, false])
    }

    func testClauseEndsAreSentenceEndsAndLineBreaks() {
        for text in [".", " 3.", "!", "?\n", "\\n", ";", ". ", "<0x0A>"] { XCTAssertTrue(Masker.endsClause(text: text), text) }
        for text in [",", " so", "3", " =", ".5"] { XCTAssertFalse(Masker.endsClause(text: text), text) }
    }

    func testSettingsRejectOutOfDomainShares() {
        XCTAssertThrowsError(try MaskSettings(coverageGuard: 1.5).validate())
        XCTAssertThrowsError(try MaskSettings(spanClosure: 0).validate())
        XCTAssertThrowsError(try MaskSettings(trWeight: -1).validate())
        XCTAssertThrowsError(try Masker(settings: MaskSettings(attributes: [.kn], spanClosure: 0.5), trThresholds: nil)) {
            XCTAssertTrue("\($0)".contains("spanClosure"), "\($0)")
        }
    }
}

/// The prompt gain from its two probabilities.
final class PromptGainMathTests: XCTestCase {
    func testGainIsTheLogRatioAndNaNPropagates() {
        let gain = SampleScores.promptGain(pcp: [0.5, 0.2, .nan, 0], withoutPrompt: [0.25, 0.2, 0.3, 0.5])
        XCTAssertEqual(Double(gain[0]), log(2), accuracy: 1e-6)
        XCTAssertEqual(gain[1], 0)
        XCTAssertTrue(gain[2].isNaN)
        XCTAssertTrue(gain[3].isFinite && gain[3] < -80, "a zero probability stays finite and lowest")
    }
}
