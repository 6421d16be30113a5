import Artifacts
import Cluster
import Foundation

/// TR(t) = cos(e(t), v_domain), where e(t) is the base model's final-norm state for token t
/// fed alone and v_domain the mean state of the domain words (or, with `nearest`, the largest
/// cosine to any one domain word's state).
///
/// e(t) depends only on t, so TR is one table for the whole run (`tr.safetensors`, one value
/// per vocabulary id, NaN for ids no response holds), computed once per distinct id and shared:
/// after scoring, the ranks take the union of the response ids, cut it in ascending order into
/// batches of `batch` ids, deal the batches round-robin, and gather the results. The batches
/// depend only on that union, so an id is always computed in the same batch (a batch's
/// composition can change a float's last bits), which keeps the table the same whatever -np is.
public enum TaskRelevanceTable {
    /// Ids per forward: large enough that each layer is one well-shaped gemm (and, with mapped
    /// weights, widened once per batch), small enough to keep activations modest.
    public static let batch = 256

    /// Each domain word's state: one short sequence per word, its states averaged.
    static func wordStates(model: any BaseModel, encoder: any TextEncoder, words: [String], form: DomainWordForm) throws -> [[Float]] {
        var sequences: [[Int32]] = []
        for word in words {
            let ids = try tokens(of: word, form: form, encoder: encoder)
            guard !ids.isEmpty else { throw PipelineError.invalidSetting(field: "domain-words", reason: "\"\(word)\" has no tokens") }
            sequences.append(ids)
        }
        return try model.meanFinalHidden(sequences)
    }

    /// v_domain: the mean of the words' states.
    public static func mean(_ states: [[Float]]) -> [Float] {
        var mean = [Float](repeating: 0, count: states[0].count)
        for s in states { for i in mean.indices { mean[i] += s[i] } }
        return mean.map { $0 / Float(states.count) }
    }

    /// TR of a token state `e`: the cosine to the words' mean, or to the nearest word.
    public static func relevance(_ e: [Float], words: [[Float]], mean: [Float], kind: TRDomain) -> Float {
        switch kind {
        case .mean: return cosine(e, mean)
        case .nearest: return words.map { cosine(e, $0) }.max() ?? 0
        }
    }

    /// A domain word's tokens. In text: the tokens "x WORD" has after those of "x", which is
    /// how a tokenizer writes a word that follows a space, whatever its convention for word
    /// starts; " WORD" if a merge crosses the boundary.
    public static func tokens(of word: String, form: DomainWordForm, encoder: any TextEncoder) throws -> [Int32] {
        switch form {
        case .bare: return try encoder.encode(word, addSpecialTokens: false)
        case .inText:
            let anchor = try encoder.encode("x", addSpecialTokens: false)
            let both = try encoder.encode("x " + word, addSpecialTokens: false)
            if both.count > anchor.count, Array(both.prefix(anchor.count)) == anchor { return Array(both.dropFirst(anchor.count)) }
            return try encoder.encode(" " + word, addSpecialTokens: false)
        }
    }

    /// Builds the table from the run's score files and writes it (rank 0). Collective.
    static func build(layout: RunLayout, chunks: Int, world: Communicator, model: any BaseModel,
                      encoder: any TextEncoder, words: [String], form: DomainWordForm, domainKind: TRDomain) throws {
        let vocabulary = encoder.vocabularySize
        // Which ids occur in a response: each rank reads chunks i mod size; max-reduce.
        var seen = [Int32](repeating: 0, count: vocabulary)
        for chunk in stride(from: world.rank, to: chunks, by: world.size) {
            let scores = try ChunkScores.read(scores: layout.path(layout.scoresFile(chunk)), index: layout.path(layout.indexFile(chunk)))
            for s in scores.samples { for id in s.responseIds where Int(id) < vocabulary { seen[Int(id)] = 1 } }
        }
        try world.allreduce(&seen, op: .max)
        let needed = (0..<vocabulary).filter { seen[$0] != 0 }.map { Int32($0) }
        let batches = stride(from: 0, to: needed.count, by: batch).map { Array(needed[$0..<min(needed.count, $0 + batch)]) }
        let states = try wordStates(model: model, encoder: encoder, words: words, form: form)
        let domain = mean(states)
        func relevance(_ e: [Float]) -> Float { Self.relevance(e, words: states, mean: domain, kind: domainKind) }
        var mine: [Float] = []
        for (i, ids) in batches.enumerated() where i % world.size == world.rank {
            mine += try model.meanFinalHidden(ids.map { [$0] }).map(relevance)
        }
        let parts = try world.allgatherv(mine)
        var table = [Float](repeating: .nan, count: vocabulary)
        var next = [Int](repeating: 0, count: world.size)
        for (i, ids) in batches.enumerated() {
            let r = i % world.size
            for id in ids { table[Int(id)] = parts[r][next[r]]; next[r] += 1 }
        }
        _ = try world.decidedByRoot { () -> Bool in
            var writer = SafetensorsWriter(metadata: ["format": "xtf-tr-1", "meaning": "cos(e(t), v_domain) per token id; NaN: in no response"])
            writer.add("tr", shape: [vocabulary], floats: table)
            writer.add("domain_vector", shape: [domain.count], floats: domain)
            try writer.write(to: layout.trTable)
            return true
        }
    }

    /// The table of a run.
    public static func read(_ layout: RunLayout) throws -> [Float] {
        guard FileManager.default.fileExists(atPath: layout.trTable) else {
            throw PipelineError.corruptRun(path: layout.trTable, reason: "missing: the scoring run did not finish (`xtf score --resume`)")
        }
        return try SafetensorsFile(path: layout.trTable).floats("tr")
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        let denominator = (na * nb).squareRoot()
        return denominator > 0 ? Float(dot / denominator) : 0
    }
}
