import Cluster
import Model

/// The world's ranks as the peers of a data-parallel `xtf bench model`.
struct CommunicatorPeers: BenchmarkPeers {
    let world: Communicator
    let countOnThisHost: Int

    /// Collective: every rank tells the others its host.
    init(world: Communicator) throws {
        self.world = world
        let hosts = try world.allgatherv(Array(world.hostName.utf8))
        countOnThisHost = hosts.filter { $0 == hosts[world.rank] }.count
    }

    var rank: Int { world.rank }
    var count: Int { world.size }
    func allSucceed<T>(_ body: () throws -> T) throws -> T { try world.allSucceed(body) }
    func barrier() throws { try world.barrier() }
    func maximum(_ value: Double) throws -> Double { try world.allreduce(value, op: .max) }
    func sum(_ value: Double) throws -> Double { try world.allreduce(value, op: .sum) }
    func allgather(inPlace values: UnsafeMutableBufferPointer<Float>, slices: [Range<Int>]) throws {
        try world.allgather(inPlace: values, slices: slices)
    }

    /// In pieces: MPI counts elements in Int32, and a model's gradients can hold more.
    func sum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        let piece = 1 << 26
        for start in stride(from: 0, to: values.count, by: piece) {
            try world.allreduce(UnsafeMutableBufferPointer(rebasing: values[start..<min(values.count, start + piece)]), op: .sum)
        }
    }
}
