import Foundation
import Model
import Scoring
import Tokenizer

/// The real base model behind `BaseModel`: one packed forward per batch (no padding), the
/// vocabulary projection only at the positions that predict a response token.
public final class ModelScorer: BaseModel {
    public let model: Transformer

    public init(model: Transformer) { self.model = model }

    public var contextLength: Int { model.config.maxPositions }
    public var endOfText: Int32? { model.config.eosTokenId.map { Int32($0) } }

    public func score(_ batch: [TokenizedSample], layers: RIVariant, uniformRelative: Bool) throws -> [ResponseScores] {
        let sequences = batch.map(\.ids)
        let responses = batch.map(\.responsePositions)  // computed, not stored: once per sample
        // Position t predicts ids[t + 1]; only predictions of response tokens are asked for.
        let targets = zip(batch, responses).map { s, positions in
            var targets = [Int32](repeating: -1, count: s.ids.count)
            for position in positions { targets[position - 1] = s.ids[position] }
            return targets
        }
        let request = ForwardRequest(targets: targets, attentionReceived: AttentionReceivedRequest(
            layers: layers == .lastLayer ? .last : .all, uniformRelative: uniformRelative))
        let result = try model.forward(sequences, request)
        return batch.indices.map { b in
            let positions = responses[b]
            return ResponseScores(pcp: positions.map { expf(result.targetLogProbs[b][$0 - 1]) },
                                  ri: positions.map { result.attentionReceived[b][$0] })
        }
    }

    public func meanFinalHidden(_ sequences: [[Int32]]) throws -> [[Float]] {
        let states = try model.forward(sequences, ForwardRequest(finalHidden: true)).finalHidden
        let C = model.config.hiddenSize
        return zip(sequences, states).map { ids, h in
            var mean = [Float](repeating: 0, count: C)
            for t in 0..<ids.count { for j in 0..<C { mean[j] += h[t * C + j] } }
            return mean.map { $0 / Float(ids.count) }
        }
    }
}

/// The real tokenizer behind `TextEncoder`.
public final class TokenizerEncoder: TextEncoder {
    public let tokenizer: Tokenizer

    public init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    public func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int32] {
        tokenizer.encode(text, addSpecialTokens: addSpecialTokens).ids.map { Int32($0) }
    }

    public func tokenText(_ id: Int32) -> String { tokenizer.displayText(for: Int(id)) }

    public var vocabularySize: Int { tokenizer.idSpan }

    public func isSpecial(_ id: Int32) -> Bool { tokenizer.isSpecial(Int(id)) }
}
