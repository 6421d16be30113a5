/// Which slice of the trainable parameters each rank's optimizer owns (ZeRO stage 1).
///
/// Every rank still computes and sums the whole gradient, but keeps AdamW's two moments for
/// its own contiguous slice only and updates only that slice; the updated slices are then
/// all-gathered, so every rank again holds every parameter. The moments' memory and the
/// update's arithmetic are divided by the number of ranks, and since the update is
/// elementwise, the parameters have the same bits as when every rank updated everything.
public struct OptimizerShards: Sendable {
    /// Rank r's slice; the slices are ascending, disjoint and cover the buffer.
    public let ranges: [Range<Int>]

    /// Elements in all slices together.
    public var count: Int { ranges.last!.upperBound }

    /// Slices of nearly equal size that start on a multiple of 16 elements, the blocks in which
    /// `Communicator.allgather(inPlace:slices:)` moves them.
    public init(count: Int, ranks: Int) {
        precondition(count >= 0 && ranks > 0)
        let bounds = (0...ranks).map { r in r == ranks ? count : (count * r / ranks) & ~15 }
        ranges = (0..<ranks).map { bounds[$0]..<bounds[$0 + 1] }
    }
}
