// Statistics travel between ranks as one flat [Int64] that MPI all-reduces with sum. Every rank
// builds the same layout from the same settings, so positions line up; summing packed arrays
// equals packing the merged statistics, whatever the number of ranks or their order.

public protocol MergeableCounts: Sendable {
    associatedtype Layout: Hashable & Sendable
    var layout: Layout { get }
    /// An accumulator with every count zero.
    init(layout: Layout)
    /// Adds another accumulator's counts; throws when the layouts differ.
    mutating func merge(_ other: Self) throws
    /// All counts, flat, in a fixed order determined by the layout alone.
    func pack() -> [Int64]
    /// Inverse of `pack` (also of the element-wise sum of several ranks' packs).
    init(unpacking packed: [Int64], layout: Layout) throws
}

/// Reads a packed array front to back, refusing short arrays and negative counts.
struct PackedReader {
    let what: String
    private let values: [Int64]
    private var position = 0

    init(_ values: [Int64], what: String, expected: Int) throws {
        guard values.count == expected else { throw ScoringError.packedLength(what: what, expected: expected, actual: values.count) }
        guard values.allSatisfy({ $0 >= 0 }) else { throw ScoringError.negativeCount(what: what) }
        self.values = values; self.what = what
    }

    mutating func take(_ n: Int) throws -> [Int64] {
        guard position + n <= values.count else {
            throw ScoringError.packedLength(what: what, expected: position + n, actual: values.count)
        }
        defer { position += n }
        return Array(values[position..<position + n])
    }

    mutating func next() throws -> Int64 { try take(1)[0] }
}
