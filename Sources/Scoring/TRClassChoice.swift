// Which multi-Otsu TR classes are flagged, under the official code's rule.

public enum TRClassChoice {
    /// The official code's choice (EonHao/XTF `DatasetEditor.get_score`): walking the K - 1
    /// thresholds upward, add up the share of tokens at or above each; at the first index i
    /// where the running sum exceeds `weight`, choose threshold i - 1 (threshold 0 when i = 0),
    /// or the top threshold if it never does. Tokens below the chosen threshold j are noise:
    /// classes 0...j (0-based). The shares are of the dataset's TR histogram (response
    /// tokens; the official code counts prompt tokens too, keyed by text).
    public static func official(histogram: Histogram, thresholds: OtsuThresholds, weight: Double) -> [Int] {
        let total = Double(histogram.total)
        var chosen = thresholds.cuts.count - 1, running = 0.0
        for (i, cut) in thresholds.cuts.enumerated() {
            running += total == 0 ? 0 : Double(histogram.counts[cut...].reduce(0, +)) / total
            if running > weight {
                chosen = max(i - 1, 0)
                break
            }
        }
        return Array(0...chosen)
    }
}
