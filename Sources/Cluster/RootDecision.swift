/// An error every rank of the job raised together, at the same collective step: no rank is
/// left waiting, so the job can end cleanly instead of aborting. Rank 0 carries the cause;
/// the other ranks carry only the fact (the entry point prints the cause once, from rank 0).
public struct CollectiveError: Error, CustomStringConvertible {
    public let message: String
    public let isRoot: Bool

    public var description: String { message }
}

extension Communicator {
    private enum Outcome<T: Codable>: Codable {
        case value(T)
        case failure(String)
    }

    /// Runs `body` on rank 0 only and hands its result to every rank. If it throws, every
    /// rank throws a `CollectiveError` (rank 0's names the cause), so no rank is left in a
    /// later collective waiting for rank 0.
    public func decidedByRoot<T: Codable>(_ body: () throws -> T) throws -> T {
        var outcome: Outcome<T>?
        if isRoot {
            do { outcome = .value(try body()) } catch { outcome = .failure("\(error)") }
        }
        switch try broadcast(value: outcome) {
        case let .value(v): return v
        case let .failure(message): throw CollectiveError(message: message, isRoot: isRoot)
        }
    }

    /// Every rank runs `body`; if it throws on any rank, every rank throws a
    /// `CollectiveError` naming the lowest failing rank's cause (on rank 0).
    public func allSucceed<T>(_ body: () throws -> T) throws -> T {
        var result: Result<T, Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        let failed: Int32 = if case .failure = result { 1 } else { 0 }
        let failedRanks = try allgather([failed])
        guard let first = failedRanks.firstIndex(of: 1) else { return try result.get() }
        var message: String? = nil
        if rank == first, case let .failure(error) = result { message = "[rank \(rank)] \(error)" }
        let cause = try broadcast(value: message, root: first)
        throw CollectiveError(message: cause, isRoot: isRoot)
    }
}
