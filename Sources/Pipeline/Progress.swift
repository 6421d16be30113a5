import Artifacts
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The append-only log of finished chunks: rank 0 appends a line as each chunk finishes, so a
/// killed run knows what it has.
public struct ProgressLog: Sendable {
    public let layout: RunLayout
    private var log: AppendLog<ChunkRecord> { AppendLog(path: layout.progress) }

    /// The chunks whose files are all still present and unchanged.
    public func finishedChunks() -> [Int: ChunkRecord] {
        var done: [Int: ChunkRecord] = [:]
        for record in log.records() where record.files.allSatisfy({ $0.matches(in: layout) }) { done[record.chunk] = record }
        return done
    }

    /// Rewrites the log with only `records`: run on resume, so a torn last line from a killed
    /// run can never merge with the next appended one.
    public func rewrite(_ records: [ChunkRecord]) throws {
        try log.rewrite(records.sorted { $0.chunk < $1.chunk })
    }

    public func append(_ record: ChunkRecord) throws { try log.append(record) }
}
