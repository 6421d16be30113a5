import ArgumentParser
import Cluster
import CommandOptions
import Foundation
import Synchronization
import Training

/// Runs every Communicator operation on deterministic inputs and writes, per rank,
/// `rank-<r>.json` with the results (see Tests/ClusterTests/CollectivesTests.swift).
struct CollectivesSelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "collectives")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Directory for rank-<r>.json.")
    var out: String

    @Option(help: "Size of the large all-reduce buffer in MiB.")
    var bigMegabytes = 64

    struct Record: Codable {
        var rank = 0
        var size = 0
        var values: [String: [Double]] = [:]
        var digests: [String: String] = [:]
    }

    /// The input every test case starts from: small integers, exact in every type.
    static func input(length: Int, rank: Int, scale: Double) -> [Double] {
        (0..<length).map { i in Double((i * 31 + rank * 17) % 101 - 50) * scale }
    }

    static let lengths = [0, 1, 7, 1003]

    /// Rank r owns [bounds[r], bounds[r + 1]) of 1003 elements, off 16-element block boundaries;
    /// at -np 4 rank 1's slice holds no whole block and rank 2's is empty.
    static func sliceBounds(ranks n: Int) -> [Int] {
        n == 4 ? [0, 250, 260, 260, 1003] : (0...n).map { s in s == n ? 1003 : s == 0 ? 0 : s * 250 + 5 }
    }

    func run() throws {
        let context = try ClusterContext(global, label: "xtf-testbench")
        let world = context.world
        let r = world.rank, n = world.size
        context.log.info("selftest info from rank \(r)")
        context.log.warning("selftest warning from rank \(r)")
        var rec = Record(rank: r, size: n)

        try world.barrier()
        rec.values["barrier"] = [1]

        try reductions(Float.self, "Float", scale: 0.5, world, &rec)
        try reductions(Double.self, "Double", scale: 0.5, world, &rec)
        try reductions(Int32.self, "Int32", scale: 1, world, &rec)
        try reductions(Int64.self, "Int64", scale: Double(1 << 40), world, &rec)

        // Broadcast from the last rank; receivers start with an array of another length.
        let root = n - 1
        var broadcastValues: [Double] = r == root ? (0..<(5 + root)).map { Double(100 + $0) } : [1, 2]
        try world.broadcast(&broadcastValues, root: root)
        rec.values["broadcast"] = broadcastValues
        struct Thresholds: Codable { let name: String; let values: [Double] }
        let sent = r == root ? Thresholds(name: "otsu", values: [0.25, 0.5, Double(root)]) : nil
        rec.values["broadcast.codable"] = try world.broadcast(value: sent, root: root).values

        // Gathers of fixed size.
        let fixed: [Int32] = [Int32(r * 10), Int32(r * 10 + 1), Int32(r * 10 + 2)]
        if let g = try world.gather(fixed, root: 0) { rec.values["gather"] = g.map(Double.init) }
        rec.values["allgather"] = try world.allgather(fixed).map(Double.init)

        // Gathers of variable size: rank r sends r elements (rank 0 sends none).
        let variable: [Float] = (0..<r).map { Float(r * 100 + $0) }
        if let parts = try world.gatherv(variable, root: 0) {
            rec.values["gatherv.counts"] = parts.map { Double($0.count) }
            rec.values["gatherv.values"] = parts.flatMap { $0.map(Double.init) }
        }
        let allParts = try world.allgatherv(variable)
        rec.values["allgatherv.counts"] = allParts.map { Double($0.count) }
        rec.values["allgatherv.values"] = allParts.flatMap { $0.map(Double.init) }
        if let codable = try world.gather(value: "rank-\(r)", root: 0) {
            rec.values["gather.codable"] = codable.map { Double($0.dropFirst(5))! }
        }

        // Each rank's slice to all, in place: slices that start and end off 16-element blocks
        // (`sliceBounds`); then slices of over 4M elements each (several rounds).
        let bounds = Self.sliceBounds(ranks: n)
        var sliced = [Float](repeating: -1, count: bounds.last!)
        for i in bounds[r]..<bounds[r + 1] { sliced[i] = Float(r * 10_000 + i) }
        try sliced.withUnsafeMutableBufferPointer {
            try world.allgather(inPlace: $0, slices: (0..<n).map { bounds[$0]..<bounds[$0 + 1] })
        }
        rec.values["allgather.inplace"] = sliced.map(Double.init)
        let per = (1 << 22) + 37
        var large = [Float](repeating: -1, count: n * per)
        for i in (r * per)..<((r + 1) * per) { large[i] = Float(i % 1000 + r * 1000) }
        try large.withUnsafeMutableBufferPointer { try world.allgather(inPlace: $0, slices: (0..<n).map { ($0 * per)..<(($0 + 1) * per) }) }
        rec.values["allgather.inplace.large"] = [large.indices.allSatisfy { large[$0] == Float($0 % 1000 + ($0 / per) * 1000) } ? 1 : 0]

        // Point to point: a ring, then every rank reporting to rank 0 (the work-queue pattern).
        try world.send([Int64(r), Int64(2 * r)], to: (r + 1) % n, tag: 7)
        let ring = try world.receive(Int64.self, from: (r + n - 1) % n, tag: 7)
        rec.values["ring"] = ring.values.map(Double.init) + [Double(ring.source), Double(ring.tag)]
        try world.send([Int64(3 * r)], to: 0, tag: 100 + r)
        if r == 0 {
            var messages: [(Int, Int, Int64)] = []
            for _ in 0..<n {
                let m = try world.receive(Int64.self)
                messages.append((m.source, m.tag, m.values[0]))
            }
            rec.values["toRoot"] = messages.sorted { $0.0 < $1.0 }.flatMap { [Double($0.0), Double($0.1), Double($0.2)] }
        }
        try world.barrier()

        // A large buffer: element i of rank r is (i mod 1024) + r, exact in Float.
        let count = bigMegabytes * 1024 * 1024 / MemoryLayout<Float>.size
        var big = [Float](unsafeUninitializedCapacity: count) { buf, c in
            for i in 0..<count { buf[i] = Float(i % 1024 + r) }
            c = count
        }
        try world.allreduce(&big, op: .sum)
        rec.values["big.count"] = [Double(big.count)]
        rec.digests["big.sum"] = String(fnv1a(big), radix: 16)

        let url = URL(fileURLWithPath: out).appendingPathComponent("rank-\(r).json")
        try JSONEncoder().encode(rec).write(to: url, options: .atomic)
        try world.barrier()
    }

    /// Allreduce (in place and out of place) and reduce, for every op and length.
    private func reductions<T: MPIScalar & Numeric>(
        _: T.Type, _ name: String, scale: Double, _ world: Communicator, _ rec: inout Record
    ) throws where T: LosslessConvertibleToDouble {
        for length in Self.lengths {
            let input = Self.input(length: length, rank: world.rank, scale: scale).map(T.init(testValue:))
            for op in ReduceOp.allCases {
                var inPlace = input
                try world.allreduce(&inPlace, op: op)
                rec.values["allreduce.inplace.\(name).\(op).\(length)"] = inPlace.map(\.asDouble)
                let copy = input
                let outOfPlace = try world.allreduced(copy, op: op)
                rec.values["allreduce.outofplace.\(name).\(op).\(length)"] = outOfPlace.map(\.asDouble)
                rec.values["allreduce.outofplace.unchanged.\(name).\(op).\(length)"] = [copy == input ? 1 : 0]
                if let reduced = try world.reduce(input, op: op, root: world.size - 1) {
                    rec.values["reduce.\(name).\(op).\(length)"] = reduced.map(\.asDouble)
                }
            }
        }
    }
}

/// Conversions between Double and the element types, exact for the test's small integers.
protocol LosslessConvertibleToDouble: Equatable {
    init(testValue value: Double)
    var asDouble: Double { get }
}
extension Float: LosslessConvertibleToDouble {
    init(testValue value: Double) { self = Float(value) }
    var asDouble: Double { Double(self) }
}
extension Double: LosslessConvertibleToDouble {
    init(testValue value: Double) { self = value }
    var asDouble: Double { self }
}
extension Int32: LosslessConvertibleToDouble {
    init(testValue value: Double) { self = Int32(value) }
    var asDouble: Double { Double(self) }
}
extension Int64: LosslessConvertibleToDouble {
    init(testValue value: Double) { self = Int64(value) }
    var asDouble: Double { Double(self) }
}

/// FNV-1a over the bytes of a Float array: a digest the test recomputes independently.
func fnv1a(_ values: [Float]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    values.withUnsafeBytes { bytes in
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
    }
    return hash
}

/// Runs a WorkQueue over `--items` items (skipping `--done`, as a resumed run does), each
/// taking (item mod 5) ms; writes per rank the items it worked on and, on rank 0, the
/// finished log (item, rank) in the order rank 0 recorded it.
struct WorkQueueSelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "workqueue")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Directory for rank-<r>.json.")
    var out: String

    @Option(help: "Number of work items.")
    var items = 40

    @Option(parsing: .upToNextOption, help: "Items already finished (left out of the queue).")
    var done: [Int] = []

    struct Record: Codable {
        var worked: [Int] = []
        var finishedLog: [[Int]] = []
    }

    func run() throws {
        let world = try ClusterContext(global, label: "xtf-testbench").world
        let log = Mutex<[[Int]]>([])
        let skip = Set(done)
        let queue = try WorkQueue(world: world, items: (0..<items).filter { !skip.contains($0) }) { item, rank in
            log.withLock { $0.append([item, rank]) }
        }
        var record = Record()
        var previous: Int?
        while let item = try queue.next(finished: previous) {
            usleep(UInt32(item % 5) * 1000)
            record.worked.append(item)
            previous = item
        }
        try queue.finish()
        record.finishedLog = log.withLock { $0 }
        let url = URL(fileURLWithPath: out).appendingPathComponent("rank-\(world.rank).json")
        try JSONEncoder().encode(record).write(to: url, options: .atomic)
    }
}

/// Runs GradientReducer steps the way a backward pass does (ranges final from the end of
/// the buffer towards the start, some ranks with nothing to contribute); writes per rank
/// the reduced buffers' digests and the summed extras.
struct GradientReducerSelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gradients")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Directory for rank-<r>.json.")
    var out: String

    @Option(help: "Gradient elements.")
    var elements = 1_000_003

    @Option(help: "Bucket size in bytes.")
    var bucketBytes = 256 << 10

    struct Record: Codable {
        var steps: [[String: Double]] = []
        var digests: [String] = []
    }

    func run() throws {
        let world = try ClusterContext(global, label: "xtf-testbench").world
        let r = world.rank
        var gradients = [Float](repeating: 0, count: elements)
        var record = Record()
        try gradients.withUnsafeMutableBufferPointer { buffer in
            let reducer = try GradientReducer(world: world, gradients: buffer, bucketBytes: bucketBytes, extras: 2)
            defer { reducer.close() }
            for step in 0..<3 {
                reducer.beginStep()
                // Step 1: rank 1 has no unmasked token: it skips its backward entirely.
                let idle = step == 1 && r == 1
                for i in 0..<elements { buffer[i] = idle ? 0 : Float((i + 7 * r + step) % 64) }
                // Step 2 sets the extras after the gradients: the last bucket must wait for them.
                if step != 2 { reducer.setExtras([idle ? 0 : Float(10 + r), Float(step)]) }
                if !idle {
                    // "Layers" of uneven sizes, finished last to first.
                    var end = elements
                    var layer = 0
                    while end > 0 {
                        let start = max(0, end - (20_000 + 7_919 * (layer % 5)))
                        reducer.markReady(start..<end)
                        end = start
                        layer += 1
                    }
                }
                if step == 2 { reducer.setExtras([Float(10 + r), Float(step)]) }
                let (extras, timing) = try reducer.finish()
                record.steps.append(["tokens": Double(extras[0]), "step": Double(extras[1]),
                                     "communication": timing.communication, "exposed": timing.exposed])
                record.digests.append(String(fnv1a(Array(buffer)), radix: 16))
            }
        }
        let url = URL(fileURLWithPath: out).appendingPathComponent("rank-\(r).json")
        try JSONEncoder().encode(record).write(to: url, options: .atomic)
    }
}
