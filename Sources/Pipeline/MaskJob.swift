import Artifacts
import Cluster
import Data
import Foundation
import Logging
import Scoring

/// Phases 2 and 3 of a run: from the stored scores, the cluster-wide thresholds, the masks,
/// the statistics and the outputs. Cheap next to scoring, so `xtf mask` reruns it with other
/// settings.
///
/// Chunk i is handled by rank i mod size. Every rank accumulates fixed-bin histograms of its
/// chunks' scores; one Int64 all-reduce merges them exactly, rank 0 computes the multi-Otsu
/// TR thresholds and broadcasts them; every rank masks its chunks and accumulates the noise
/// statistics, merged by a second all-reduce. No per-token data crosses ranks. Rank 0 then
/// writes stats.json and joins the per-chunk output parts in chunk order.
public struct MaskJob {
    public let layout: RunLayout
    public let world: Communicator
    public let settings: MaskSettings
    public let encoder: any TextEncoder
    public let log: Logger

    public init(layout: RunLayout, world: Communicator, settings: MaskSettings, encoder: any TextEncoder, log: Logger) {
        self.layout = layout; self.world = world; self.settings = settings; self.encoder = encoder; self.log = log
    }

    struct Plan: Codable {
        var scoreSettings: ScoreSettings
        /// The mask settings, with how RI was computed taken from the scoring run.
        var settings: MaskSettings
        var chunks: [ChunkRecord]
    }

    /// Collective. Returns the dataset-wide statistics (on every rank).
    @discardableResult
    public func run() throws -> RunStats {
        let plan = try world.decidedByRoot { try prepare() }
        let tr = try TaskRelevanceTable.read(layout)
        let mine = plan.chunks.indices.filter { $0 % world.size == world.rank }.map { plan.chunks[$0].chunk }
        let histogramLayout = try HistogramLayouts.standard(riUpper: plan.scoreSettings.uniformRelative ? 8 : 1)

        // Pass 1: score histograms, merged exactly.
        let histograms = try world.allSucceed { () -> ScoreHistograms in
            var h = ScoreHistograms(layout: histogramLayout)
            for chunk in mine {
                for sample in try read(chunk).sampleScores(tr: tr, unscored: encoder.isSpecial) { h.add(sample) }
            }
            return h
        }
        var packed = histograms.pack()
        try world.allreduce(&packed, op: .sum)
        let merged = try ScoreHistograms(unpacking: packed, layout: histogramLayout)

        // Thresholds: rank 0 computes them from the merged TR histogram and broadcasts them.
        var settings = plan.settings
        let thresholds: OtsuThresholds? = try world.decidedByRoot { [settings] in
            settings.isActive(.tr) ? try merged.trThresholds(classes: settings.otsuClasses) : nil
        }
        if let thresholds, settings.trClassRule == .official {
            settings.flagClasses = TRClassChoice.official(histogram: merged[.tr], thresholds: thresholds, weight: settings.trWeight)
        }
        let clauseEnds = settings.spanClosure == nil ? [] : (0..<encoder.vocabularySize).map { Masker.endsClause(text: encoder.tokenText(Int32($0))) }
        let masker = try Masker(settings: settings, trThresholds: thresholds,
                                protectedIds: try protectedIds(settings: settings, thresholds: thresholds, chunks: mine, tr: tr, clauseEnds: clauseEnds),
                                clauseEnds: clauseEnds)

        // Pass 2: masks, per-chunk outputs and noise statistics.
        let statisticsLayout = try StatisticsLayout(vocabularySize: encoder.vocabularySize,
                                                    sensitivity: .standard(otsuClasses: settings.otsuClasses))
        let statistics = try world.allSucceed { () -> NoiseStatistics in
            var s = NoiseStatistics(layout: statisticsLayout)
            for chunk in mine { try maskChunk(chunk, masker: masker, tr: tr, statistics: &s) }
            return s
        }
        var packedStatistics = statistics.pack()
        try world.allreduce(&packedStatistics, op: .sum)
        let mergedStatistics = try NoiseStatistics(unpacking: packedStatistics, layout: statisticsLayout)
        let report = StatsReport(histograms: merged, statistics: mergedStatistics, masker: masker)
        let stats = RunStats(report: report, histograms: merged, encoder: encoder, scoreSettings: plan.scoreSettings)

        _ = try world.decidedByRoot { () -> Bool in
            try writeOutputs(plan: plan, stats: stats)
            return true
        }
        return stats
    }

    /// The coverage guard's ids: those the rules mask in more than `coverageGuard` of their
    /// response occurrences, counted over the whole dataset (an exact Int64 all-reduce, so the
    /// set is the same for any number of ranks). Collective when the guard is on.
    func protectedIds(settings: MaskSettings, thresholds: OtsuThresholds?, chunks: [Int], tr: [Float], clauseEnds: [Bool]) throws -> Set<Int32> {
        guard let share = settings.coverageGuard else { return [] }
        let rules = try Masker(settings: settings, trThresholds: thresholds, clauseEnds: clauseEnds)
        let vocabulary = encoder.vocabularySize
        var counts = try world.allSucceed { () -> [Int64] in
            // Occurrences, then masked occurrences, per id.
            var counts = [Int64](repeating: 0, count: 2 * vocabulary)
            for chunk in chunks {
                for sample in try read(chunk).sampleScores(tr: tr, unscored: encoder.isSpecial) {
                    let mask = rules.ruleMask(sample)
                    for (id, flags) in zip(sample.tokenIds, mask.flags) where id >= 0 && Int(id) < vocabulary {
                        counts[Int(id)] += 1
                        if !flags.isEmpty { counts[vocabulary + Int(id)] += 1 }
                    }
                }
            }
            return counts
        }
        try world.allreduce(&counts, op: .sum)
        return Set((0..<vocabulary).filter { counts[$0] > 0 && Double(counts[vocabulary + $0]) > share * Double(counts[$0]) }.map { Int32($0) })
    }

    /// Rank 0: the scored chunks (all of them must be), the scoring settings, the mask settings saved.
    func prepare() throws -> Plan {
        try settings.validate()
        let scoreSettings = try ScoreSettings.read(layout)  // first: a mistyped run path is not created by the lock
        // The masks go into the scoring run: one writer at a time there too.
        let directory = OutputDirectory(layout.root, kind: .scoring, settingsFile: "settings.json")
        try directory.lock()
        // Masking writes masks/ and parts/ (an xtf run arm's scores/ is its link to the run's scores, only read).
        try directory.refuseSymlinkedFolders(["masks", "parts"])
        try directory.removeOrphanedTemporaryFiles()
        let expected = try Dataset(scoreSettings.data).chunks(recordsPerChunk: scoreSettings.recordsPerChunk).count
        let finished = ProgressLog(layout: layout).finishedChunks()
        if let missing = (0..<expected).first(where: { finished[$0] == nil }) {
            throw PipelineError.corruptRun(path: layout.progress, reason: "chunk \(missing) of \(expected) is not scored (or its files changed): run `xtf score --resume` first")
        }
        if settings.knScore == .promptGain, settings.isActive(.kn), scoreSettings.promptFreePCP != true {
            throw PipelineError.invalidSetting(field: "kn-score", reason: "prompt-gain needs the PCP without the prompt: score the run with --prompt-free-pcp")
        }
        var effective = settings
        effective.riVariant = scoreSettings.riVariant
        effective.uniformRelative = scoreSettings.uniformRelative
        try AtomicFile.writeJSON(effective, to: layout.maskSettings)
        for directory in ["masks", "parts"] {
            try FileManager.default.createDirectory(atPath: layout.path(directory), withIntermediateDirectories: true)
        }
        return Plan(scoreSettings: scoreSettings, settings: effective, chunks: (0..<expected).map { finished[$0]! })
    }

    func read(_ chunk: Int) throws -> ChunkScores {
        try ChunkScores.read(scores: layout.path(layout.scoresFile(chunk)), index: layout.path(layout.indexFile(chunk)))
    }

    /// Masks one chunk; writes its flags and its parts of masked.jsonl and tokens.jsonl.
    func maskChunk(_ chunk: Int, masker: Masker, tr: [Float], statistics: inout NoiseStatistics) throws {
        let scores = try read(chunk)
        let all = try scores.sampleScores(tr: tr, unscored: encoder.isSpecial)
        var flags: [UInt8] = []
        var masked: [MaskedRecord] = []
        var tokens: [TokenRecord] = []
        for (sample, sampleScores) in zip(scores.samples, all) {
            let mask = try statistics.add(sampleScores, masker: masker)
            flags += mask.flags.map(\.rawValue)
            masked.append(MaskedRecord(sample: sample, mask: mask))
            tokens.append(TokenRecord(sample: sample, scores: sampleScores, mask: mask, encoder: encoder))
        }
        var writer = SafetensorsWriter(metadata: ["format": "xtf-mask-1", "flags": "bit 0 ri, bit 1 kn, bit 2 tr"])
        writer.add("flags", shape: [flags.count], uint8s: flags)
        try writer.write(to: layout.path(layout.maskFile(chunk)))
        try AtomicFile.writeJSONLines(masked, to: layout.path(layout.maskedPart(chunk)))
        try AtomicFile.writeJSONLines(tokens, to: layout.path(layout.tokensPart(chunk)))
    }

    /// Rank 0: stats.json, the joined outputs, and the manifest listing every file.
    func writeOutputs(plan: Plan, stats: RunStats) throws {
        try AtomicFile.writeJSON(stats, to: layout.stats)
        for (output, part) in [(layout.masked, layout.maskedPart), (layout.tokens, layout.tokensPart)] {
            let file = try AtomicFile(path: output)
            for record in plan.chunks {
                guard let bytes = FileManager.default.contents(atPath: layout.path(part(record.chunk))) else {
                    throw PipelineError.corruptRun(path: layout.path(part(record.chunk)), reason: "missing")
                }
                try file.write(bytes)
            }
            try file.commit()
        }
        try AtomicFile.writeJSON(try Manifest(layout: layout, plan: plan), to: layout.manifest)
    }
}

extension MaskedRecord {
    /// The tokens only read and every flagged response token without a loss (-100).
    init(sample: TokenizedSample, mask: SampleMask) {
        self.init(id: sample.id, inputIds: sample.ids, labels: sample.labels(dropping: mask.flags.map { !$0.isEmpty }))
    }
}

extension TokenRecord {
    init(sample: TokenizedSample, scores: SampleScores, mask: SampleMask, encoder: any TextEncoder) {
        func json(_ values: [Float]) -> [Float?] { values.map { $0.isFinite ? $0 : nil } }
        self.init(id: sample.id, tokenIds: scores.tokenIds, tokens: scores.tokenIds.map(encoder.tokenText),
                  pcp: json(scores.pcp), ri: json(scores.ri), tr: json(scores.tr),
                  flags: mask.flags.map { $0.attributes.map(\.rawValue).joined(separator: "+") }, promptGain: scores.promptGain.map(json))
    }
}
