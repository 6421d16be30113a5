/// The ranks a data-parallel `xtf bench model` runs on: each takes its share of the batch, as
/// `xtf score` and `xtf train` share work. Only what the benchmark needs, so Model does not
/// depend on Cluster; the command passes the world communicator behind it.
public protocol BenchmarkPeers {
    var rank: Int { get }
    var count: Int { get }
    /// Ranks on this rank's host (this one included), which share its memory.
    var countOnThisHost: Int { get }
    /// Runs `body` on every rank and throws on all of them if it threw on any (so a refusal on
    /// one rank ends the job with one error, not an abort).
    func allSucceed<T>(_ body: () throws -> T) throws -> T
    func barrier() throws
    /// Sums `values` across the ranks in place (the training step's gradients).
    func sum(_ values: UnsafeMutableBufferPointer<Float>) throws
    func sum(_ value: Double) throws -> Double
    /// Rank r's `slices[r]` of `values` to every rank, in place (the optimizer's updated slices).
    func allgather(inPlace values: UnsafeMutableBufferPointer<Float>, slices: [Range<Int>]) throws
    func maximum(_ value: Double) throws -> Double
}

/// One process benchmarking alone.
public struct SingleProcess: BenchmarkPeers {
    public init() {}
    public var rank: Int { 0 }
    public var count: Int { 1 }
    public var countOnThisHost: Int { 1 }
    public func allSucceed<T>(_ body: () throws -> T) throws -> T { try body() }
    public func barrier() {}
    public func sum(_ values: UnsafeMutableBufferPointer<Float>) {}
    public func sum(_ value: Double) -> Double { value }
    public func allgather(inPlace values: UnsafeMutableBufferPointer<Float>, slices: [Range<Int>]) {}
    public func maximum(_ value: Double) -> Double { value }
}
