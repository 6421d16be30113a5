// Pass-2 statistics: what the masks did, accumulated per rank over its samples and merged into
// dataset-wide counts. Every field is an Int64 count, so the merged result (and the report
// computed from it) is the same for any number of ranks and any merge order.

public struct StatisticsLayout: Codable, Hashable, Sendable {
    /// Token ids 0..<vocabularySize get a flagged-count slot; others are counted together.
    public var vocabularySize: Int
    /// The per-sample mask-ratio histogram: [0, 1] in `maskRatioBins` bins.
    public var maskRatio: BinLayout
    public var sensitivity: SensitivityGrid

    public init(vocabularySize: Int, maskRatioBins: Int = 100, sensitivity: SensitivityGrid) throws {
        guard vocabularySize >= 0 else {
            throw ScoringError.invalidSetting(field: "vocabularySize", reason: "must be >= 0, got \(vocabularySize)")
        }
        self.vocabularySize = vocabularySize
        maskRatio = try BinLayout(lower: 0, upper: 1, bins: maskRatioBins)
        self.sensitivity = sensitivity
    }
}

public struct NoiseStatistics: MergeableCounts, Hashable {
    public let layout: StatisticsLayout
    public private(set) var samples: Int64 = 0
    /// Samples without response tokens (not in the mask-ratio histogram).
    public private(set) var emptySamples: Int64 = 0
    public private(set) var responseTokens: Int64 = 0
    /// Tokens each rule flagged before the caps, indexed ri, kn, tr.
    public private(set) var ruleFlagged: [Int64] = [0, 0, 0]
    /// Tokens by their exact flag set, indexed by `Flags.rawValue` (0 = not masked, 7 = all three).
    public private(set) var regions = [Int64](repeating: 0, count: 8)
    /// Per-sample masked fraction of response tokens.
    public private(set) var maskRatio: Histogram
    /// Masked occurrences per token id.
    public private(set) var flaggedByToken: [Int64]
    /// Masked occurrences of ids outside 0..<vocabularySize.
    public private(set) var flaggedOutOfVocabulary: Int64 = 0
    /// Per attribute (ri, kn, tr) and grid point: tokens the attribute keeps, tokens masked.
    public private(set) var curveFlagged: [[Int64]]
    public private(set) var curveMasked: [[Int64]]

    public init(layout: StatisticsLayout) {
        self.layout = layout
        maskRatio = Histogram(layout: layout.maskRatio)
        flaggedByToken = [Int64](repeating: 0, count: layout.vocabularySize)
        let zeros = Attribute.allCases.map { [Int64](repeating: 0, count: layout.sensitivity.count($0)) }
        curveFlagged = zeros; curveMasked = zeros
    }

    /// Masked tokens (flagged by at least one attribute).
    public var maskedTokens: Int64 { regions.dropFirst().reduce(0, +) }

    /// Tokens an attribute flagged after its cap (alone or with others).
    public func flagged(_ attribute: Attribute) -> Int64 {
        regions.indices.filter { Flags(rawValue: UInt8($0)).contains(attribute.flag) }.reduce(0) { $0 + regions[$1] }
    }

    /// Masks one sample and counts it. Returns the mask, so the caller masks each sample once.
    @discardableResult
    public mutating func add(_ sample: SampleScores, masker: Masker) throws -> SampleMask {
        try layout.sensitivity.validate(otsuClasses: masker.settings.otsuClasses)
        let rules = masker.ruleMask(sample)
        let mask = masker.refine(rules, in: sample)
        samples += 1
        responseTokens += Int64(sample.count)
        for slot in ruleFlagged.indices { ruleFlagged[slot] += Int64(mask.ruleFlagged[slot]) }
        for (position, flags) in mask.flags.enumerated() {
            regions[Int(flags.rawValue)] += 1
            guard !flags.isEmpty else { continue }
            let id = Int(sample.tokenIds[position])
            if id >= 0 && id < flaggedByToken.count { flaggedByToken[id] += 1 } else { flaggedOutOfVocabulary += 1 }
        }
        if sample.count == 0 {
            emptySamples += 1
        } else {
            // floor(ratio * bins) in integers: no rounding decides a sample's bin.
            let bins = layout.maskRatio.bins
            maskRatio.add(toBin: min(bins - 1, mask.maskedCount * bins / sample.count))
        }
        for (slot, attribute) in Attribute.allCases.enumerated() {
            // The curves describe the rules, before any refinement.
            let curve = masker.sensitivity(of: attribute, in: sample, baseline: rules, grid: layout.sensitivity)
            for (i, point) in curve.enumerated() {
                curveFlagged[slot][i] += Int64(point.flagged)
                curveMasked[slot][i] += Int64(point.masked)
            }
        }
        return mask
    }

    public mutating func merge(_ other: NoiseStatistics) throws {
        guard layout == other.layout else { throw ScoringError.layoutMismatch("noise statistics layouts differ") }
        samples += other.samples; emptySamples += other.emptySamples; responseTokens += other.responseTokens
        flaggedOutOfVocabulary += other.flaggedOutOfVocabulary
        addElementwise(&ruleFlagged, other.ruleFlagged)
        addElementwise(&regions, other.regions)
        addElementwise(&flaggedByToken, other.flaggedByToken)
        try maskRatio.merge(other.maskRatio)
        for slot in curveFlagged.indices {
            addElementwise(&curveFlagged[slot], other.curveFlagged[slot])
            addElementwise(&curveMasked[slot], other.curveMasked[slot])
        }
    }

    // Packed as: samples, emptySamples, responseTokens, flaggedOutOfVocabulary, ruleFlagged[3],
    // regions[8], maskRatio histogram, flaggedByToken[vocabularySize], then per attribute
    // (ri, kn, tr) its curveFlagged then its curveMasked.
    public func pack() -> [Int64] {
        var out = [samples, emptySamples, responseTokens, flaggedOutOfVocabulary] + ruleFlagged + regions
        maskRatio.pack(into: &out)
        out += flaggedByToken
        for slot in curveFlagged.indices { out += curveFlagged[slot] + curveMasked[slot] }
        return out
    }

    static func packedCount(_ layout: StatisticsLayout) -> Int {
        4 + 3 + 8 + Histogram.packedCount(layout.maskRatio) + layout.vocabularySize
            + Attribute.allCases.reduce(0) { $0 + 2 * layout.sensitivity.count($1) }
    }

    public init(unpacking packed: [Int64], layout: StatisticsLayout) throws {
        var reader = try PackedReader(packed, what: "noise statistics", expected: Self.packedCount(layout))
        self.init(layout: layout)
        (samples, emptySamples, responseTokens, flaggedOutOfVocabulary) =
            (try reader.next(), try reader.next(), try reader.next(), try reader.next())
        ruleFlagged = try reader.take(3)
        regions = try reader.take(8)
        maskRatio = try Histogram(unpacking: &reader, layout: layout.maskRatio)
        flaggedByToken = try reader.take(layout.vocabularySize)
        for (slot, attribute) in Attribute.allCases.enumerated() {
            curveFlagged[slot] = try reader.take(layout.sensitivity.count(attribute))
            curveMasked[slot] = try reader.take(layout.sensitivity.count(attribute))
        }
    }
}

private func addElementwise(_ a: inout [Int64], _ b: [Int64]) {
    for i in a.indices { a[i] += b[i] }
}
