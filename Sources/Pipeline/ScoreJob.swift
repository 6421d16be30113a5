import Artifacts
import Cluster
import Data
import Foundation
import Logging
import Scoring

/// Phase 1 of a run: score every response token of the dataset with the frozen base model.
///
/// Rank 0 cuts the dataset into chunks (fixed by the file and `recordsPerChunk`, never by
/// -np) and hands them out through a WorkQueue to whichever rank asks next, scoring chunks
/// itself in between. Each chunk becomes a score file and a record index; a finished chunk
/// is logged in progress.jsonl, so `resume` skips it. A chunk's bytes depend only on the
/// chunk, so the files are the same whichever rank scored them.
public struct ScoreJob {
    public let settings: ScoreSettings
    public let layout: RunLayout
    public let world: Communicator
    public let model: any BaseModel
    public let encoder: any TextEncoder
    /// `settings.template` as the model loader resolved it (one template load per stage).
    public let format: ChatFormat
    public let log: Logger

    public init(settings: ScoreSettings, layout: RunLayout, world: Communicator, model: any BaseModel,
                encoder: any TextEncoder, format: ChatFormat, log: Logger) {
        self.settings = settings; self.layout = layout; self.world = world
        self.model = model; self.encoder = encoder; self.format = format; self.log = log
    }

    /// What the coordinator decided before scoring: the chunk plan and what is left to do.
    struct Plan: Codable {
        var chunks: [Chunk]
        var pending: [Int]
    }

    /// Scores every chunk not yet finished. Collective.
    public func run(resume: Bool) throws {
        let plan = try world.decidedByRoot { try prepare(resume: resume) }
        if plan.pending.count < plan.chunks.count {
            log.info("resuming: \(plan.chunks.count - plan.pending.count) of \(plan.chunks.count) chunks already scored")
        } else {
            log.info("scoring \(plan.chunks.count) chunks on \(world.size) rank(s)")
        }
        let dataset = try Dataset(settings.data)
        if let model = format.modelTemplate { log.info("chat template: the model's own, from \(model.file)") }
        let builder = SampleBuilder(encoder: encoder, format: format,
                                    contextLength: min(settings.maxLength, model.contextLength), endOfText: model.endOfText)
        let progress = ProgressLog(layout: layout)
        let started = Communicator.wallTime()
        let total = plan.pending.count
        let finished = Counter(), tokens = Counter()
        let lastReport = LastReport(started: started)
        let bar = ProgressLine(stage: "score", unit: "chunks", total: total, rank: world.rank)
        defer { bar.finish() }
        let queue = try WorkQueue(world: world, items: plan.pending) { [layout, log] chunk, rank in
            let now = Communicator.wallTime()
            var record = try Self.record(chunk: chunk, rank: rank, layout: layout)
            record.seconds = now - lastReport.swap(rank: rank, now: now)
            record.finishedAt = now - started
            try progress.append(record)
            let n = finished.add(1)
            bar.update(done: n, tokens: tokens.add(record.tokens))
            log.debug("chunk \(chunk) done by rank \(rank) (\(n)/\(total), \(String(format: "%.1f", Communicator.wallTime() - started)) s)")
        }
        // A failure here (a bad record under --on-bad-record fail, a full disk) ends the whole
        // job through MPI_Abort in the entry point: the other ranks cannot finish without it.
        var done: Int?
        while let chunk = try queue.next(finished: done) {
            let scores = try score(plan.chunks[chunk], dataset: dataset, builder: builder)
            try scores.write(scores: layout.path(layout.scoresFile(chunk)), index: layout.path(layout.indexFile(chunk)))
            done = chunk
        }
        try queue.finish()
        try TaskRelevanceTable.build(layout: layout, chunks: plan.chunks.count, world: world, model: model,
                                     encoder: encoder, words: settings.domainWords, form: settings.domainWordForm ?? .bare, domainKind: settings.trDomain ?? .mean)
        let seconds = Communicator.wallTime() - started
        let peaks = try world.gather(value: peakResidentBytes())
        if let peaks, total > 0 {
            let scored = tokens.add(0)
            log.info("scored \(scored) tokens in \(String(format: "%.1f", seconds)) s: \(String(format: "%.0f", Double(scored) / seconds)) tokens/s on \(world.size) rank(s); peak RSS per rank (MiB): \(peaks.map { String($0 >> 20) }.joined(separator: " "))")
        }
    }

    /// Rank 0: checks or creates the run directory, plans the chunks, finds finished ones.
    func prepare(resume: Bool) throws -> Plan {
        try settings.validate()
        let fm = FileManager.default
        let directory = OutputDirectory(layout.root, kind: .scoring, settingsFile: "settings.json")
        let chunks = try Dataset(settings.data).chunks(recordsPerChunk: settings.recordsPerChunk)
        // A run saved with the size written out resumes under the default when they agree (the
        // first chunk is always a whole one).
        _ = try directory.check(settings: settings, resume: resume) { s in
            var s = s
            s.recordsPerChunk = s.recordsPerChunk ?? chunks[0].recordCount
            return s
        }
        // Saved once the data is known to be readable, so a typo in --data leaves --out empty.
        if !fm.fileExists(atPath: layout.settings) { try directory.record(settings) }
        try fm.createDirectory(atPath: layout.path("scores"), withIntermediateDirectories: true)
        let progress = ProgressLog(layout: layout)
        let finished = progress.finishedChunks().filter { $0.key < chunks.count }
        try progress.rewrite(Array(finished.values))
        return Plan(chunks: chunks, pending: chunks.indices.filter { finished[$0] == nil })
    }

    /// Scores one chunk: records -> samples (or rejections) -> batches -> scores.
    func score(_ chunk: Chunk, dataset: Dataset, builder: SampleBuilder) throws -> ChunkScores {
        var result = ChunkScores()
        var samples: [TokenizedSample] = []
        var outcomes: [SampleOutcome] = []
        for record in try dataset.records(in: chunk) {
            let outcome: SampleOutcome
            switch record {
            case let .conversation(c): outcome = try builder.build(c)
            case let .tokens(t): outcome = builder.build(t)
            case let .rejected(r): outcome = .rejected(r)
            }
            switch outcome {
            case let .sample(s): samples.append(s)
            case let .rejected(r): if settings.onBadRecord == .fail { throw dataset.error(for: r) }
            }
            outcomes.append(outcome)
        }
        let scored = try scoreSamples(samples)
        var next = 0
        for outcome in outcomes {
            switch outcome {
            case let .sample(sample):
                result.append(sample, scored[next])
                next += 1
            case let .rejected(r): result.reject(r)
            }
        }
        return result
    }

    /// Every sample's scores; with `promptFreePCP`, also each response's PCP without its
    /// prompt (everything before the first response; later turns between responses stay),
    /// after an end-of-text token as a document boundary (the model's; without one the first
    /// response token has no context and scores NaN).
    func scoreSamples(_ samples: [TokenizedSample]) throws -> [ResponseScores] {
        var scores = try scoreBatches(samples)
        guard settings.promptFreePCP == true else { return scores }
        let prefix = model.endOfText.map { [$0] } ?? []
        let alone = samples.map { s in
            let shift = prefix.count - s.responseStart
            var spans = s.spans.map { ($0.lowerBound + shift)..<($0.upperBound + shift) }
            // Without a boundary token the first response token is the context of the rest.
            if prefix.isEmpty, let first = spans.first {
                spans[0] = (first.lowerBound + 1)..<first.upperBound
                if spans[0].isEmpty { spans.removeFirst() }
            }
            return TokenizedSample(id: s.id, line: s.line, ids: prefix + s.ids[s.responseStart...], spans: spans, truncatedTokens: 0)
        }
        for (i, free) in try scoreBatches(alone).enumerated() {
            scores[i].pcpWithoutPrompt = prefix.isEmpty && samples[i].responseCount > 0 ? [.nan] + free.pcp : free.pcp
        }
        return scores
    }

    /// Batches by length (shortest first, ties in input order) to waste little padding; the
    /// batches depend only on the chunk's samples.
    func scoreBatches(_ samples: [TokenizedSample]) throws -> [ResponseScores] {
        let order = samples.indices.sorted { (samples[$0].ids.count, $0) < (samples[$1].ids.count, $1) }
        var results = [ResponseScores?](repeating: nil, count: samples.count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count, end - start < settings.batchSize,
                  (end - start + 1) * samples[order[end]].ids.count <= settings.batchTokens { end += 1 }
            let batch = order[start..<end].map { samples[$0] }
            let scores = try model.score(batch, layers: settings.riVariant, uniformRelative: settings.uniformRelative)
            for (slot, i) in order[start..<end].enumerated() {
                // A NaN probability would become a silently unscored token (null, never masked).
                if let k = scores[slot].pcp.firstIndex(where: { !$0.isFinite }) {
                    throw PipelineError.nonFiniteScore(sample: samples[i].id, token: k, value: "\(scores[slot].pcp[k])")
                }
                results[i] = scores[slot]
            }
            start = end
        }
        return results.map { $0! }
    }

    /// Rank 0, as a chunk finishes: its counts (from its index) and its files' checksums.
    static func record(chunk: Int, rank: Int, layout: RunLayout) throws -> ChunkRecord {
        let entries = try JSONFiles.readLines(IndexEntry.self, from: layout.path(layout.indexFile(chunk)))
        let scored = entries.filter { $0.rejected == nil }
        return ChunkRecord(chunk: chunk, rank: rank, records: entries.count, scored: scored.count,
                           rejected: entries.count - scored.count,
                           truncatedSamples: scored.filter { ($0.truncatedTokens ?? 0) > 0 }.count,
                           tokens: scored.reduce(0) { $0 + ($1.promptTokens ?? 0) + ($1.responseTokens ?? 0) },
                           files: [try FileRecord.of(layout.scoresFile(chunk), in: layout),
                                   try FileRecord.of(layout.indexFile(chunk), in: layout)])
    }
}

/// A count shared between the coordinator thread and the main thread.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    /// Adds `n` and returns the new total.
    func add(_ n: Int) -> Int { lock.lock(); defer { lock.unlock() }; value += n; return value }
}

/// Rank 0: when each rank last reported a finished chunk (the scoring start before its first).
final class LastReport: @unchecked Sendable {
    private let lock = NSLock()
    private let started: Double
    private var times: [Int: Double] = [:]
    init(started: Double) { self.started = started }
    /// The rank's previous report time, replaced by `now`.
    func swap(rank: Int, now: Double) -> Double {
        lock.lock(); defer { lock.unlock() }
        let previous = times[rank] ?? started
        times[rank] = now
        return previous
    }
}

/// This process's peak resident set size in bytes (getrusage's ru_maxrss is in KiB on Linux).
public func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}
