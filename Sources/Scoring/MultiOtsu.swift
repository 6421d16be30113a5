// Multi-level Otsu: split a histogram into K classes of consecutive bins that maximise the
// between-class variance, exactly, by dynamic programming over bin boundaries.
//
// With W_j the count and S_j the sum of bin indices of class j, the between-class variance is
// (sum_j S_j^2 / W_j - S^2 / W) / W; the total terms are fixed, so the DP maximises
// sum_j S_j^2 / W_j. Bin indices stand for bin values: the objective is invariant under the
// affine map from index to value, so the split is the same. W_j and S_j come from Int64 prefix
// sums, so equal classes give bit-identical terms and ties are decided by the rule below, not by
// rounding. Cost: O(K * bins^2) time, O(K * bins) memory (about 0.1 s for K = 5, 4096 bins).

public enum MultiOtsu {
    /// Cuts c_1 < ... < c_{K-1} in 1..<bins: class j holds bins [c_j, c_{j+1}), with c_0 = 0
    /// and c_K = bins. Every class spans at least one bin; empty classes are allowed.
    /// Ties: the smallest last cut, then the smallest cut before it, and so on (moving a cut
    /// across empty bins changes nothing, so cuts sit right after the last occupied bin).
    public static func cuts(counts: [Int64], classes k: Int) throws -> [Int] {
        let bins = counts.count
        guard k >= 2 else { throw ScoringError.invalidSetting(field: "otsuClasses", reason: "needs at least 2 classes, got \(k)") }
        guard bins >= k else {
            throw ScoringError.invalidSetting(field: "otsuClasses", reason: "\(k) classes need at least \(k) bins, the histogram has \(bins)")
        }
        let score = ClassScore(counts)
        // best[e]: best score of j classes over bins [0, e); from[j][e]: the last cut achieving it.
        var best = (0...bins).map { score.term(0, $0) }
        var from = [[Int32]](repeating: [], count: k)
        for j in 2...k {
            var next = [Double](repeating: -.infinity, count: bins + 1)
            var arg = [Int32](repeating: 0, count: bins + 1)
            // The last level needs only e = bins; j classes need e >= j bins.
            for e in (j == k ? bins : j)...bins {
                var top = -Double.infinity, topCut = j - 1
                for c in (j - 1)..<e {
                    let candidate = best[c] + score.term(c, e)
                    if candidate > top { top = candidate; topCut = c }  // strict: the smallest cut wins ties
                }
                next[e] = top; arg[e] = Int32(topCut)
            }
            best = next; from[j - 1] = arg
        }
        var result = [Int](repeating: 0, count: k - 1), end = bins
        for j in stride(from: k - 1, through: 1, by: -1) {
            end = Int(from[j][end]); result[j - 1] = end
        }
        return result
    }

    /// The maximised objective, sum_j S_j^2 / W_j, summed class by class from the lowest
    /// (the DP's order, so a brute-force search can compare with it bit for bit).
    public static func objective(counts: [Int64], cuts: [Int]) -> Double {
        let score = ClassScore(counts)
        let edges = [0] + cuts + [counts.count]
        return (0..<(edges.count - 1)).reduce(0.0) { $0 + score.term(edges[$1], edges[$1 + 1]) }
    }
}

/// S^2 / W of the class of bins [a, e), from Int64 prefix sums.
private struct ClassScore {
    let weight: [Int64]  // weight[i] = sum of counts[0..<i]
    let moment: [Int64]  // moment[i] = sum of b * counts[b], b < i

    init(_ counts: [Int64]) {
        var w: [Int64] = [0], m: [Int64] = [0]
        for (b, c) in counts.enumerated() {
            w.append(w[b] + c); m.append(m[b] + Int64(b) * c)
        }
        weight = w; moment = m
    }

    func term(_ a: Int, _ e: Int) -> Double {
        let w = weight[e] - weight[a]
        guard w > 0 else { return 0 }
        let s = Double(moment[e] - moment[a])
        return s * s / Double(w)
    }
}

/// Cluster-wide TR thresholds: the multi-Otsu split of the merged TR histogram, applied by bin,
/// so a token's class agrees exactly with the histogram bin it was counted in.
public struct OtsuThresholds: Codable, Hashable, Sendable {
    public let layout: BinLayout
    /// Bin indices where classes 1..K-1 start (see `MultiOtsu.cuts`).
    public let cuts: [Int]

    public init(histogram: Histogram, classes: Int) throws {
        layout = histogram.layout
        cuts = try MultiOtsu.cuts(counts: histogram.counts, classes: classes)
    }

    public init(layout: BinLayout, cuts: [Int]) throws {
        guard !cuts.isEmpty, cuts.first! >= 1, cuts.last! < layout.bins, zip(cuts, cuts.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw ScoringError.invalidSetting(field: "otsu cuts", reason: "need increasing bin indices in 1..<\(layout.bins), got \(cuts)")
        }
        self.layout = layout; self.cuts = cuts
    }

    public var classes: Int { cuts.count + 1 }

    /// Threshold values: class j (j >= 1) holds the values from values[j-1] (a bin edge) upwards.
    public var values: [Double] { cuts.map(layout.edge) }

    /// The 0-based class of x; nil for NaN. Out-of-range values fall in the edge classes.
    public func classIndex(of x: Float) -> Int? {
        guard let bin = layout.bin(of: x) else { return nil }
        return cuts.reduce(0) { $0 + (bin >= $1 ? 1 : 0) }
    }
}
