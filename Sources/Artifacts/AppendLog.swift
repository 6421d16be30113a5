import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A JSONL file written a line at a time as things happen (finished chunks, training steps),
/// so that it can be watched while a run goes and a killed run knows how far it got. Each
/// line is one write(2) followed by fsync; a torn last line (a kill mid-write) is skipped by
/// `records` and dropped by `rewrite`, which a resuming run calls before it appends again.
public struct AppendLog<Record: Codable>: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Every whole line that decodes as a `Record`, in file order; none if the file is missing.
    public func records() -> [Record] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(Record.self, from: Data($0)) }
    }

    /// Replaces the file with exactly `records`, atomically.
    public func rewrite(_ records: [Record]) throws {
        try AtomicFile.writeJSONLines(records, to: path)
    }

    public func append(_ record: Record) throws {
        let line = try JSONFiles.line(record)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArtifactError.io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        let written = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, line.count) }
        guard written == line.count else { throw ArtifactError.io(path: path, operation: "append", errno: errno) }
        guard fsync(fd) == 0 else { throw ArtifactError.io(path: path, operation: "fsync", errno: errno) }
    }
}
