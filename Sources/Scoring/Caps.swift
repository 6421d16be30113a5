// Per-sample caps: no attribute may flag more than a fraction of a sample's response tokens.

public enum CapSelection {
    /// How many tokens an attribute may flag in a sample of n response tokens: floor(fraction * n),
    /// as the published code's int(n * p). The 1e-9 guards against products such as
    /// 0.29 * 100 = 28.999999999999996 losing a token to rounding. A sample shorter than
    /// 1 / fraction may flag nothing; fraction 0 disables the attribute.
    public static func limit(fraction: Double, tokens n: Int) -> Int {
        guard fraction > 0, n > 0 else { return 0 }
        return min(n, Int((fraction * Double(n) + 1e-9).rounded(.down)))
    }

    /// The official code's KN count (EonHao/XTF `filtering_tokens_and_give_labels`): a token
    /// must be strictly above the sorted PCPs' value at index int(n (1 - c)), which leaves
    /// n - 1 - int(n (1 - c)) places; computed as Python does, without a rounding guard.
    public static func officialUpperTailLimit(fraction: Double, tokens n: Int) -> Int {
        guard fraction > 0, n > 0 else { return 0 }
        return max(0, n - 1 - Int((Double(n) * (1 - fraction)).rounded(.down)))
    }

    /// Keeps at most `limit` of the flagged positions: the most extreme by `score` (lowest
    /// first when `lowestFirst`, else highest first), ties kept in favour of the earlier
    /// position. Returns positions in ascending order.
    public static func mostExtreme(_ positions: [Int], limit: Int, scores: [Float], lowestFirst: Bool) -> [Int] {
        guard positions.count > limit else { return positions }
        let ranked = positions.sorted { a, b in
            let (sa, sb) = (scores[a], scores[b])
            if sa != sb { return lowestFirst ? sa < sb : sa > sb }
            return a < b
        }
        return ranked.prefix(limit).sorted()
    }
}
