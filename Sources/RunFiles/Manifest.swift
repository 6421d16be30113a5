import Foundation

/// manifest.json: every output of the run with its size and checksum, and the record totals
/// (records read = scored + rejected), with every rejected record and its reason.
public struct Manifest: Codable, Sendable {
    public struct Totals: Codable, Sendable {
        public var records: Int
        public var scored: Int
        public var rejected: Int
        public var truncatedSamples: Int

        public init(records: Int, scored: Int, rejected: Int, truncatedSamples: Int) {
            self.records = records; self.scored = scored; self.rejected = rejected; self.truncatedSamples = truncatedSamples
        }
    }

    public var totals: Totals
    public var rejected: [RejectedEntry]
    public var chunks: [ChunkRecord]
    public var outputs: [FileRecord]

    public struct RejectedEntry: Codable, Sendable {
        public var id: String
        public var line: Int
        public var reason: String

        public init(id: String, line: Int, reason: String) { self.id = id; self.line = line; self.reason = reason }
    }

    public init(totals: Totals, rejected: [RejectedEntry], chunks: [ChunkRecord], outputs: [FileRecord]) {
        self.totals = totals; self.rejected = rejected; self.chunks = chunks; self.outputs = outputs
    }
}
