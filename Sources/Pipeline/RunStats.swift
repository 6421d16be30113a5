import Artifacts
import Foundation
import Scoring

// How the scoring run makes its stats.json and manifest.json (their types: RunFiles).
extension RunStats {
    init(report: StatsReport, histograms: ScoreHistograms, encoder: any TextEncoder, scoreSettings: ScoreSettings) {
        self.init(report: report, histograms: histograms, topFlaggedTokenText: report.topFlaggedTokens.map { encoder.tokenText($0.tokenId) },
                  riVariant: scoreSettings.riVariant, uniformRelative: scoreSettings.uniformRelative, task: scoreSettings.task,
                  domainWords: scoreSettings.domainWords, domainWordForm: scoreSettings.domainWordForm, trDomain: scoreSettings.trDomain)
    }
}

extension Manifest {
    init(layout: RunLayout, plan: MaskJob.Plan) throws {
        let totals: Totals, rejected: [RejectedEntry]
        let chunks = plan.chunks
        totals = Totals(records: chunks.reduce(0) { $0 + $1.records }, scored: chunks.reduce(0) { $0 + $1.scored },
                        rejected: chunks.reduce(0) { $0 + $1.rejected },
                        truncatedSamples: chunks.reduce(0) { $0 + $1.truncatedSamples })
        rejected = try chunks.flatMap { c in
            try JSONFiles.readLines(IndexEntry.self, from: layout.path(layout.indexFile(c.chunk))).compactMap { e in
                e.rejected.map { RejectedEntry(id: e.id, line: e.line, reason: $0) }
            }
        }
        var names: [String] = ["settings.json", "tr.safetensors", "mask-settings.json", "stats.json", "masked.jsonl", "tokens.jsonl"]
        for c in chunks {
            names += [layout.scoresFile(c.chunk), layout.indexFile(c.chunk), layout.maskFile(c.chunk)]
        }
        let files = try names.map { try FileRecord.of($0, in: layout) }
        self.init(totals: totals, rejected: rejected, chunks: chunks, outputs: files)
    }
}
