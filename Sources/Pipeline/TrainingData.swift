import Artifacts
import Data
import Foundation
import Model
import Randomness
import Training

/// Which response tokens carry a loss in fine-tuning.
public enum LossMask: String, Codable, Sendable, CaseIterable {
    /// XTF: every token no rule flagged.
    case xtf
    /// Normal fine-tuning: every response token.
    case none
    /// The same number of tokens per sample as XTF masks, chosen at random with the seed.
    case random
    /// SLM (RHO-1): every response token is a candidate; the trainer keeps the top fraction
    /// of each global batch by excess loss over a reference model.
    case slm
    /// ORACLE (ground-truth data only): exactly the tokens of the labelled noise.
    case oracle
}

/// What happens to the tokens a mask picks.
public enum MaskMode: String, Codable, Sendable, CaseIterable {
    /// They stay in the input and carry no loss (XTF, and every token-level filter): the model
    /// still reads them, so what follows them is learnt in their presence.
    case loss
    /// They are cut out of the sequence, inputs and targets: the model trains on the text as
    /// if it never held them (with the oracle mask, the CLEAN arm's text, up to tokenization).
    case delete
}

/// Training samples from a scored run: ids from the score files, labels from the masks.
public enum TrainingData {
    /// `isSpecial`: template markup (end of text, end of turn), which random masking never
    /// picks. `noise`: per sample id, the labelled noise tokens (for the oracle mask).
    public static func load(run layout: RunLayout, mask: LossMask, mode: MaskMode = .loss, seed: UInt64,
                            isSpecial: (Int32) -> Bool = { _ in false }, noise: [String: [Bool]]? = nil) throws -> [TrainingSample] {
        let finished = ProgressLog(layout: layout).finishedChunks()
        guard FileManager.default.fileExists(atPath: layout.stats) else {
            throw PipelineError.corruptRun(path: layout.stats, reason: "missing: the run was not masked yet (`xtf mask`)")
        }
        var samples: [TrainingSample] = []
        for chunk in finished.keys.sorted() {
            let scores = try ChunkScores.read(scores: layout.path(layout.scoresFile(chunk)), index: layout.path(layout.indexFile(chunk)))
            let maskPath = layout.path(layout.maskFile(chunk))
            let flags = try SafetensorsFile(path: maskPath).ints("flags")
            let responseTokens = scores.samples.reduce(0) { $0 + $1.responseCount }
            guard flags.count == responseTokens else {
                throw PipelineError.corruptRun(path: maskPath, reason: "holds \(flags.count) flags for \(responseTokens) response tokens")
            }
            var offset = 0
            for sample in scores.samples {
                let n = sample.responseCount
                let masked = flags[offset..<(offset + n)].map { $0 != 0 }
                offset += n
                let drop: [Bool]
                switch mask {
                case .xtf: drop = masked
                case .none, .slm: drop = Array(repeating: false, count: n)
                case .random:
                    // As many tokens as XTF masks, among those an author wrote.
                    let ids = sample.responseIds
                    let candidates = (0..<n).filter { !isSpecial(ids[$0]) }
                    let chosen = randomDrop(count: masked.filter { $0 }.count, of: candidates.count, seed: seed, id: sample.id)
                    var random = [Bool](repeating: false, count: n)
                    for (k, position) in candidates.enumerated() where chosen[k] { random[position] = true }
                    drop = random
                case .oracle:
                    guard let labelled = noise?[sample.id], labelled.count == n else {
                        throw PipelineError.corruptRun(path: layout.tokens, reason: "sample \(sample.id): no noise labels for its \(n) response tokens")
                    }
                    drop = labelled
                }
                let labels = sample.labels(dropping: drop)
                if mode == .delete {
                    // The dropped tokens leave inputs and targets both.
                    let index = sample.responseIndex
                    let kept = sample.ids.indices.filter { i in index[i].map { !drop[$0] } ?? true }
                    samples.append(try TrainingSample(id: sample.id, ids: kept.map { sample.ids[$0] }, labels: kept.map { labels[$0] }))
                } else {
                    samples.append(try TrainingSample(id: sample.id, ids: sample.ids, labels: labels))
                }
            }
        }
        return samples
    }

    /// Training samples straight from a dataset, every response token with a loss (normal
    /// fine-tuning, no scores needed). Rejected records are returned with their reasons.
    public static func load(dataset spec: DatasetSpec, format: ChatFormat, encoder: any TextEncoder,
                            maxLength: Int, endOfText: Int32?, policy: BadRecordPolicy) throws -> (samples: [TrainingSample], rejected: [RejectedRecord]) {
        let dataset = try Dataset(spec)
        let builder = SampleBuilder(encoder: encoder, format: format, contextLength: maxLength, endOfText: endOfText)
        var samples: [TrainingSample] = [], rejected: [RejectedRecord] = []
        for record in try dataset.records(in: nil) {
            let outcome: SampleOutcome
            switch record {
            case let .conversation(c): outcome = try builder.build(c)
            case let .tokens(t): outcome = builder.build(t)
            case let .rejected(r): outcome = .rejected(r)
            }
            switch outcome {
            case let .sample(s):
                samples.append(try TrainingSample(id: s.id, ids: s.ids, labels: s.labels()))
            case let .rejected(r):
                if policy == .fail { throw dataset.error(for: r) }
                rejected.append(r)
            }
        }
        return (samples, rejected)
    }

    /// `count` of `n` positions, chosen by a generator seeded from the seed and the sample id
    /// (so the choice does not depend on the order samples are read in).
    static func randomDrop(count: Int, of n: Int, seed: UInt64, id: String) -> [Bool] {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var rng = SeededRandom(seed: seed ^ h)
        var positions = Array(0..<n)
        for i in 0..<min(count, n) {
            let j = i + Int(rng.next() % UInt64(n - i))
            positions.swapAt(i, j)
        }
        var drop = [Bool](repeating: false, count: n)
        for p in positions.prefix(count) { drop[p] = true }
        return drop
    }

    /// Holds out `fraction` of the samples for validation, chosen with the seed.
    public static func split(_ samples: [TrainingSample], validationFraction fraction: Double, seed: UInt64)
        -> (train: [TrainingSample], validation: [TrainingSample]) {
        let held = Int((Double(samples.count) * fraction).rounded(.down))
        guard held > 0 else { return (samples, []) }
        var rng = SeededRandom(seed: seed ^ 0x5EED_0F_5A1)
        var order = Array(samples.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let validation = Set(order.prefix(held))
        return (samples.indices.filter { !validation.contains($0) }.map { samples[$0] },
                samples.indices.filter { validation.contains($0) }.map { samples[$0] })
    }
}
