import Artifacts
import Foundation

/// A file of the run, as the manifest and the progress log record it.
public struct FileRecord: Codable, Equatable, Sendable {
    public var path: String
    public var bytes: Int
    public var sha256: String

    public init(path: String, bytes: Int, sha256: String) {
        self.path = path; self.bytes = bytes; self.sha256 = sha256
    }

    /// Reads the file `relative` under the directory `root` and records its size and checksum.
    public static func of(_ relative: String, under root: String) throws -> FileRecord {
        let full = (root as NSString).appendingPathComponent(relative)
        let size = (try FileManager.default.attributesOfItem(atPath: full)[.size] as? NSNumber)?.intValue ?? 0
        return FileRecord(path: relative, bytes: size, sha256: try FileDigest.sha256Hex(ofFile: full))
    }

    public static func of(_ relative: String, in layout: RunLayout) throws -> FileRecord { try of(relative, under: layout.root) }

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

    public init(chunk: Int, rank: Int, records: Int, scored: Int, rejected: Int, truncatedSamples: Int, tokens: Int,
                files: [FileRecord], seconds: Double? = nil, finishedAt: Double? = nil) {
        self.chunk = chunk; self.rank = rank; self.records = records; self.scored = scored; self.rejected = rejected
        self.truncatedSamples = truncatedSamples; self.tokens = tokens; self.files = files; self.seconds = seconds
        self.finishedAt = finishedAt
    }

    enum CodingKeys: String, CodingKey {
        case chunk, rank, records, scored, rejected, files, tokens, seconds
        case truncatedSamples = "truncated_samples"
        case finishedAt = "finished_at"
    }
}
