// Pass-1 statistics: the distribution of each attribute over all response tokens, merged across
// ranks. The TR histogram feeds the cluster-wide multi-Otsu thresholds; all three feed the report.

/// Ranges and bin counts of the three score histograms. 4096 bins over TR's [-1, 1] put Otsu
/// thresholds on a grid of 2/4096 ~ 0.0005 (finer than the 256 bins of skimage's default) at
/// a DP cost of ~0.1 s. RI's range is configurable: attention received is ~1/length, and the
/// uniform-relative variant is ~1, so [0, 1] suits the first and e.g. [0, 8] the second.
public struct HistogramLayouts: Codable, Hashable, Sendable {
    public var pcp: BinLayout
    public var ri: BinLayout
    public var tr: BinLayout

    public init(pcp: BinLayout, ri: BinLayout, tr: BinLayout) {
        self.pcp = pcp; self.ri = ri; self.tr = tr
    }

    /// pcp over [0, 1], ri over [0, riUpper], tr over [-1, 1], `bins` bins each.
    public static func standard(riUpper: Double = 1, bins: Int = 4096) throws -> HistogramLayouts {
        HistogramLayouts(pcp: try BinLayout(lower: 0, upper: 1, bins: bins),
                         ri: try BinLayout(lower: 0, upper: riUpper, bins: bins),
                         tr: try BinLayout(lower: -1, upper: 1, bins: bins))
    }

    subscript(attribute: Attribute) -> BinLayout {
        switch attribute {
        case .ri: return ri
        case .kn: return pcp
        case .tr: return tr
        }
    }
}

public struct ScoreHistograms: MergeableCounts, Codable, Hashable {
    public let layout: HistogramLayouts
    /// Indexed ri, kn (the pcp values), tr.
    public private(set) var histograms: [Histogram]

    public init(layout: HistogramLayouts) {
        self.layout = layout
        histograms = Attribute.allCases.map { Histogram(layout: layout[$0]) }
    }

    enum CodingKeys: String, CodingKey { case layout, histograms }

    /// Decoding checks there is one histogram per attribute, each with its layout.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layout = try c.decode(HistogramLayouts.self, forKey: .layout)
        histograms = try c.decode([Histogram].self, forKey: .histograms)
        guard histograms.map(\.layout) == Attribute.allCases.map({ layout[$0] }) else {
            throw ScoringError.layoutMismatch("decoded score histograms do not match their layouts")
        }
    }

    public subscript(attribute: Attribute) -> Histogram {
        histograms[Attribute.allCases.firstIndex(of: attribute)!]
    }

    /// Counts every response token's three scores (NaN RI in the RI histogram's NaN count).
    public mutating func add(_ sample: SampleScores) {
        for (slot, attribute) in Attribute.allCases.enumerated() {
            for value in sample.values(of: attribute) { histograms[slot].add(value) }
        }
    }

    public mutating func merge(_ other: ScoreHistograms) throws {
        guard layout == other.layout else { throw ScoringError.layoutMismatch("score histogram layouts differ") }
        for slot in histograms.indices { try histograms[slot].merge(other.histograms[slot]) }
    }

    public func pack() -> [Int64] {
        var out: [Int64] = []
        for histogram in histograms { histogram.pack(into: &out) }
        return out
    }

    public init(unpacking packed: [Int64], layout: HistogramLayouts) throws {
        let expected = Attribute.allCases.reduce(0) { $0 + Histogram.packedCount(layout[$1]) }
        var reader = try PackedReader(packed, what: "score histograms", expected: expected)
        self.layout = layout
        histograms = try Attribute.allCases.map { try Histogram(unpacking: &reader, layout: layout[$0]) }
    }

    /// The cluster-wide TR thresholds of these (merged) histograms.
    public func trThresholds(classes: Int) throws -> OtsuThresholds {
        try OtsuThresholds(histogram: self[.tr], classes: classes)
    }
}
