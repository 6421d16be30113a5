import Data
import Artifacts
import Foundation
import Model
import Tokenizer

/// A model as every stage loads it: config.json first, then the tokenizer checked to fit the
/// model's vocabulary, then whatever else must hold before the weights are read (a training
/// run's samples), and only then the weights (and a LoRA adapter over them). A bad file is
/// refused before gigabytes are read.
public struct LoadedModel {
    public let config: ModelConfig
    /// nil when the stage works on token ids it already has (training from a scored run).
    public let tokenizer: Tokenizer?
    public let encoder: TokenizerEncoder?
    /// The chat template resolved for the tokenizer (nil without one).
    public let format: ChatFormat?
    public let transformer: Transformer

    /// `tokenizer`: tokenizer.json or its directory, nil for none. `beforeWeights` runs after
    /// the tokenizer check with the config, the encoder and the chat template resolved for it.
    public static func load(model: String, tokenizer: String?, template: PromptTemplate, adapter: String? = nil, weights: WeightStorage = .fp32,
                            beforeWeights: (ModelConfig, TokenizerEncoder?, ChatFormat?) throws -> Void = { _, _, _ in }) throws -> LoadedModel {
        let directory = URL(fileURLWithPath: model)
        let config = try ModelConfig(directory: directory)
        var loadedTokenizer: Tokenizer?, encoder: TokenizerEncoder?, format: ChatFormat?
        if let tokenizer {
            let tok = try Tokenizer.load(path: tokenizer)
            let wrapped = TokenizerEncoder(tokenizer: tok)
            format = try ChatFormat.resolve(template, tokenizerPath: tokenizer)
            try VocabularyFit.check(tokenizer: wrapped, at: tokenizer, format: format!, model: config, at: model)
            loadedTokenizer = tok; encoder = wrapped
        }
        try beforeWeights(config, encoder, format)
        let transformer = try Transformer.load(directory: directory, weights: weights)
        if let adapter { try transformer.loadLoRA(directory: URL(fileURLWithPath: adapter)) }
        return LoadedModel(config: config, tokenizer: loadedTokenizer, encoder: encoder, format: format, transformer: transformer)
    }
}
