import Artifacts
import Data
import Foundation
import Scoring

/// A chunk's scores: every scored sample's ids and its response tokens' PCP and RI (TR
/// depends only on the token id: it lives in the run's shared table, `TaskRelevanceTable`).
///
/// Stored as safetensors with flat tensors: `input_ids` (I32, every sample's tokens),
/// `sample_offsets` (I64, S+1 offsets into input_ids), `response_spans` (I32, every sample's
/// responses as start, end pairs relative to the sample), `span_offsets` (I64, S+1 offsets
/// into the pairs), `response_start` (I32, per sample: the first response's start, for
/// readers of one-response files), and `pcp`, `ri` (F32, response tokens only, in sample
/// order), and with `--prompt-free-pcp` `pcp_without_prompt` (F32, the same tokens). Files
/// written before `response_spans` hold one response per sample, from its start to the end.
public struct ChunkScores: Equatable, Sendable {
    public var samples: [TokenizedSample] = []
    public var scores: [ResponseScores] = []
    public var index: [IndexEntry] = []

    public init() {}

    public mutating func append(_ sample: TokenizedSample, _ scores: ResponseScores) {
        index.append(IndexEntry(id: sample.id, line: sample.line, sample: samples.count,
                                promptTokens: sample.ids.count - sample.responseCount, responseTokens: sample.responseCount,
                                truncatedTokens: sample.truncatedTokens))
        samples.append(sample)
        self.scores.append(scores)
    }

    public mutating func reject(_ record: RejectedRecord) {
        index.append(IndexEntry(id: record.id, line: record.line, rejected: record.reason))
    }

    public var rejected: [RejectedRecord] {
        index.compactMap { e in e.rejected.map { RejectedRecord(id: e.id, line: e.line, reason: $0) } }
    }

    public func write(scores scoresPath: String, index indexPath: String) throws {
        var writer = SafetensorsWriter(metadata: ["format": "xtf-scores-1"])
        let ids = samples.flatMap(\.ids)
        var offsets: [Int64] = [0]
        for s in samples { offsets.append(offsets.last! + Int64(s.ids.count)) }
        writer.add("input_ids", shape: [ids.count], int32s: ids)
        writer.add("sample_offsets", shape: [offsets.count], int64s: offsets)
        writer.add("response_start", shape: [samples.count], int32s: samples.map { Int32($0.responseStart) })
        let spans = samples.flatMap { $0.spans.flatMap { [Int32($0.lowerBound), Int32($0.upperBound)] } }
        var spanOffsets: [Int64] = [0]
        for s in samples { spanOffsets.append(spanOffsets.last! + Int64(s.spans.count)) }
        writer.add("response_spans", shape: [spans.count], int32s: spans)
        writer.add("span_offsets", shape: [spanOffsets.count], int64s: spanOffsets)
        let pcp = scores.flatMap(\.pcp), ri = scores.flatMap(\.ri)
        writer.add("pcp", shape: [pcp.count], floats: pcp)
        writer.add("ri", shape: [ri.count], floats: ri)
        if !scores.isEmpty, scores.allSatisfy({ $0.pcpWithoutPrompt != nil }) {
            let free = scores.flatMap { $0.pcpWithoutPrompt! }
            writer.add("pcp_without_prompt", shape: [free.count], floats: free)
        }
        // Scores first: a chunk counts as done once its index exists (and progress lists it).
        try writer.write(to: scoresPath)
        try AtomicFile.writeJSONLines(index, to: indexPath)
    }

    public static func read(scores scoresPath: String, index indexPath: String) throws -> ChunkScores {
        var chunk = ChunkScores()
        chunk.index = try JSONFiles.readLines(IndexEntry.self, from: indexPath)
        let file = try SafetensorsFile(path: scoresPath)
        let ids = try file.ints("input_ids").map(Int32.init)
        let offsets = try file.ints("sample_offsets")
        let starts = try file.ints("response_start")
        let pcp = try file.floats("pcp"), ri = try file.floats("ri")
        let free = file.names.contains("pcp_without_prompt") ? try file.floats("pcp_without_prompt") : nil
        guard free.map({ $0.count == pcp.count }) ?? true else {
            throw PipelineError.corruptRun(path: scoresPath, reason: "pcp_without_prompt and pcp differ in length")
        }
        func ascending(_ offsets: [Int]) -> Bool { offsets.first == 0 && zip(offsets, offsets.dropFirst()).allSatisfy { $0 <= $1 } }
        guard offsets.count == starts.count + 1, offsets.last == ids.count, ascending(offsets) else {
            throw PipelineError.corruptRun(path: scoresPath, reason: "sample_offsets do not match input_ids and response_start")
        }
        let spans = file.names.contains("response_spans") ? try file.ints("response_spans") : nil
        let spanOffsets = file.names.contains("span_offsets") ? try file.ints("span_offsets") : nil
        if let spans {
            let whole = spanOffsets.map { $0.count == starts.count + 1 && $0.last == spans.count / 2 && spans.count % 2 == 0 && ascending($0) } ?? false
            guard whole else {
                throw PipelineError.corruptRun(path: scoresPath, reason: "span_offsets do not match response_spans")
            }
        }
        var responseOffset = 0
        let byId = Dictionary(chunk.index.compactMap { e in e.sample.map { ($0, e) } }, uniquingKeysWith: { a, _ in a })
        for s in 0..<starts.count {
            guard let entry = byId[s] else {
                throw PipelineError.corruptRun(path: indexPath, reason: "no index line for sample \(s)")
            }
            let sampleIds = Array(ids[offsets[s]..<offsets[s + 1]])
            // Files without spans hold one response per sample, from response_start to the end.
            var bounds: [(Int, Int)] = [(starts[s], sampleIds.count)]
            if let spans, let spanOffsets {
                bounds = (spanOffsets[s]..<spanOffsets[s + 1]).map { (spans[2 * $0], spans[2 * $0 + 1]) }
            }
            var previous = 0
            for (start, end) in bounds {
                guard previous <= start, start <= end, end <= sampleIds.count else {
                    throw PipelineError.corruptRun(path: scoresPath, reason: "sample \(s)'s response spans are not ascending runs inside it")
                }
                previous = end
            }
            let sampleSpans = bounds.map { $0.0..<$0.1 }
            let sample = TokenizedSample(id: entry.id, line: entry.line, ids: sampleIds, spans: sampleSpans,
                                         truncatedTokens: entry.truncatedTokens ?? 0)
            let n = sample.responseCount
            let range = responseOffset..<(responseOffset + n)
            guard range.upperBound <= pcp.count, range.upperBound <= ri.count else {
                throw PipelineError.corruptRun(path: scoresPath, reason: "score tensors shorter than the samples' responses")
            }
            chunk.samples.append(sample)
            chunk.scores.append(ResponseScores(pcp: Array(pcp[range]), ri: Array(ri[range]), pcpWithoutPrompt: free.map { Array($0[range]) }))
            responseOffset += n
        }
        return chunk
    }
}

extension ChunkScores {
    /// Every sample's three scores, TR looked up in the run's table by token id. Tokens for
    /// which `unscored` holds (the template's special tokens) get NaN scores: the rules never
    /// flag NaN, so they are never masked.
    public func sampleScores(tr table: [Float], unscored: (Int32) -> Bool = { _ in false }) throws -> [SampleScores] {
        try zip(samples, scores).map { sample, s in
            let ids = sample.responseIds
            let skip = ids.map(unscored)
            func scored(_ values: [Float]) -> [Float] { zip(values, skip).map { $1 ? .nan : $0 } }
            return try SampleScores(tokenIds: ids, pcp: scored(s.pcp), ri: scored(s.ri),
                                    tr: scored(ids.map { Int($0) < table.count ? table[Int($0)] : .nan }),
                                    promptGain: s.pcpWithoutPrompt.map { scored(SampleScores.promptGain(pcp: s.pcp, withoutPrompt: $0)) })
        }
    }
}
