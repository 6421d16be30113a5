import CMPI
import Foundation

/// A group of ranks and the collectives and messages between them, on typed Swift buffers.
///
/// Every collective must be called by every rank of the communicator, in the same order,
/// with the same element type (and, for fixed-size collectives, the same length).
/// Ranks, roots and tags are validated by MPI itself (its parameter checking is on in
/// Debian's build); what it rejects arrives as `ClusterError.mpi` with MPI's message.
/// Scoring and training take a Communicator and never call MPI themselves; a world of size 1
/// makes every distributed path runnable in one process.
public final class Communicator: @unchecked Sendable {
    // MPI_Comm is an opaque pointer: safe to share because MPI was asked for
    // MPI_THREAD_MULTIPLE (see `MPIRuntime.threadLevel` for what was provided).
    private let comm: MPI_Comm
    public let rank: Int
    public let size: Int

    /// The world communicator: every rank mpirun started, or this process alone without mpirun.
    public static func world() throws -> Communicator {
        try MPIRuntime.initialize()
        return try Communicator(comm: cmpi_comm_world())
    }

    /// True for communicators this process created (and must free); false for the world.
    private let owned: Bool

    private init(comm: MPI_Comm, owned: Bool = false) throws {
        self.comm = comm
        self.owned = owned
        var r: Int32 = 0, s: Int32 = 0
        try check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(comm, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    deinit {
        // Freeing after MPI_Finalize is an error; after it the handle is gone anyway.
        if owned && MPIRuntime.isInitialized {
            var handle: MPI_Comm? = comm
            MPI_Comm_free(&handle)
        }
    }

    public var isRoot: Bool { rank == 0 }

    /// A new communicator over the same ranks whose messages never match this one's
    /// (collective: every rank calls it). Lets a helper thread, such as the work queue's
    /// coordinator, exchange messages beside the main thread's traffic.
    public func duplicate() throws -> Communicator {
        var copy: MPI_Comm? = nil
        try check(MPI_Comm_dup(comm, &copy), "MPI_Comm_dup")
        return try Communicator(comm: copy!, owned: true)
    }

    /// The name of the host this rank runs on, as MPI reports it.
    public var hostName: String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_processor_name()) + 1)
        var length: Int32 = 0
        guard MPI_Get_processor_name(&buffer, &length) == MPI_SUCCESS else { return "unknown" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Seconds on MPI's wall clock.
    public static func wallTime() -> Double { MPI_Wtime() }

    // MARK: Synchronisation

    public func barrier() throws {
        try check(MPI_Barrier(comm), "MPI_Barrier")
    }

    // MARK: Broadcast

    /// Overwrites `buffer` on every rank with root's contents; all ranks pass the same length.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int = 0) throws {
        try check(MPI_Bcast(address(buffer), try count(buffer.count), T.mpiDatatype, Int32(root), comm),
                  "MPI_Bcast")
    }

    /// Replaces `values` on every rank with root's array, whatever length the others had.
    public func broadcast<T: MPIScalar>(_ values: inout [T], root: Int = 0) throws {
        var length = [Int64(values.count)]
        try length.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
        if rank != root { values = [T](unsafeUninitializedCapacity: Int(length[0])) { _, n in n = Int(length[0]) } }
        try values.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    /// Root's value, JSON-encoded and broadcast; every rank returns it (others pass nil).
    public func broadcast<V: Codable>(value: V?, root: Int = 0) throws -> V {
        var bytes: [UInt8] = []
        if rank == root {
            guard let value else { throw ClusterError.badArgument("broadcast: root \(root) has no value to send") }
            bytes = Array(try JSONEncoder().encode(value))
        }
        try broadcast(&bytes, root: root)
        return try JSONDecoder().decode(V.self, from: Data(bytes))
    }

    // MARK: Reductions

    /// In place: every rank ends with the element-wise reduction over all ranks.
    public func allreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        try check(MPI_Allreduce(cmpi_in_place(), address(buffer), try count(buffer.count),
                                T.mpiDatatype, op.mpiOp, comm), "MPI_Allreduce")
    }

    public func allreduce<T: MPIScalar>(_ values: inout [T], op: ReduceOp) throws {
        try values.withUnsafeMutableBufferPointer { try allreduce($0, op: op) }
    }

    /// Out of place: `values` is left untouched; the reduction is returned on every rank.
    public func allreduced<T: MPIScalar>(_ values: [T], op: ReduceOp) throws -> [T] {
        var result = [T](unsafeUninitializedCapacity: values.count) { _, n in n = values.count }
        try values.withUnsafeBufferPointer { input in
            try result.withUnsafeMutableBufferPointer { output in
                try check(MPI_Allreduce(address(input), address(output), try count(values.count),
                                        T.mpiDatatype, op.mpiOp, comm), "MPI_Allreduce")
            }
        }
        return result
    }

    /// Reduction of a single value (a count, a loss sum, a maximum) on every rank.
    public func allreduce<T: MPIScalar>(_ value: T, op: ReduceOp) throws -> T {
        try allreduced([value], op: op)[0]
    }

    /// The reduction arrives at `root` only; other ranks get nil.
    public func reduce<T: MPIScalar>(_ values: [T], op: ReduceOp, root: Int = 0) throws -> [T]? {
        var result = [T](unsafeUninitializedCapacity: rank == root ? values.count : 0) { _, n in
            n = rank == root ? values.count : 0
        }
        try values.withUnsafeBufferPointer { input in
            try result.withUnsafeMutableBufferPointer { output in
                try check(MPI_Reduce(address(input), address(output), try count(values.count),
                                     T.mpiDatatype, op.mpiOp, Int32(root), comm), "MPI_Reduce")
            }
        }
        return rank == root ? result : nil
    }

    // MARK: Gathers

    /// Fixed size: every rank sends the same number of elements; root gets them in rank order.
    public func gather<T: MPIScalar>(_ values: [T], root: Int = 0) throws -> [T]? {
        let total = rank == root ? values.count * size : 0
        var result = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        try values.withUnsafeBufferPointer { input in
            try result.withUnsafeMutableBufferPointer { output in
                let n = try count(values.count)
                try check(MPI_Gather(address(input), n, T.mpiDatatype,
                                     address(output), n, T.mpiDatatype, Int32(root), comm), "MPI_Gather")
            }
        }
        return rank == root ? result : nil
    }

    /// Fixed size, to every rank, concatenated in rank order.
    public func allgather<T: MPIScalar>(_ values: [T]) throws -> [T] {
        let total = values.count * size
        var result = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        try values.withUnsafeBufferPointer { input in
            try result.withUnsafeMutableBufferPointer { output in
                let n = try count(values.count)
                try check(MPI_Allgather(address(input), n, T.mpiDatatype,
                                        address(output), n, T.mpiDatatype, comm), "MPI_Allgather")
            }
        }
        return result
    }

    /// Variable size: each rank sends any number of elements; root gets one array per rank.
    public func gatherv<T: MPIScalar>(_ values: [T], root: Int = 0) throws -> [[T]]? {
        let counts = try gather([try count(values.count)], root: root)
        var flat: [T] = []
        var offsets: [Int32] = []
        if let counts {
            offsets = try displacements(counts)
            let total = Int(offsets.last ?? 0) + Int(counts.last ?? 0)
            flat = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        }
        try values.withUnsafeBufferPointer { input in
            try flat.withUnsafeMutableBufferPointer { output in
                try check(MPI_Gatherv(address(input), try count(values.count), T.mpiDatatype,
                                      address(output), counts ?? [], offsets, T.mpiDatatype,
                                      Int32(root), comm), "MPI_Gatherv")
            }
        }
        guard let counts else { return nil }
        return split(flat, counts: counts, offsets: offsets)
    }

    /// Variable size, to every rank: one array per rank, in rank order.
    public func allgatherv<T: MPIScalar>(_ values: [T]) throws -> [[T]] {
        let counts = try allgather([try count(values.count)])
        let offsets = try displacements(counts)
        let total = Int(offsets.last ?? 0) + Int(counts.last ?? 0)
        var flat = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        try values.withUnsafeBufferPointer { input in
            try flat.withUnsafeMutableBufferPointer { output in
                try check(MPI_Allgatherv(address(input), try count(values.count), T.mpiDatatype,
                                         address(output), counts, offsets, T.mpiDatatype, comm),
                          "MPI_Allgatherv")
            }
        }
        return split(flat, counts: counts, offsets: offsets)
    }

    /// Every rank's own slice of `buffer` to every rank, in place: rank r's elements
    /// `slices[r]` (ascending and disjoint, the same list on every rank) overwrite theirs on
    /// the other ranks. MPI's counts and offsets are 32-bit, so they count blocks of 16
    /// elements (offsets up to 2^35 elements); the elements at a slice's ends that do not fill
    /// a block are broadcast by its owner. The slices move in rounds of at most 4M elements
    /// per rank, which bounds each message.
    public func allgather<T: MPIScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>, slices: [Range<Int>]) throws {
        precondition(slices.count == size && slices.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= buffer.count }
                     && zip(slices, slices.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound },
                     "allgather(inPlace:): one slice per rank, ascending and disjoint, within the buffer")
        guard size > 1, let base = buffer.baseAddress else { return }
        let unit = 16, blocksPerRound = 1 << 18
        let blocks = slices.map { s in
            let first = (s.lowerBound + unit - 1) / unit
            return first..<max(first, s.upperBound / unit)
        }
        var block: MPI_Datatype? = nil
        try check(MPI_Type_contiguous(Int32(unit), T.mpiDatatype, &block), "MPI_Type_contiguous")
        try check(MPI_Type_commit(&block), "MPI_Type_commit")
        defer { MPI_Type_free(&block) }
        let rounds = blocks.map { ($0.count + blocksPerRound - 1) / blocksPerRound }.max() ?? 0
        for round in 0..<rounds {
            var counts: [Int32] = [], offsets: [Int32] = []
            for b in blocks {
                let start = min(b.upperBound, b.lowerBound + round * blocksPerRound)
                counts.append(Int32(min(blocksPerRound, b.upperBound - start)))
                offsets.append(try count(start))
            }
            try check(MPI_Allgatherv(cmpi_in_place(), 0, block, UnsafeMutableRawPointer(base), counts, offsets, block, comm),
                      "MPI_Allgatherv")
        }
        for (owner, s) in slices.enumerated() {
            let b = blocks[owner]
            // The elements the rounds moved (none when the slice holds no whole block).
            let moved = b.isEmpty ? s.upperBound..<s.upperBound : (b.lowerBound * unit)..<(b.upperBound * unit)
            for piece in [s.lowerBound..<moved.lowerBound, moved.upperBound..<s.upperBound] where !piece.isEmpty {
                try broadcast(UnsafeMutableBufferPointer(rebasing: buffer[piece]), root: owner)
            }
        }
    }

    /// Every rank's Codable value, JSON-encoded, gathered to root in rank order.
    public func gather<V: Codable>(value: V, root: Int = 0) throws -> [V]? {
        let parts = try gatherv(Array(try JSONEncoder().encode(value)), root: root)
        return try parts?.map { try JSONDecoder().decode(V.self, from: Data($0)) }
    }

    // MARK: Point to point

    /// A received message: its elements, the rank that sent it and its tag.
    public struct Message<T: MPIScalar>: Sendable {
        public let values: [T]
        public let source: Int
        public let tag: Int
    }

    /// Sends `values` to rank `destination` with `tag`; returns once the buffer may be reused.
    public func send<T: MPIScalar>(_ values: [T], to destination: Int, tag: Int) throws {
        try values.withUnsafeBufferPointer { input in
            try check(MPI_Send(address(input), try count(values.count), T.mpiDatatype,
                               Int32(destination), Int32(tag), comm), "MPI_Send")
        }
    }

    /// Waits until a message with `tag` (from any source) can be received, without keeping a
    /// core busy: Open MPI's blocking calls spin, which on a rank that also computes (rank 0's
    /// coordinator thread) takes the core from the computation. Polls, sleeping in between; the
    /// sleep doubles while nothing arrives, from 0.5 ms to 8 ms, so a long wait wakes the
    /// shared core rarely; each call starts again at 0.5 ms.
    public func waitForMessage(tag: Int) throws {
        var flag: Int32 = 0
        var status = MPI_Status()
        var microseconds: UInt32 = 500
        while true {
            try check(MPI_Iprobe(cmpi_any_source(), Int32(tag), comm, &flag, &status), "MPI_Iprobe")
            if flag != 0 { return }
            usleep(microseconds)
            microseconds = min(8_000, 2 * microseconds)
        }
    }

    /// Receives the next message matching `source` and `tag` (nil = any), whatever its length.
    public func receive<T: MPIScalar>(_ type: T.Type = T.self, from source: Int? = nil,
                                      tag: Int? = nil) throws -> Message<T> {
        var status = MPI_Status()
        try check(MPI_Probe(Int32(source ?? Int(cmpi_any_source())), Int32(tag ?? Int(cmpi_any_tag())),
                            comm, &status), "MPI_Probe")
        var n: Int32 = 0
        try check(MPI_Get_count(&status, T.mpiDatatype, &n), "MPI_Get_count")
        // Receive exactly the probed message (its source and tag), not a later one.
        let from = cmpi_status_source(&status), messageTag = cmpi_status_tag(&status)
        var values = [T](unsafeUninitializedCapacity: Int(n)) { _, c in c = Int(n) }
        try values.withUnsafeMutableBufferPointer { output in
            try check(MPI_Recv(address(output), n, T.mpiDatatype, from, messageTag, comm,
                               cmpi_status_ignore()), "MPI_Recv")
        }
        return Message(values: values, source: Int(from), tag: Int(messageTag))
    }

    /// Sends a Codable value as JSON bytes (work-queue requests and replies).
    public func send<V: Encodable>(value: V, to destination: Int, tag: Int) throws {
        try send(Array(try JSONEncoder().encode(value)), to: destination, tag: tag)
    }

    /// Receives a JSON-encoded value sent with `send(value:to:tag:)`.
    public func receive<V: Decodable>(value type: V.Type, from source: Int? = nil,
                                      tag: Int? = nil) throws -> (value: V, source: Int, tag: Int) {
        let message = try receive(UInt8.self, from: source, tag: tag)
        return (try JSONDecoder().decode(V.self, from: Data(message.values)), message.source, message.tag)
    }

    // MARK: Helpers

    /// The largest tag MPI accepts on this communicator (at least 32767 by the standard).
    public var maxTag: Int {
        var value: UnsafeMutablePointer<Int32>? = nil
        var found: Int32 = 0
        _ = withUnsafeMutablePointer(to: &value) {
            MPI_Comm_get_attr(comm, cmpi_tag_ub_key(), UnsafeMutableRawPointer($0), &found)
        }
        if found != 0, let value { return Int(value.pointee) }
        return 32767
    }

    /// MPI counts are 32-bit.
    private func count(_ n: Int) throws -> Int32 {
        guard n <= Int(Int32.max) else {
            throw ClusterError.badArgument("\(n) elements exceed MPI's 32-bit count; split the buffer")
        }
        return Int32(n)
    }

    private func displacements(_ counts: [Int32]) throws -> [Int32] {
        var offsets: [Int32] = []
        offsets.reserveCapacity(counts.count)
        var running = 0
        for c in counts {
            offsets.append(try count(running))
            running += Int(c)
        }
        _ = try count(running)
        return offsets
    }

    private func split<T>(_ flat: [T], counts: [Int32], offsets: [Int32]) -> [[T]] {
        zip(counts, offsets).map { c, o in Array(flat[Int(o)..<Int(o) + Int(c)]) }
    }
}

// MPI wants a non-null address even for zero elements; empty Swift buffers have none.
// Never read or written: every call that receives it has a count of 0.
private nonisolated(unsafe) let emptyScratch = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)

private func address<T>(_ buffer: UnsafeBufferPointer<T>) -> UnsafeRawPointer {
    buffer.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(emptyScratch)
}

private func address<T>(_ buffer: UnsafeMutableBufferPointer<T>) -> UnsafeMutableRawPointer {
    buffer.baseAddress.map(UnsafeMutableRawPointer.init) ?? emptyScratch
}
