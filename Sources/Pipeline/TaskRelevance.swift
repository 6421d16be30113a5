import Foundation

/// TR(t) = cos(e(t), v_domain), where e(t) is the base model's final-norm state for token t
/// fed alone and v_domain the mean state of the domain words.
///
/// e(t) depends only on t, so it is computed once per distinct id. Ids are computed in fixed
/// blocks (`block` consecutive ids per forward), never in the order a rank happens to meet
/// them: a batch's composition can change the last bits of a float result, and the blocks
/// make every rank compute every id in the same batch, whatever -np is.
public final class TaskRelevance {
    public static let block = 64
    public let domainVector: [Float]
    private let model: any BaseModel
    private let vocabularySize: Int
    private var cache: [Int32: Float] = [:]

    /// - Parameter domainWords: each word is one short sequence (its tokens' states averaged).
    public init(model: any BaseModel, encoder: any TextEncoder, domainWords: [String]) throws {
        guard !domainWords.isEmpty else { throw PipelineError.invalidSetting(field: "domain-words", reason: "no domain words") }
        var sequences: [[Int32]] = []
        for word in domainWords {
            let ids = try encoder.encode(word, addSpecialTokens: false)
            guard !ids.isEmpty else { throw PipelineError.invalidSetting(field: "domain-words", reason: "\"\(word)\" has no tokens") }
            sequences.append(ids)
        }
        let states = try model.meanFinalHidden(sequences)
        var mean = [Float](repeating: 0, count: states[0].count)
        for s in states { for i in mean.indices { mean[i] += s[i] } }
        for i in mean.indices { mean[i] /= Float(states.count) }
        domainVector = mean
        self.model = model
        vocabularySize = encoder.vocabularySize
    }

    /// TR of every id in `ids`, computing the blocks not seen yet.
    public func scores(_ ids: [Int32]) throws -> [Float] {
        var missingBlocks = Set<Int>()
        for id in ids where cache[id] == nil { missingBlocks.insert(Int(id) / Self.block) }
        for b in missingBlocks.sorted() {
            let first = b * Self.block, last = min(vocabularySize, first + Self.block)
            let blockIds = (first..<max(last, first + 1)).map { Int32($0) }
            let states = try model.meanFinalHidden(blockIds.map { [$0] })
            for (id, state) in zip(blockIds, states) { cache[id] = Self.cosine(state, domainVector) }
        }
        return ids.map { cache[$0]! }
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
