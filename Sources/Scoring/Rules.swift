import Foundation

// The three flag rules before the per-sample caps. Each returns the positions it flags, in
// ascending order. NaN scores are never flagged. Comparisons are in Double on the Float scores.

public enum Rules {
    /// RI lower fence of a sample: Q1 - k * (Q3 - Q1) over its non-NaN RI values (numpy-linear
    /// quartiles); nil when the sample has no RI value (then RI flags nothing).
    public static func riLowerBound(_ ri: [Float], k: Double) -> Double? {
        guard let (q1, q3) = Quantile.quartiles(ri) else { return nil }
        return q1 - k * (q3 - q1)
    }

    /// RI: ri < Q1 - k * IQR, strictly, so a constant sample flags nothing. With the
    /// log-IQR fence the same rule runs on log(ri).
    public static func ri(_ ri: [Float], k: Double, fence: RIFence = .iqr) -> [Int] {
        let values = fence == .logIQR ? logRI(ri) : ri
        guard let bound = riLowerBound(values, k: k) else { return [] }
        return values.indices.filter { !values[$0].isNaN && Double(values[$0]) < bound }
    }

    /// log(ri), with ri floored at the smallest normal Float so that a zero stays finite (and lowest).
    public static func logRI(_ ri: [Float]) -> [Float] {
        ri.map { $0.isNaN ? .nan : Float(log(Double(max($0, Float.leastNormalMagnitude)))) }
    }

    /// KN: pcp > tauKN, strictly (the model already knows the token).
    public static func kn(_ pcp: [Float], tau: Double) -> [Int] {
        pcp.indices.filter { Double(pcp[$0]) > tau }
    }

    /// TR: the token's multi-Otsu class (from the cluster-wide thresholds) is a flagged class.
    public static func tr(_ tr: [Float], thresholds: OtsuThresholds, flagClasses: [Int]) -> [Int] {
        let flagged = Set(flagClasses)
        return tr.indices.filter { thresholds.classIndex(of: tr[$0]).map(flagged.contains) ?? false }
    }
}
