import Foundation
import Randomness
import Scoring
import XCTest

final class ReportTests: XCTestCase {
    func testTopTokensByCountThenId() {
        let counts: [Int64] = [0, 5, 2, 5, 0, 7, 2]
        XCTAssertEqual(StatsReport.topFlagged(counts, count: 4).map(\.tokenId), [5, 1, 3, 2])
        XCTAssertEqual(StatsReport.topFlagged(counts, count: 50).map(\.tokenId), [5, 1, 3, 2, 6])
    }

    func testSensitivityCurveAtTheSettingsValueEqualsTheMask() throws {
        let samples = try Fixtures.randomSamples(40, seed: 9)
        var h = ScoreHistograms(layout: try HistogramLayouts.standard(riUpper: 0.25, bins: 256))
        for sample in samples { h.add(sample) }
        let settings = MaskSettings()
        let masker = try Masker(settings: settings, trThresholds: h.trThresholds(classes: 5))
        let grid = SensitivityGrid.standard(otsuClasses: 5)
        var s = NoiseStatistics(layout: try StatisticsLayout(vocabularySize: 100, sensitivity: grid))
        for sample in samples { try s.add(sample, masker: masker) }

        let report = StatsReport(histograms: h, statistics: s, masker: masker)
        let byAttribute = Dictionary(uniqueKeysWithValues: report.sensitivity.map { ($0.attribute, $0) })
        let atSettings: [(Attribute, Int)] = [(.ri, grid.kIQR.firstIndex(of: 1.5)!), (.kn, grid.tauKN.firstIndex(of: 0.95)!),
                                              (.tr, grid.flagClasses.firstIndex(of: [1])!)]
        for (attribute, i) in atSettings {
            let point = byAttribute[attribute]!.points[i]
            XCTAssertEqual(point.masked, report.maskedTokens, "\(attribute)")
            XCTAssertEqual(point.flagged, s.flagged(attribute), "\(attribute)")
        }
        // Raising tauKN can only unflag KN tokens (with caps, the kept count cannot grow).
        let kn = byAttribute[.kn]!.points.map(\.flagged)
        XCTAssertEqual(kn, kn.sorted(by: >))
        XCTAssertGreaterThan(kn.first!, kn.last!)
    }

    func testEncodingHasSortedKeysAndNoNaN() throws {
        let masker = try Masker(settings: MaskSettings(attributes: [.kn]), trThresholds: nil)
        let h = ScoreHistograms(layout: try HistogramLayouts.standard(bins: 16))
        let s = NoiseStatistics(layout: try StatisticsLayout(vocabularySize: 4, sensitivity: .standard(otsuClasses: 5)))
        // Nothing counted: fractions are 0, quantiles absent, and it still encodes.
        let json = String(decoding: try StatsReport(histograms: h, statistics: s, masker: masker).jsonData(), as: UTF8.self)
        XCTAssertTrue(json.contains("\"maskedFraction\" : 0"))
        let keys = json.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { $0.split(separator: "\"")[1] }
        XCTAssertEqual(keys, keys.sorted())
        XCTAssertGreaterThan(keys.count, 10)
    }
}

final class ThroughputTests: XCTestCase {
    /// Pass 1 and pass 2 cost per token stays far below the model's (~1e5 tokens/s here at least).
    func testMaskingAndStatisticsThroughput() throws {
        var g = SplitMix64(seed: 1)
        let samples = try (0..<400).map { _ in
            let n = 500
            return try SampleScores(tokenIds: (0..<n).map { _ in Int32.random(in: 0..<50_000, using: &g) },
                                    pcp: (0..<n).map { _ in Float.random(in: 0...1, using: &g) },
                                    ri: (0..<n).map { _ in Float.random(in: 0...0.01, using: &g) },
                                    tr: (0..<n).map { _ in Float.random(in: -1...1, using: &g) })
        }
        let start = Date()
        var h = ScoreHistograms(layout: try HistogramLayouts.standard())
        for sample in samples { h.add(sample) }
        let masker = try Masker(settings: MaskSettings(), trThresholds: h.trThresholds(classes: 5))
        var s = NoiseStatistics(layout: try StatisticsLayout(vocabularySize: 50_000, sensitivity: .standard(otsuClasses: 5)))
        for sample in samples { try s.add(sample, masker: masker) }
        let perSecond = Double(s.responseTokens) / Date().timeIntervalSince(start)
        print("histograms + Otsu + masks + statistics: \(Int(perSecond)) tokens/s")
        XCTAssertGreaterThan(perSecond, 1e5)
    }
}
