// Quantiles of a sample's values, exactly as numpy.quantile/percentile's default method
// ('linear', Hyndman & Fan type 7), so RI bounds can be checked against the published code:
//   h = (n - 1) * q,  Q(q) = x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])
// over the ascending values x[0..n-1]. Arithmetic in Double on the Float scores.

public enum Quantile {
    /// numpy-linear quantile of ascending `sorted` values; nil when empty. q in [0, 1].
    public static func linear(sorted: [Double], _ q: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let h = Double(sorted.count - 1) * min(max(q, 0), 1)
        let lo = Int(h.rounded(.down))
        let hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }

    /// First and third quartiles of the non-NaN values; nil when there are none.
    public static func quartiles(_ values: [Float]) -> (q1: Double, q3: Double)? {
        let sorted = values.filter { !$0.isNaN }.map(Double.init).sorted()
        guard let q1 = linear(sorted: sorted, 0.25), let q3 = linear(sorted: sorted, 0.75) else { return nil }
        return (q1, q3)
    }
}
