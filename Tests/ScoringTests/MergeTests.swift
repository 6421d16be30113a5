import Foundation
import XCTest
import Scoring

/// The cluster contract: statistics of a data set split across any number of ranks, merged in
/// any order (or all-reduced as packed arrays), equal those of the whole, byte for byte.
final class MergeTests: XCTestCase {
    static let vocabulary = 100

    /// Contiguous shards, as a chunk plan gives ranks.
    static func shards<T>(_ items: [T], ways: Int) -> [[T]] {
        let size = (items.count + ways - 1) / ways
        return (0..<ways).map { Array(items.dropFirst($0 * size).prefix(size)) }
    }

    /// Merge by summing packed arrays element-wise, as MPI_Allreduce(SUM) does.
    static func allReduce<S: MergeableCounts>(_ parts: [S]) throws -> S {
        var sum = [Int64](repeating: 0, count: parts[0].pack().count)
        for part in parts { for (i, v) in part.pack().enumerated() { sum[i] += v } }
        return try S(unpacking: sum, layout: parts[0].layout)
    }

    /// Pass 1 and pass 2 of a run over `ways` ranks; returns the report's JSON bytes.
    func report(_ samples: [SampleScores], ways: Int, reverseMerge: Bool, viaPacking: Bool) throws -> Data {
        let settings = MaskSettings()
        let histogramLayout = try HistogramLayouts.standard(riUpper: 0.25, bins: 512)
        let shards = Self.shards(samples, ways: ways)

        let histogramParts = shards.map { shard in
            var h = ScoreHistograms(layout: histogramLayout)
            for sample in shard { h.add(sample) }
            return h
        }
        let histograms = try merge(histogramParts, reverse: reverseMerge, viaPacking: viaPacking)
        let masker = try Masker(settings: settings, trThresholds: histograms.trThresholds(classes: settings.otsuClasses))

        let statsLayout = try StatisticsLayout(vocabularySize: Self.vocabulary, sensitivity: .standard(otsuClasses: 5))
        let statsParts = try shards.map { shard in
            var s = NoiseStatistics(layout: statsLayout)
            for sample in shard { try s.add(sample, masker: masker) }
            return s
        }
        let stats = try merge(statsParts, reverse: reverseMerge, viaPacking: viaPacking)
        return try StatsReport(histograms: histograms, statistics: stats, masker: masker).jsonData()
    }

    func merge<S: MergeableCounts>(_ parts: [S], reverse: Bool, viaPacking: Bool) throws -> S {
        if viaPacking { return try Self.allReduce(parts) }
        var merged = S(layout: parts[0].layout)
        for part in reverse ? parts.reversed() : parts { try merged.merge(part) }
        return merged
    }

    func testReportIsIdenticalForOneTwoAndFourRanks() throws {
        let samples = try Fixtures.randomSamples(120, seed: 42, vocabulary: Int32(Self.vocabulary))
        let whole = try report(samples, ways: 1, reverseMerge: false, viaPacking: false)
        for ways in [2, 4] {
            for (reverse, packing) in [(false, false), (true, false), (false, true)] {
                let split = try report(samples, ways: ways, reverseMerge: reverse, viaPacking: packing)
                XCTAssertEqual(split, whole, "\(ways) ranks, reverse \(reverse), packed \(packing)")
            }
        }
        // The report is not vacuous: tokens were masked by every attribute.
        let decoded = try JSONDecoder().decode(StatsReport.self, from: whole)
        XCTAssertEqual(decoded.samples, 120)
        XCTAssertTrue(decoded.attributes.allSatisfy { $0.flagged > 0 }, "\(decoded.attributes.map(\.flagged))")
        XCTAssertGreaterThan(decoded.flaggedOutOfVocabulary, 0)
        XCTAssertGreaterThan(decoded.emptySamples, 0)
    }

    func testPackUnpackRoundTrips() throws {
        let samples = try Fixtures.randomSamples(30, seed: 7)
        var h = ScoreHistograms(layout: try HistogramLayouts.standard(bins: 64))
        for sample in samples { h.add(sample) }
        XCTAssertEqual(try ScoreHistograms(unpacking: h.pack(), layout: h.layout), h)

        let masker = try Masker(settings: MaskSettings(), trThresholds: h.trThresholds(classes: 5))
        var s = NoiseStatistics(layout: try StatisticsLayout(vocabularySize: 50, maskRatioBins: 10, sensitivity: .standard(otsuClasses: 5)))
        for sample in samples { try s.add(sample, masker: masker) }
        XCTAssertEqual(try NoiseStatistics(unpacking: s.pack(), layout: s.layout), s)
        XCTAssertThrowsError(try NoiseStatistics(unpacking: s.pack() + [0], layout: s.layout))
    }

    func testMergeRefusesDifferentLayouts() throws {
        var a = NoiseStatistics(layout: try StatisticsLayout(vocabularySize: 10, sensitivity: .standard(otsuClasses: 5)))
        let b = NoiseStatistics(layout: try StatisticsLayout(vocabularySize: 11, sensitivity: .standard(otsuClasses: 5)))
        XCTAssertThrowsError(try a.merge(b))
    }
}
