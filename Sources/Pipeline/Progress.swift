import Artifacts
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The append-only log of finished chunks. Rank 0 appends a line (and fsyncs) as each chunk
/// finishes, so a killed run knows what it has; a torn last line (killed mid-write) is ignored.
public struct ProgressLog: Sendable {
    public let layout: RunLayout

    /// The chunks whose files are all still present and unchanged.
    public func finishedChunks() -> [Int: ChunkRecord] {
        guard let data = FileManager.default.contents(atPath: layout.progress) else { return [:] }
        var done: [Int: ChunkRecord] = [:]
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let record = try? JSONDecoder().decode(ChunkRecord.self, from: Data(line)) else { continue }
            if record.files.allSatisfy({ $0.matches(in: layout) }) { done[record.chunk] = record }
        }
        return done
    }

    /// Rewrites the log with only `records` (atomically): run on resume, so a torn last
    /// line from a killed run can never merge with the next appended one.
    public func rewrite(_ records: [ChunkRecord]) throws {
        try AtomicFile.writeJSONLines(records.sorted { $0.chunk < $1.chunk }, to: layout.progress)
    }

    public func append(_ record: ChunkRecord) throws {
        let line = try JSONFiles.line(record)
        let fd = open(layout.progress, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArtifactError.io(path: layout.progress, operation: "open", errno: errno) }
        defer { close(fd) }
        let written = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, line.count) }
        guard written == line.count else { throw ArtifactError.io(path: layout.progress, operation: "append", errno: errno) }
        guard fsync(fd) == 0 else { throw ArtifactError.io(path: layout.progress, operation: "fsync", errno: errno) }
    }
}
