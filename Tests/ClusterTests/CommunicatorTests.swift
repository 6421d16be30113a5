import Cluster
import XCTest

/// The Communicator in this process: a world of size 1 without mpirun (MPI's singleton mode).
final class SingleRankCommunicatorTests: XCTestCase {
    func testWorldOfOneWorksWithoutMpirun() throws {
        let world = try Communicator.world()
        XCTAssertEqual(world.size, 1)
        XCTAssertEqual(world.rank, 0)
        XCTAssertFalse(world.hostName.isEmpty)
        XCTAssertEqual(MPIRuntime.threadLevel, .multiple, "Open MPI provides MPI_THREAD_MULTIPLE here")

        var values: [Double] = [1.5, -2, 3]
        try world.allreduce(&values, op: .sum)
        XCTAssertEqual(values, [1.5, -2, 3])
        XCTAssertEqual(try world.allreduce(Int64(41), op: .max), 41)
        XCTAssertEqual(try world.allgatherv([Float]()), [[]])
        XCTAssertEqual(try world.gather(value: "only", root: 0), ["only"])
        try world.send([Int32(5), 6], to: 0, tag: 3)
        let message = try world.receive(Int32.self, from: 0, tag: 3)
        XCTAssertEqual(message.values, [5, 6])
        XCTAssertEqual(message.source, 0)
        XCTAssertEqual(message.tag, 3)
    }

    func testMPIErrorsBecomeSwiftErrorsWithMPIsMessage() throws {
        let world = try Communicator.world()
        XCTAssertThrowsError(try world.send([Float(1)], to: 5, tag: 0)) { error in
            guard case let ClusterError.mpi(call, _, message) = error else {
                return XCTFail("expected ClusterError.mpi, got \(error)")
            }
            XCTAssertEqual(call, "MPI_Send")
            XCTAssertTrue(message.lowercased().contains("rank"), "MPI's message: \(message)")
        }
        XCTAssertThrowsError(try world.broadcast(value: Optional<String>.none, root: 0))
        XCTAssertThrowsError(try world.reduce([Float(1)], op: .sum, root: 3)) { error in
            guard case ClusterError.mpi = error else { return XCTFail("expected ClusterError.mpi, got \(error)") }
        }
    }
}
