import Foundation
import Synchronization

/// Rank 0 hands out work items to whichever rank asks next, so long and short items balance
/// themselves, and works on items itself between requests.
///
/// Each rank loops `while let item = try queue.next(finished: previous) { ... }`. A request
/// carries the item the rank just finished, so rank 0 learns of every finished item (for its
/// manifest) without extra messages. Rank 0 answers requests on a coordinator thread over a
/// duplicated communicator, so queue traffic never meets the main thread's messages.
public final class WorkQueue: @unchecked Sendable {
    private let world: Communicator
    private let channel: Communicator
    private struct State {
        var pending: [Int]
        var next = 0
    }
    private let state: Mutex<State>
    /// Called on rank 0, one call at a time, for every finished item and the rank that did it.
    private let onFinished: @Sendable (_ item: Int, _ rank: Int) throws -> Void
    private var coordinator: Thread?
    private let coordinatorDone = DispatchSemaphore(value: 0)
    private let coordinatorError = Mutex<Error?>(nil)
    private let finishLock = NSLock()

    static let requestTag = 1, replyTag = 2

    /// Collective. `items` matters on rank 0 only (the others learn items one at a time).
    public init(world: Communicator, items: [Int],
                onFinished: @escaping @Sendable (_ item: Int, _ rank: Int) throws -> Void = { _, _ in }) throws {
        self.world = world
        self.channel = try world.duplicate()
        self.state = Mutex(State(pending: world.isRoot ? items : []))
        self.onFinished = onFinished
        if world.isRoot && world.size > 1 {
            let thread = Thread { [self] in
                do { try serveRequests() } catch { coordinatorError.withLock { $0 = error } }
                coordinatorDone.signal()
            }
            thread.name = "xtf-coordinator"
            coordinator = thread
            thread.start()
        }
    }

    /// Reports `finished` (if any) and returns the next item for this rank, or nil when no
    /// work is left.
    public func next(finished: Int?) throws -> Int? {
        if world.isRoot {
            if let finished { try record(finished, rank: 0) }
            if let error = coordinatorError.withLock({ $0 }) { throw error }
            return take()
        }
        try channel.send([Int64(finished ?? -1)], to: 0, tag: Self.requestTag)
        let reply = try channel.receive(Int64.self, from: 0, tag: Self.replyTag)
        return reply.values[0] < 0 ? nil : Int(reply.values[0])
    }

    /// Collective: returns on every rank once every rank has run out of work, and every
    /// finished item has been recorded on rank 0.
    public func finish() throws {
        if coordinator != nil {
            coordinatorDone.wait()
            if let error = coordinatorError.withLock({ $0 }) { throw error }
        }
        try world.barrier()
    }

    private func take() -> Int? {
        state.withLock { s in
            guard s.next < s.pending.count else { return nil }
            defer { s.next += 1 }
            return s.pending[s.next]
        }
    }

    private func record(_ item: Int, rank: Int) throws {
        finishLock.lock()
        defer { finishLock.unlock() }
        try onFinished(item, rank)
    }

    /// Rank 0's coordinator: answers requests until every other rank has been told to stop.
    private func serveRequests() throws {
        var stopped = 0
        while stopped < world.size - 1 {
            try channel.waitForMessage(tag: Self.requestTag)
            let request = try channel.receive(Int64.self, tag: Self.requestTag)
            if request.values[0] >= 0 { try record(Int(request.values[0]), rank: request.source) }
            let item = take()
            if item == nil { stopped += 1 }
            try channel.send([Int64(item ?? -1)], to: request.source, tag: Self.replyTag)
        }
    }
}
