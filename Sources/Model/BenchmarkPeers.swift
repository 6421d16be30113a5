/// The ranks a data-parallel `xtf bench model` runs on: each takes its share of the batch, as
/// `xtf score` and `xtf train` share work. Kept to the three collectives the benchmark needs, so
/// Model does not depend on Cluster; the command passes the world communicator behind it.
public protocol BenchmarkPeers {
    var rank: Int { get }
    var count: Int { get }
    /// Sums `values` across the ranks in place (the training step's gradients).
    func sum(_ values: UnsafeMutableBufferPointer<Float>) throws
    func sum(_ value: Double) throws -> Double
    /// The largest `value` of any rank; also where ranks wait for each other.
    func maximum(_ value: Double) throws -> Double
}

/// One process benchmarking alone.
public struct SingleProcess: BenchmarkPeers {
    public init() {}
    public var rank: Int { 0 }
    public var count: Int { 1 }
    public func sum(_ values: UnsafeMutableBufferPointer<Float>) {}
    public func sum(_ value: Double) -> Double { value }
    public func maximum(_ value: Double) -> Double { value }
}
