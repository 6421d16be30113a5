import Artifacts
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file of the run, as the manifest and the progress log record it.
public struct FileRecord: Codable, Equatable, Sendable {
    public var path: String
    public var bytes: Int
    public var sha256: String

    /// Reads the file under `root` and records its size and checksum.
    public static func of(_ relative: String, in layout: RunLayout) throws -> FileRecord {
        let full = layout.path(relative)
        let size = (try FileManager.default.attributesOfItem(atPath: full)[.size] as? NSNumber)?.intValue ?? 0
        return FileRecord(path: relative, bytes: size, sha256: try SHA256.hex(ofFile: full))
    }

    /// Whether the file is still there with the same bytes.
    public func matches(in layout: RunLayout) -> Bool {
        (try? FileRecord.of(path, in: layout)) == self
    }
}

/// One finished chunk, as a line of progress.jsonl.
public struct ChunkRecord: Codable, Equatable, Sendable {
    public var chunk: Int
    public var rank: Int
    public var records: Int
    public var scored: Int
    public var rejected: Int
    public var truncatedSamples: Int
    /// Tokens the model read for this chunk (prompts and responses).
    public var tokens: Int
    public var files: [FileRecord]
    /// Seconds the rank spent on the chunk (from its previous report to this one, as rank 0
    /// saw it), and when it finished, in seconds after the scoring job started. nil in runs
    /// made before chunks were timed.
    public var seconds: Double?
    public var finishedAt: Double?

    enum CodingKeys: String, CodingKey {
        case chunk, rank, records, scored, rejected, files, tokens, seconds
        case truncatedSamples = "truncated_samples"
        case finishedAt = "finished_at"
    }
}

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
        try AtomicFile.write(try jsonLines(records.sorted { $0.chunk < $1.chunk }), to: layout.progress)
    }

    public func append(_ record: ChunkRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = Array(try encoder.encode(record)) + [UInt8(ascii: "\n")]
        let fd = open(layout.progress, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArtifactError.io(path: layout.progress, operation: "open", errno: errno) }
        defer { close(fd) }
        let written = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, line.count) }
        guard written == line.count else { throw ArtifactError.io(path: layout.progress, operation: "append", errno: errno) }
        guard fsync(fd) == 0 else { throw ArtifactError.io(path: layout.progress, operation: "fsync", errno: errno) }
    }
}
