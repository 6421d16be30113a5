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

    public init(report: StatsReport, histograms: ScoreHistograms, topFlaggedTokenText: [String], riVariant: RIVariant,
                uniformRelative: Bool, task: Task, domainWords: [String], domainWordForm: DomainWordForm?, trDomain: TRDomain?) {
        self.report = report; self.histograms = histograms; self.topFlaggedTokenText = topFlaggedTokenText
        self.riVariant = riVariant; self.uniformRelative = uniformRelative; self.task = task
        self.domainWords = domainWords; self.domainWordForm = domainWordForm; self.trDomain = trDomain
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
