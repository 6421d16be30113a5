// The dataset-wide noise report rank 0 writes: built only from merged integer counts, with
// every Double computed from them at the end, so it is byte-identical for any number of ranks.

import Foundation

public struct StatsReport: Codable, Hashable, Sendable {
    public struct ScoreSummary: Codable, Hashable, Sendable {
        public let layout: BinLayout
        public let binned: Int64
        public let nan: Int64
        public let clampedBelow: Int64
        public let clampedAbove: Int64
        /// From the histogram, exact to one bin width.
        public let quantiles: [QuantilePoint]
    }

    public struct QuantilePoint: Codable, Hashable, Sendable {
        public let q: Double
        public let value: Double?
    }

    public struct AttributeSummary: Codable, Hashable, Sendable {
        public let attribute: Attribute
        public let active: Bool
        public let flaggedByRule: Int64
        /// After the caps; a token flagged by several attributes counts for each.
        public let flagged: Int64
        public let flaggedFraction: Double
        public let scores: ScoreSummary
    }

    /// Tokens flagged by exactly this set of attributes ("ri", "ri+kn", ..., "ri+kn+tr").
    public struct Region: Codable, Hashable, Sendable {
        public let attributes: String
        public let tokens: Int64
        public let fraction: Double
    }

    public struct TokenCount: Codable, Hashable, Sendable {
        public let tokenId: Int32
        public let flagged: Int64
    }

    public struct MaskRatio: Codable, Hashable, Sendable {
        public let layout: BinLayout
        public let counts: [Int64]
        public let quantiles: [QuantilePoint]
    }

    public struct SensitivityPoint: Codable, Hashable, Sendable {
        /// The moved threshold (tauKN or kIQR), or nil for TR points.
        public let value: Double?
        /// The flagged TR classes, or nil for RI and KN points.
        public let classes: [Int]?
        public let flagged: Int64
        public let masked: Int64
        public let maskedFraction: Double
    }

    public struct SensitivityCurve: Codable, Hashable, Sendable {
        public let attribute: Attribute
        /// "kIQR", "tauKN" or "flagClasses".
        public let parameter: String
        public let points: [SensitivityPoint]
    }

    public let settings: MaskSettings
    /// Multi-Otsu class lower edges (TR values) and their bin indices; nil when TR is unused.
    public let trThresholds: [Double]?
    public let trCuts: [Int]?
    /// The ids the coverage guard never masks, ascending (absent when the guard is off).
    public let protectedIds: [Int32]?
    public let samples: Int64
    public let emptySamples: Int64
    public let responseTokens: Int64
    public let maskedTokens: Int64
    public let maskedFraction: Double
    public let attributes: [AttributeSummary]
    /// The seven non-empty flag sets, in Flags.rawValue order.
    public let overlap: [Region]
    public let maskRatio: MaskRatio
    public let topFlaggedTokens: [TokenCount]
    public let flaggedOutOfVocabulary: Int64
    public let sensitivity: [SensitivityCurve]

    public static let quantileProbes = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]

    public init(histograms: ScoreHistograms, statistics s: NoiseStatistics, masker: Masker, topTokens: Int = 50) {
        let tokens = s.responseTokens
        settings = masker.settings
        trThresholds = masker.trThresholds?.values
        trCuts = masker.trThresholds?.cuts
        protectedIds = masker.settings.coverageGuard == nil ? nil : masker.protectedIds.sorted()
        samples = s.samples
        emptySamples = s.emptySamples
        responseTokens = tokens
        maskedTokens = s.maskedTokens
        maskedFraction = fraction(s.maskedTokens, of: tokens)
        attributes = Attribute.allCases.enumerated().map { slot, attribute in
            let h = histograms[attribute]
            return AttributeSummary(
                attribute: attribute, active: masker.settings.isActive(attribute),
                flaggedByRule: s.ruleFlagged[slot], flagged: s.flagged(attribute),
                flaggedFraction: fraction(s.flagged(attribute), of: tokens),
                scores: ScoreSummary(layout: h.layout, binned: h.total, nan: h.nanCount, clampedBelow: h.clampedBelow,
                                     clampedAbove: h.clampedAbove, quantiles: quantilePoints(h)))
        }
        overlap = (1...7).map { raw in
            Region(attributes: Flags(rawValue: UInt8(raw)).description, tokens: s.regions[raw],
                   fraction: fraction(s.regions[raw], of: tokens))
        }
        maskRatio = MaskRatio(layout: s.maskRatio.layout, counts: s.maskRatio.counts, quantiles: quantilePoints(s.maskRatio))
        topFlaggedTokens = Self.topFlagged(s.flaggedByToken, count: topTokens)
        flaggedOutOfVocabulary = s.flaggedOutOfVocabulary
        let grid = s.layout.sensitivity
        sensitivity = Attribute.allCases.enumerated().map { slot, attribute in
            let points = (0..<grid.count(attribute)).map { i in
                SensitivityPoint(value: attribute == .ri ? grid.kIQR[i] : attribute == .kn ? grid.tauKN[i] : nil,
                                 classes: attribute == .tr ? grid.flagClasses[i] : nil,
                                 flagged: s.curveFlagged[slot][i], masked: s.curveMasked[slot][i],
                                 maskedFraction: fraction(s.curveMasked[slot][i], of: tokens))
            }
            let parameter = ["kIQR", "tauKN", "flagClasses"][slot]
            return SensitivityCurve(attribute: attribute, parameter: parameter, points: points)
        }
    }

    /// JSON with sorted keys, so equal reports are equal bytes.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }
}

/// part / whole, 0 for an empty whole (JSON has no NaN).
private func fraction(_ part: Int64, of whole: Int64) -> Double {
    whole == 0 ? 0 : Double(part) / Double(whole)
}

private func quantilePoints(_ histogram: Histogram) -> [StatsReport.QuantilePoint] {
    StatsReport.quantileProbes.map { StatsReport.QuantilePoint(q: $0, value: histogram.quantile($0)) }
}

extension StatsReport {
    /// The `count` most often flagged token ids (counts indexed by id): by count descending,
    /// then id ascending; ids never flagged are left out.
    public static func topFlagged(_ counts: [Int64], count: Int) -> [TokenCount] {
        counts.indices.filter { counts[$0] > 0 }
            .sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
            .prefix(count)
            .map { TokenCount(tokenId: Int32($0), flagged: counts[$0]) }
    }
}
