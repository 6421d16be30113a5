/// Which slice of the trainable parameters each rank's optimizer owns (ZeRO stage 1).
///
/// Every rank still computes and sums the whole gradient, but keeps AdamW's two moments for
/// its own contiguous slice only and updates only that slice; the updated slices are then
/// all-gathered, so every rank again holds every parameter. The moments' memory
/// and the update's time are divided by the number of ranks, and since the update is
/// elementwise, the parameters have the same bits as when every rank updated everything.
public struct OptimizerShards: Sendable {
    /// Rank r's slice; the slices are ascending, disjoint and cover the buffer.
    public let ranges: [Range<Int>]

    /// Elements in all slices together.
    public var count: Int { ranges.last!.upperBound }

    /// Elements per message when a slice's moments go to rank 0 for a checkpoint: a bounded
    /// copy, and an MPI count that fits in 32 bits whatever the model's size.
    public static let pieceElements = 1 << 22

    /// Slices of nearly equal size whose boundaries fall on 16 floats (64-byte lines).
    public init(count: Int, ranks: Int) {
        precondition(count >= 0 && ranks > 0)
        let bounds = (0...ranks).map { r in r == ranks ? count : (count * r / ranks) & ~15 }
        ranges = (0..<ranks).map { bounds[$0]..<bounds[$0 + 1] }
    }

    /// `rank`'s slice in messages of at most `pieceElements`.
    public func pieces(of rank: Int) -> [Range<Int>] {
        stride(from: ranges[rank].lowerBound, to: ranges[rank].upperBound, by: Self.pieceElements).map {
            $0..<min($0 + Self.pieceElements, ranges[rank].upperBound)
        }
    }
}
