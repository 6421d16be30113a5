import Artifacts
import Foundation
import RunFiles

/// How well each XTF attribute, and their union, finds the injected noise of a scored run of
/// the ground-truth data: precision and recall of the flags, and AUROC of the raw score.
public struct DetectionReport: Codable, Equatable, Sendable {
    public struct Row: Codable, Equatable, Sendable {
        /// ri, kn, tr, union, or kn-gain (KN's flags, the score the prompt gain; runs scored with --prompt-free-pcp).
        public let attribute: String
        /// A noise kind, or "all". Positives: tokens of that kind; negatives: clean tokens
        /// (tokens of the other kinds take no part).
        public let kind: String
        public let positives: Int
        public let negatives: Int
        /// Flagged positives / flagged tokens among positives and negatives.
        public let precision: Double
        /// Flagged positives / positives.
        public let recall: Double
        /// Probability that a random positive scores as more noise-like than a random negative.
        public let auroc: Double
        // The span measures (nil in reports written before they existed).
        /// Labelled spans (of the kind) with at least half their tokens flagged / spans.
        public let spanRecall: Double?
        /// Flagged stretches (maximal runs of flagged tokens) at least half noise / stretches.
        public let spanPrecision: Double?
        /// Harmonic mean of span recall and span precision.
        public let spanF1: Double?
        /// Labelled spans whose first token is flagged / spans: a mask that leaves the opening
        /// trained still teaches the model to start the noise.
        public let openingRecall: Double?
    }

    public let samples: Int
    public let responseTokens: Int
    public let noiseTokens: [String: Int]
    public let rows: [Row]

    /// A Markdown table.
    public var table: String {
        var lines = ["| attribute | noise | positives | precision | recall | AUROC | span F1 | opening recall |",
                     "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "—" }
        for r in rows {
            lines.append("| \(r.attribute) | \(r.kind) | \(r.positives) | \(f(r.precision)) | \(f(r.recall)) | \(f(r.auroc)) | \(f(r.spanF1)) | \(f(r.openingRecall)) |")
        }
        return lines.joined(separator: "\n")
    }
}

public enum DetectionError: Error, CustomStringConvertible {
    case malformed(file: String, line: Int, detail: String)
    case misaligned(id: String, detail: String)

    public var description: String {
        switch self {
        case .malformed(let file, let line, let detail): return "\(file):\(line): \(detail)"
        case .misaligned(let id, let detail): return "sample \(id): \(detail)"
        }
    }
}

/// Labels every response token of a run's tokens.jsonl with the injected noise it lies in,
/// and measures the flags and scores against the labels.
public enum Detection {
    /// One response token as tokens.jsonl lists it, with its label.
    struct Token {
        var kind: NoiseKind?
        /// Which labelled span of its sample holds the token (nil: clean), and whether it is the span's first token.
        var span: Int? = nil
        var opens = false
        var flags: String
        var pcp: Double, ri: Double, tr: Double
        /// The prompt gain (NaN when the run was scored without it).
        var gain = Double.nan
        /// RI as the per-sample rule sees it: how far below the sample's median, in IQRs.
        var riOutlier = 0.0
    }

    /// The labelled problems of a generated train.jsonl, by line number (1-based).
    public static func labels(path: String) throws -> [Int: Problem] {
        var problems: [Int: Problem] = [:]
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do { problems[n + 1] = try JSONDecoder().decode(Problem.self, from: Data(line.utf8)) } catch {
                throw DetectionError.malformed(file: path, line: n + 1, detail: "not a labelled problem: \(error)")
            }
        }
        return problems
    }

    /// `problems`: the labelled records, by the line they are on in their file (the run's ids
    /// are "<file>:<line>"). `tokensFile`: the run's tokens.jsonl.
    public static func evaluate(problems: [Int: Problem], tokensFile: String) throws -> DetectionReport {
        let labelled = try label(problems: problems, tokensFile: tokensFile)
        return report(samples: labelled.map(\.tokens))
    }

    /// Per sample id, whether each response token lies in injected noise: the ORACLE mask.
    public static func noiseMask(problems: [Int: Problem], tokensFile: String) throws -> [String: [Bool]] {
        Dictionary(try label(problems: problems, tokensFile: tokensFile).map { ($0.id, $0.tokens.map { $0.kind != nil }) },
                   uniquingKeysWith: { first, _ in first })
    }

    /// Every sample of tokens.jsonl, its response tokens labelled with the noise kind that
    /// holds most of their bytes (nil: clean).
    static func label(problems: [Int: Problem], tokensFile: String) throws -> [(id: String, tokens: [Token])] {
        var labelled: [(id: String, tokens: [Token])] = []
        for record in try JSONFiles.readLines(TokenRecord.self, from: tokensFile) {
            let id = record.id, texts = record.tokens, flags = record.flags, pcp = record.pcp, ri = record.ri, tr = record.tr
            let gain = record.promptGain ?? []
            guard flags.count == texts.count, pcp.count == texts.count, ri.count == texts.count, tr.count == texts.count else {
                throw DetectionError.misaligned(id: id, detail: "\(texts.count) tokens but \(flags.count) flags and \(pcp.count)/\(ri.count)/\(tr.count) scores")
            }
            guard let lineNumber = id.split(separator: ":").last.flatMap({ Int($0) }), let problem = problems[lineNumber] else {
                throw DetectionError.misaligned(id: id, detail: "no labelled problem on that line")
            }
            // tokens.jsonl shows control characters escaped ("\\n"): compare with the answer
            // shown the same way, and map back to the answer's bytes.
            var shown: [UInt8] = [], origin: [Int] = [], at = 0
            for scalar in problem.answer.unicodeScalars {
                let text = scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
                for b in text.utf8 { shown.append(b); origin.append(at) }
                at += String(scalar).utf8.count
            }
            origin.append(at)
            var offset = 0, sample: [Token] = []
            for (i, piece) in texts.enumerated() {
                let bytes = Array(piece.utf8)
                func number(_ a: [Float?]) -> Double { i < a.count ? a[i].map(Double.init) ?? .nan : .nan }
                // After the whole answer: the end-of-text token the sample builder appends. Clean.
                if offset == shown.count, i > 0 {
                    sample.append(Token(kind: nil, flags: flags[i], pcp: number(pcp), ri: number(ri), tr: number(tr), gain: number(gain)))
                    continue
                }
                guard offset + bytes.count <= shown.count, Array(shown[offset..<(offset + bytes.count)]) == bytes else {
                    throw DetectionError.misaligned(id: id, detail: "token \(i) \"\(piece)\" is not the answer's text at byte \(origin[min(offset, origin.count - 1)])")
                }
                let start = origin[offset], end = origin[offset + bytes.count]
                // The span holding most of the token's bytes (spans never overlap, so at most one
                // holds more than half).
                let span = problem.noise.indices.first { 2 * (min(problem.noise[$0].end, end) - max(problem.noise[$0].start, start)) > end - start }
                let opens = span.map { s in !sample.contains { $0.span == s } } ?? false
                sample.append(Token(kind: span.map { problem.noise[$0].kind }, span: span, opens: opens,
                                    flags: flags[i], pcp: number(pcp), ri: number(ri), tr: number(tr), gain: number(gain)))
                offset += bytes.count
            }
            let ris = sample.map(\.ri).filter { !$0.isNaN }.sorted()
            if ris.count >= 4 {
                let q1 = quantile(ris, 0.25), median = quantile(ris, 0.5), q3 = quantile(ris, 0.75)
                for j in sample.indices where !sample[j].ri.isNaN { sample[j].riOutlier = (median - sample[j].ri) / max(q3 - q1, 1e-12) }
            }
            labelled.append((id, sample))
        }
        return labelled
    }

    static func report(samples: [[Token]]) -> DetectionReport {
        let tokens = samples.flatMap { $0 }

        // Noise-likeness per attribute (higher = more like noise), and the union as the largest
        // of the three ranks.
        let scores: [String: [Double]] = [
            "ri": tokens.map { $0.ri.isNaN ? -.infinity : $0.riOutlier },
            "kn": tokens.map { $0.pcp.isNaN ? -.infinity : $0.pcp },
            "tr": tokens.map { $0.tr.isNaN ? -.infinity : -$0.tr },
        ]
        let ranks = scores.mapValues(fractionalRanks)
        // KN's flags ranked by the prompt gain instead (lower = more noise-like), when scored.
        let hasGain = tokens.contains { !$0.gain.isNaN }
        let gainScore = tokens.map { $0.gain.isNaN ? -.infinity : -$0.gain }
        let union = tokens.indices.map { i in ["ri", "kn", "tr"].map { ranks[$0]![i] }.max()! }
        let flagged: [String: [Bool]] = [
            "ri": tokens.map { $0.flags.contains("ri") }, "kn": tokens.map { $0.flags.contains("kn") },
            "tr": tokens.map { $0.flags.contains("tr") }, "union": tokens.map { !$0.flags.isEmpty },
            "kn-gain": tokens.map { $0.flags.contains("kn") },
        ]
        var rows: [DetectionReport.Row] = []
        for attribute in ["ri", "kn", "tr", "union"] + (hasGain ? ["kn-gain"] : []) {
            let score = attribute == "union" ? union : attribute == "kn-gain" ? gainScore : scores[attribute]!
            // Every kind the data holds (a family injects only its own).
            let present = NoiseKind.allCases.filter { kind in tokens.contains { $0.kind == kind } }
            for kind in [nil] + present.map(Optional.some) {
                let members = tokens.indices.filter { tokens[$0].kind == nil || kind == nil || tokens[$0].kind == kind }
                let positive = members.map { tokens[$0].kind != nil }
                let isFlagged = members.map { flagged[attribute]![$0] }
                let p = positive.filter { $0 }.count, hits = zip(positive, isFlagged).filter { $0 && $1 }.count
                let flaggedCount = isFlagged.filter { $0 }.count
                let spans = SpanScore(samples: samples, kind: kind) { t in
                    attribute == "union" ? !t.flags.isEmpty : t.flags.contains(attribute == "kn-gain" ? "kn" : attribute)
                }
                rows.append(.init(attribute: attribute, kind: kind?.rawValue ?? "all", positives: p, negatives: members.count - p,
                                  precision: flaggedCount == 0 ? 0 : Double(hits) / Double(flaggedCount),
                                  recall: p == 0 ? 0 : Double(hits) / Double(p),
                                  auroc: auroc(members.map { score[$0] }, positive),
                                  spanRecall: spans.recall, spanPrecision: spans.precision, spanF1: spans.f1, openingRecall: spans.openingRecall))
            }
        }
        var counts: [String: Int] = [:]
        for t in tokens { counts[t.kind?.rawValue ?? "clean", default: 0] += 1 }
        return DetectionReport(samples: samples.count, responseTokens: tokens.count, noiseTokens: counts, rows: rows)
    }

    /// Span-level detection of one mask: labelled spans (of `kind`, or all) found, flagged
    /// stretches that are mostly noise (of any kind), and span openings flagged.
    struct SpanScore {
        var spans = 0, found = 0, opened = 0, stretches = 0, noiseStretches = 0

        init(samples: [[Token]], kind: NoiseKind?, isFlagged: (Token) -> Bool) {
            for sample in samples {
                var members: [Int: (tokens: Int, flagged: Int, opened: Bool)] = [:]
                for t in sample {
                    guard let s = t.span, kind == nil || t.kind == kind else { continue }
                    var m = members[s] ?? (0, 0, false)
                    m.tokens += 1
                    if isFlagged(t) { m.flagged += 1; if t.opens { m.opened = true } }
                    members[s] = m
                }
                spans += members.count
                found += members.values.filter { 2 * $0.flagged >= $0.tokens }.count
                opened += members.values.filter(\.opened).count
                // Maximal runs of flagged tokens.
                var run = 0, noise = 0
                for t in sample + [Token(kind: nil, flags: "", pcp: 0, ri: 0, tr: 0)] {
                    if isFlagged(t) {
                        run += 1
                        if t.kind != nil { noise += 1 }
                    } else if run > 0 {
                        stretches += 1
                        if 2 * noise >= run { noiseStretches += 1 }
                        run = 0; noise = 0
                    }
                }
            }
        }

        var recall: Double { spans == 0 ? 0 : Double(found) / Double(spans) }
        var precision: Double { stretches == 0 ? 0 : Double(noiseStretches) / Double(stretches) }
        var f1: Double { recall + precision == 0 ? 0 : 2 * recall * precision / (recall + precision) }
        var openingRecall: Double { spans == 0 ? 0 : Double(opened) / Double(spans) }
    }

    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let x = q * Double(sorted.count - 1), i = Int(x), f = x - Double(i)
        return i + 1 < sorted.count ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i]
    }

    /// Ranks scaled to 0...1, ties sharing their mean rank.
    public static func fractionalRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            for k in i...j { ranks[order[k]] = Double(i + j) / 2 }
            i = j + 1
        }
        let top = Double(max(1, values.count - 1))
        return ranks.map { $0 / top }
    }

    /// Mann-Whitney AUROC with ties counted half; 0.5 when either class is empty.
    public static func auroc(_ scores: [Double], _ positive: [Bool]) -> Double {
        let p = positive.filter { $0 }.count, n = positive.count - p
        guard p > 0, n > 0 else { return 0.5 }
        let ranks = fractionalRanks(scores).map { $0 * Double(max(1, scores.count - 1)) + 1 } // 1-based mean ranks
        let sum = zip(ranks, positive).filter { $0.1 }.reduce(0) { $0 + $1.0 }
        return (sum - Double(p) * Double(p + 1) / 2) / (Double(p) * Double(n))
    }
}
