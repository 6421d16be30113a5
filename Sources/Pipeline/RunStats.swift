import Foundation
import Scoring

/// stats.json: the dataset-wide statistics, plus what a reader needs to interpret them
/// (the token texts of the most flagged ids, how RI was computed).
public struct RunStats: Codable, Sendable {
    public let report: StatsReport
    /// The merged fixed-bin histograms of the three raw scores over all response tokens.
    public let histograms: ScoreHistograms
    /// Text of each of `report.topFlaggedTokens`, in the same order.
    public let topFlaggedTokenText: [String]
    public let riVariant: RIVariant
    public let uniformRelative: Bool
    public let task: Task
    public let domainWords: [String]
    /// nil in runs made before the form was a setting (they used the bare form).
    public let domainWordForm: DomainWordForm?
    public let trDomain: TRDomain?

    init(report: StatsReport, histograms: ScoreHistograms, encoder: any TextEncoder, scoreSettings: ScoreSettings) {
        self.report = report
        self.histograms = histograms
        topFlaggedTokenText = report.topFlaggedTokens.map { encoder.tokenText($0.tokenId) }
        riVariant = scoreSettings.riVariant
        uniformRelative = scoreSettings.uniformRelative
        task = scoreSettings.task
        domainWords = scoreSettings.domainWords
        domainWordForm = scoreSettings.domainWordForm
        trDomain = scoreSettings.trDomain
    }

    /// The short human summary rank 0 prints.
    public var summary: String {
        let r = report
        func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
        var lines = ["\(r.samples) samples, \(r.responseTokens) response tokens, \(r.maskedTokens) masked (\(percent(r.maskedFraction)))"]
        for a in r.attributes {
            lines.append("  \(a.attribute.rawValue): \(a.active ? "" : "(inactive) ")flagged \(a.flagged) (\(percent(a.flaggedFraction))), rule before caps \(a.flaggedByRule)")
        }
        if let t = r.trThresholds {
            lines.append("  TR multi-Otsu thresholds: " + t.map { String(format: "%.4f", $0) }.joined(separator: ", "))
        }
        let top = zip(r.topFlaggedTokens, topFlaggedTokenText).prefix(10).map { "\($1.debugDescription)x\($0.flagged)" }
        if !top.isEmpty { lines.append("  most flagged: " + top.joined(separator: " ")) }
        return lines.joined(separator: "\n")
    }
}

/// manifest.json: every output of the run with its size and checksum, and the record totals
/// (records read = scored + rejected), with every rejected record and its reason.
public struct Manifest: Codable, Sendable {
    public struct Totals: Codable, Sendable {
        public var records: Int
        public var scored: Int
        public var rejected: Int
        public var truncatedSamples: Int
    }

    public var totals: Totals
    public var rejected: [RejectedEntry]
    public var chunks: [ChunkRecord]
    public var outputs: [FileRecord]

    public struct RejectedEntry: Codable, Sendable {
        public var id: String
        public var line: Int
        public var reason: String
    }

    init(layout: RunLayout, plan: MaskJob.Plan) throws {
        let chunks = plan.chunks
        totals = Totals(records: chunks.reduce(0) { $0 + $1.records }, scored: chunks.reduce(0) { $0 + $1.scored },
                        rejected: chunks.reduce(0) { $0 + $1.rejected },
                        truncatedSamples: chunks.reduce(0) { $0 + $1.truncatedSamples })
        rejected = try chunks.flatMap { c in
            try readJSONLines(IndexEntry.self, from: layout.path(layout.indexFile(c.chunk))).compactMap { e in
                e.rejected.map { RejectedEntry(id: e.id, line: e.line, reason: $0) }
            }
        }
        self.chunks = chunks
        var outputs: [String] = ["settings.json", "tr.safetensors", "mask-settings.json", "stats.json", "masked.jsonl", "tokens.jsonl"]
        for c in chunks {
            outputs += [layout.scoresFile(c.chunk), layout.indexFile(c.chunk), layout.maskFile(c.chunk)]
        }
        self.outputs = try outputs.map { try FileRecord.of($0, in: layout) }
    }
}
