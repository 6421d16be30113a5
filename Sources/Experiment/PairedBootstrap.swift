import Randomness

/// How much better one model does than another on the same items, with a 95% interval from
/// the paired bootstrap: the items are resampled with replacement, both models' results on
/// each drawn item kept together, so the interval reflects which items were drawn and not a
/// second, independent sampling of the other model.
public struct PairedDifference: Codable, Equatable, Sendable {
    /// mean(a) - mean(b) on all items.
    public let difference: Double
    /// The 2.5% and 97.5% quantiles of the resampled differences.
    public let low: Double, high: Double
    public let items: Int

    /// `a` and `b`: per item, 1 for a correct answer (or any per-item score), in the same item order.
    public init(_ a: [Double], _ b: [Double], resamples: Int = 4000, seed: UInt64 = 1) {
        precondition(a.count == b.count && !a.isEmpty, "paired results need the same, non-empty items")
        let n = a.count
        let deltas = zip(a, b).map { $0 - $1 }
        difference = deltas.reduce(0, +) / Double(n)
        var random = SplitMix64(seed: seed)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0
            for _ in 0..<n { sum += deltas[Int(random.next() % UInt64(n))] }
            means.append(sum / Double(n))
        }
        means.sort()
        low = means[Int(0.025 * Double(resamples - 1))]
        high = means[Int(0.975 * Double(resamples - 1))]
        items = n
    }
}
