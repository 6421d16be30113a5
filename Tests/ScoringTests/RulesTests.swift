import Foundation
import XCTest
import Scoring

final class RulesTests: XCTestCase {
    func testQuartilesMatchNumpyLinearByHand() throws {
        // sorted [1, 10, 11, 11, 12, 12, 13, 14], n = 8:
        // Q1: h = 7 * 0.25 = 1.75 -> 10 + 0.75 * (11 - 10) = 10.75
        // Q3: h = 7 * 0.75 = 5.25 -> 12 + 0.25 * (13 - 12) = 12.25   (numpy: [10.75, 12.25])
        let q = try XCTUnwrap(Quantile.quartiles([10, 12, 11, 13, 1, 14, 12, 11]))
        XCTAssertEqual(q.q1, 10.75)
        XCTAssertEqual(q.q3, 12.25)
        // Odd n = 7, sorted [1/16, 1/8, 1/4, 3/8, 1/2, 3/4, 1]: h = 1.5 and 4.5 -> 0.1875, 0.625.
        let odd = try XCTUnwrap(Quantile.quartiles([0.5, 0.25, 0.75, 0.125, 1.0, 0.375, 0.0625]))
        XCTAssertEqual(odd.q1, 0.1875)
        XCTAssertEqual(odd.q3, 0.625)
    }

    func testQuantilesMatchNumpyOnFloat32Values() {
        // numpy.quantile(np.array(values, dtype=float32).astype(float64), qs), printed with repr.
        let values: [Float] = [0.3, 0.1, 0.7, 0.2, 0.9, 0.05, 0.6, 0.45, 0.8, 0.33]
        let sorted = values.map(Double.init).sorted()
        let expected: [(Double, Double)] = [
            (0, 0.05000000074505806), (0.1, 0.09500000141561031), (0.25, 0.22500000521540642),
            (0.5, 0.39000000059604645), (0.75, 0.6749999970197678), (0.9, 0.8100000083446502),
            (1, 0.8999999761581421),
        ]
        for (q, numpy) in expected {
            XCTAssertEqual(Quantile.linear(sorted: sorted, q)!, numpy, accuracy: 1e-15, "q = \(q)")
        }
        XCTAssertNil(Quantile.linear(sorted: [], 0.5))
    }

    func testRIFlagsBelowTheLowerFenceOnly() {
        // Q1 = 10.75, Q3 = 12.25, IQR = 1.5: fence 10.75 - 1.5 * 1.5 = 8.5 (k = 1: 9.25).
        let ri: [Float] = [10, 12, 11, 13, 1, 14, 12, 11]
        XCTAssertEqual(Rules.riLowerBound(ri, k: 1.5), 8.5)
        XCTAssertEqual(Rules.ri(ri, k: 1.5), [4])
        XCTAssertEqual(Rules.riLowerBound(ri, k: 1), 9.25)
        // k = 0 flags everything strictly below Q1.
        XCTAssertEqual(Rules.ri(ri, k: 0), [0, 4])
    }

    func testNaNRIIsIgnoredByQuartilesAndNeverFlagged() {
        // The NaN (last position) must not shift the quartiles: same fence as without it.
        let ri: [Float] = [10, 12, 11, 13, 1, 14, 12, 11, .nan]
        XCTAssertEqual(Rules.riLowerBound(ri, k: 1.5), 8.5)
        XCTAssertEqual(Rules.ri(ri, k: 1.5), [4])
        XCTAssertEqual(Rules.ri(ri, k: 1e9), [])  // a fence far below: still never the NaN
        XCTAssertNil(Rules.riLowerBound([.nan], k: 1.5))
        XCTAssertEqual(Rules.ri([.nan, .nan], k: 1.5), [])
        XCTAssertEqual(Rules.ri([], k: 1.5), [])
    }

    func testLogFenceReachesTheLowTailOfASkewedSample() {
        // Attention received as it looks: positive, most of it small, a few large values.
        // sorted [0.001, 0.01, 0.012, 0.015, 0.02, 0.03, 0.2, 0.5]: Q1 = 0.0115, Q3 = 0.0725,
        // fence 0.0115 - 1.5 * 0.061 = -0.08: the paper's rule can flag nothing.
        let ri: [Float] = [0.02, 0.5, 0.01, 0.015, 0.001, 0.2, 0.012, 0.03, .nan]
        XCTAssertLessThan(try XCTUnwrap(Rules.riLowerBound(ri, k: 1.5)), 0)
        XCTAssertEqual(Rules.ri(ri, k: 1.5), [])
        // On log RI the fence is Q1 - 1.5 IQR of the logs, about -6.62 (numpy: -6.6227):
        // log(0.001) = -6.91 is under it, log(0.01) = -4.61 is not; the NaN stays unflagged.
        let logs = Rules.logRI(ri)
        XCTAssertEqual(try XCTUnwrap(Rules.riLowerBound(logs, k: 1.5)), -6.6227, accuracy: 1e-3)
        XCTAssertEqual(Rules.ri(ri, k: 1.5, fence: .logIQR), [4])
        XCTAssertTrue(logs[8].isNaN)
        // A zero is floored, not -inf: it is the lowest and still flagged, the fence stays finite.
        XCTAssertEqual(Rules.ri([0, 0.02, 0.5, 0.01, 0.015, 0.2, 0.012, 0.03], k: 1.5, fence: .logIQR), [0])
        XCTAssertEqual(Rules.ri([0.2, 0.2, 0.2, 0.2], k: 1.5, fence: .logIQR), [])
    }

    func testConstantRIFlagsNothing() {
        XCTAssertEqual(Rules.ri([0.2, 0.2, 0.2, 0.2], k: 1.5), [])
        XCTAssertEqual(Rules.ri([0.2], k: 0), [])
    }

    func testKNFlagsStrictlyAboveTau() {
        let pcp: [Float] = [0.5, 0.95, 0.951, 1.0, .nan, 0.96]
        // Float(0.95) is 0.949999988 < 0.95 in Double, so it stays unflagged.
        XCTAssertEqual(Rules.kn(pcp, tau: 0.95), [2, 3, 5])
        XCTAssertEqual(Rules.kn(pcp, tau: 1), [])
        XCTAssertEqual(Rules.kn(pcp, tau: 0), [0, 1, 2, 3, 5])
    }

    func testTRFlagsTheChosenClassesByBin() throws {
        // 8 bins over [-1, 1] (width 0.25), cuts at bins 2, 4, 6: classes start at -0.5, 0, 0.5.
        let t = try OtsuThresholds(layout: BinLayout(lower: -1, upper: 1, bins: 8), cuts: [2, 4, 6])
        XCTAssertEqual(t.values, [-0.5, 0, 0.5])
        let tr: [Float] = [-1.5, -0.51, -0.5, -0.01, 0, 0.49, 0.5, 1, 2, .nan]
        XCTAssertEqual(tr.map { t.classIndex(of: $0) }, [0, 0, 1, 1, 2, 2, 3, 3, 3, nil])
        XCTAssertEqual(Rules.tr(tr, thresholds: t, flagClasses: [1]), [2, 3])
        XCTAssertEqual(Rules.tr(tr, thresholds: t, flagClasses: [0, 3]), [0, 1, 6, 7, 8])
    }
}
