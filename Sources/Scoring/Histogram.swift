// Fixed-bin histograms with Int64 counts: merging is an exact, order-independent sum, so the
// histogram of a data set does not depend on how it was split across ranks.

/// `bins` equal bins over [lower, upper]. Bin i holds [lower + i*w, lower + (i+1)*w), the last
/// bin also holds `upper`. Values outside the range are clamped into the edge bins (and counted
/// as such by the histogram); NaN has no bin.
public struct BinLayout: Codable, Hashable, Sendable {
    public let lower: Double
    public let upper: Double
    public let bins: Int

    public init(lower: Double, upper: Double, bins: Int) throws {
        guard lower.isFinite, upper.isFinite, lower < upper else {
            throw ScoringError.invalidSetting(field: "histogram range", reason: "needs finite lower < upper, got [\(lower), \(upper)]")
        }
        guard bins >= 1 else { throw ScoringError.invalidSetting(field: "histogram bins", reason: "must be >= 1, got \(bins)") }
        self.lower = lower; self.upper = upper; self.bins = bins
    }

    enum CodingKeys: String, CodingKey { case lower, upper, bins }

    /// Decoding validates as `init` does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(lower: try c.decode(Double.self, forKey: .lower), upper: try c.decode(Double.self, forKey: .upper),
                      bins: try c.decode(Int.self, forKey: .bins))
    }

    public var width: Double { (upper - lower) / Double(bins) }

    /// The bin of x (clamped), or nil for NaN.
    public func bin(of x: Float) -> Int? {
        let v = Double(x)
        if v.isNaN { return nil }
        if v <= lower { return 0 }
        if v >= upper { return bins - 1 }
        return min(bins - 1, Int(((v - lower) / (upper - lower) * Double(bins)).rounded(.down)))
    }

    /// The value at bin edge i (0...bins).
    public func edge(_ i: Int) -> Double { i == bins ? upper : lower + Double(i) * width }
}

public struct Histogram: Codable, Hashable, Sendable {
    public let layout: BinLayout
    public private(set) var counts: [Int64]
    /// Values below `lower` (counted in bin 0) and above `upper` (counted in the last bin).
    public private(set) var clampedBelow: Int64 = 0
    public private(set) var clampedAbove: Int64 = 0
    /// NaN values: counted here only, in no bin.
    public private(set) var nanCount: Int64 = 0

    public init(layout: BinLayout) {
        self.layout = layout
        counts = [Int64](repeating: 0, count: layout.bins)
    }

    enum CodingKeys: String, CodingKey { case layout, counts, clampedBelow, clampedAbove, nanCount }

    /// Decoding checks what `add` relies on: one count per bin, none negative.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(layout: try c.decode(BinLayout.self, forKey: .layout))
        var packed = try c.decode([Int64].self, forKey: .counts)
        packed += [try c.decode(Int64.self, forKey: .clampedBelow), try c.decode(Int64.self, forKey: .clampedAbove),
                   try c.decode(Int64.self, forKey: .nanCount)]
        var reader = try PackedReader(packed, what: "histogram", expected: Self.packedCount(layout))
        self = try Histogram(unpacking: &reader, layout: layout)
    }

    /// Values counted in bins (everything but NaN).
    public var total: Int64 { counts.reduce(0, +) }

    public mutating func add(_ x: Float) {
        guard let bin = layout.bin(of: x) else { nanCount += 1; return }
        counts[bin] += 1
        if Double(x) < layout.lower { clampedBelow += 1 }
        if Double(x) > layout.upper { clampedAbove += 1 }
    }

    /// Counts one in-range value whose bin the caller computed exactly.
    mutating func add(toBin bin: Int) { counts[bin] += 1 }

    public mutating func merge(_ other: Histogram) throws {
        guard layout == other.layout else { throw ScoringError.layoutMismatch("histogram \(layout) vs \(other.layout)") }
        for i in counts.indices { counts[i] += other.counts[i] }
        clampedBelow += other.clampedBelow
        clampedAbove += other.clampedAbove
        nanCount += other.nanCount
    }

    /// The q-quantile, interpolated linearly inside the bin where the cumulative count reaches
    /// q * total (values assumed uniform within a bin): exact to one bin width. nil when empty.
    public func quantile(_ q: Double) -> Double? {
        let n = total
        guard n > 0 else { return nil }
        let target = min(max(q, 0), 1) * Double(n)
        var below: Int64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            if Double(below + c) >= target {
                let inside = max(0, target - Double(below)) / Double(c)
                return layout.edge(i) + inside * layout.width
            }
            below += c
        }
        return layout.upper
    }

    // Packed as: counts..., clampedBelow, clampedAbove, nanCount.
    static func packedCount(_ layout: BinLayout) -> Int { layout.bins + 3 }

    func pack(into out: inout [Int64]) {
        out += counts
        out += [clampedBelow, clampedAbove, nanCount]
    }

    init(unpacking reader: inout PackedReader, layout: BinLayout) throws {
        self.init(layout: layout)
        counts = try reader.take(layout.bins)
        (clampedBelow, clampedAbove, nanCount) = (try reader.next(), try reader.next(), try reader.next())
    }
}
