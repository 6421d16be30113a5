import Foundation
import Randomness
import Scoring
import XCTest

final class MultiOtsuTests: XCTestCase {
    /// Every split of `bins` bins into k classes of at least one bin: cut sets in 1..<bins.
    static func allCuts(bins: Int, classes k: Int) -> [[Int]] {
        func extend(_ prefix: [Int], remaining: Int) -> [[Int]] {
            guard remaining > 0 else { return [prefix] }
            let start = (prefix.last ?? 0) + 1
            guard start <= bins - remaining else { return [] }
            return (start...(bins - remaining)).flatMap { extend(prefix + [$0], remaining: remaining - 1) }
        }
        return extend([], remaining: k - 1)
    }

    /// The best split by exhaustive search, with the DP's tie-break: among exactly equal
    /// objectives the smallest last cut, then the smallest cut before it, and so on.
    static func bruteForce(_ counts: [Int64], classes k: Int) -> (cuts: [Int], objective: Double) {
        let scored = allCuts(bins: counts.count, classes: k).map { ($0, MultiOtsu.objective(counts: counts, cuts: $0)) }
        let best = scored.map(\.1).max()!
        let cuts = scored.filter { $0.1 == best }.map(\.0)
            .min { a, b in a.reversed().lexicographicallyPrecedes(b.reversed()) }!
        return (cuts, best)
    }

    func testDynamicProgrammingMatchesBruteForce() throws {
        var g = SplitMix64(seed: 5)
        for trial in 0..<80 {
            let bins = Int.random(in: 6...12, using: &g)
            // Some histograms dense, some with many empty bins (exact ties between splits).
            let emptyShare = trial % 2 == 0 ? 0.0 : 0.5
            let counts = (0..<bins).map { _ in Double.random(in: 0..<1, using: &g) < emptyShare ? 0 : Int64.random(in: 0...50, using: &g) }
            for k in 2...min(5, bins) {
                let dp = try MultiOtsu.cuts(counts: counts, classes: k)
                let brute = Self.bruteForce(counts, classes: k)
                XCTAssertEqual(MultiOtsu.objective(counts: counts, cuts: dp), brute.objective, "counts \(counts) k \(k)")
                XCTAssertEqual(dp, brute.cuts, "counts \(counts) k \(k)")
            }
        }
    }

    func testSeparatedClustersAndTieBreakAcrossEmptyBins() throws {
        // Three peaks at bins 2, 10 and 20 of 32: any cut in 3...10 and 11...20 is optimal;
        // the tie-break puts each cut right after the last occupied bin below it.
        var counts = [Int64](repeating: 0, count: 32)
        counts[2] = 100; counts[10] = 50; counts[20] = 70
        XCTAssertEqual(try MultiOtsu.cuts(counts: counts, classes: 3), [3, 11])
        // Two classes: the gap 10 -> 20 is the better single split.
        XCTAssertEqual(try MultiOtsu.cuts(counts: counts, classes: 2), [11])
    }

    func testAllEmptyHistogramGivesTheSmallestCuts() throws {
        XCTAssertEqual(try MultiOtsu.cuts(counts: [Int64](repeating: 0, count: 10), classes: 4), [1, 2, 3])
    }

    func testRejectsTooFewBinsOrClasses() {
        XCTAssertThrowsError(try MultiOtsu.cuts(counts: [1, 2, 3], classes: 4))
        XCTAssertThrowsError(try MultiOtsu.cuts(counts: [1, 2, 3], classes: 1))
        XCTAssertThrowsError(try OtsuThresholds(layout: BinLayout(lower: 0, upper: 1, bins: 4), cuts: [2, 2]))
        XCTAssertThrowsError(try OtsuThresholds(layout: BinLayout(lower: 0, upper: 1, bins: 4), cuts: [0]))
    }

    func testThresholdsOfATRHistogramSplitItsModes() throws {
        // TR values drawn around -0.8, -0.3, 0.1, 0.5, 0.9: five classes find the four gaps.
        var g = SplitMix64(seed: 11)
        var h = Histogram(layout: try BinLayout(lower: -1, upper: 1, bins: 4096))
        for centre: Float in [-0.8, -0.3, 0.1, 0.5, 0.9] {
            for _ in 0..<2000 { h.add(centre + Float.random(in: -0.05...0.05, using: &g)) }
        }
        let t = try OtsuThresholds(histogram: h, classes: 5)
        for (value, (low, high)) in zip(t.values, [(-0.75, -0.35), (-0.25, 0.05), (0.15, 0.45), (0.55, 0.85)]) {
            XCTAssertTrue(value >= low && value <= high, "threshold \(value) outside the gap (\(low), \(high))")
        }
        XCTAssertEqual(t.classIndex(of: -0.3), 1)
        XCTAssertEqual(t.classIndex(of: 0.9), 4)
    }

    func testFullSizeDPIsFast() throws {
        var g = SplitMix64(seed: 3)
        let counts = (0..<4096).map { _ in Int64.random(in: 0...1000, using: &g) }
        let start = Date()
        let cuts = try MultiOtsu.cuts(counts: counts, classes: 5)
        let seconds = Date().timeIntervalSince(start)
        print("multi-Otsu K=5 over 4096 bins: \(String(format: "%.3f", seconds)) s, cuts \(cuts)")
        XCTAssertEqual(cuts.count, 4)
        XCTAssertLessThan(seconds, 5)
    }
}
