import Data
import Foundation
import Model
import Training

/// Whether a tokenizer, or the token ids a scoring run made with one, fits a model: every id
/// needs a row of the model's embedding. Checked before any work, so a mismatch is one error
/// naming both files and both sizes rather than an out-of-range id inside a forward pass.
/// A tokenizer smaller than the model's vocabulary is fine (models often pad it).
public enum VocabularyFit {
    public static func check(tokenizer encoder: any TextEncoder, at tokenizerPath: String, format: ChatFormat,
                             model: ModelConfig, at modelPath: String) throws {
        func mismatch(_ reason: String) -> PipelineError {
            .tokenizerMismatch(tokenizer: tokenizerPath, model: modelPath, reason: reason)
        }
        guard encoder.vocabularySize <= model.vocabSize else {
            throw mismatch("the tokenizer's ids go up to \(encoder.vocabularySize - 1), the model's vocab_size is \(model.vocabSize)")
        }
        // A post-processor's BOS/EOS ids need not be in the vocabulary at all: encode the
        // template's markup with special tokens to check the ids a run will use.
        let markup = try format.render(context: [Message(.user, "?")], response: "!")
        for text in [markup.prompt, markup.response] {
            if let bad = try encoder.encode(text, addSpecialTokens: true).first(where: { Int($0) >= model.vocabSize }) {
                throw mismatch("the \(format.template.rawValue) template's token \"\(encoder.tokenText(bad))\" has id \(bad), past the model's vocab_size \(model.vocabSize)")
            }
        }
    }

    /// Training samples from the scoring run `run` (ids from its tokenizer) against the model.
    public static func check(samples: [TrainingSample], fromRun run: String, model: ModelConfig, at modelPath: String) throws {
        var largest: (id: Int32, sample: String)?
        for s in samples {
            if let top = s.ids.max(), top > largest?.id ?? -1 { largest = (top, s.id) }
        }
        guard let largest, Int(largest.id) >= model.vocabSize else { return }
        let layout = RunLayout(run)
        let tokenizer = (try? ScoreSettings.read(layout))?.tokenizer
        throw PipelineError.tokenizerMismatch(
            tokenizer: tokenizer ?? "of \(layout.settings)", model: modelPath,
            reason: "sample \(largest.sample) of the scoring run \(run) holds token id \(largest.id), past the model's vocab_size \(model.vocabSize)")
    }
}
