/// Why a scoring or masking run cannot go on; each names the file, field or chunk at fault.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    case invalidSetting(field: String, reason: String)
    /// The run directory holds another run (different settings, model or data).
    case runMismatch(path: String, reason: String)
    /// A file of the run directory is missing, corrupt or does not match its checksum.
    case corruptRun(path: String, reason: String)
    /// The tokenizer (or the token ids a scoring run made with it) does not fit the model.
    case tokenizerMismatch(tokenizer: String, model: String, reason: String)
    /// The model computed a NaN or infinite probability: its weights and settings were
    /// checked finite, so the computation overflowed.
    case nonFiniteScore(sample: String, token: Int, value: String)

    public var description: String {
        switch self {
        case let .invalidSetting(field, reason): return "invalid setting \(field): \(reason)"
        case let .runMismatch(path, reason): return "\(path): \(reason)"
        case let .corruptRun(path, reason): return "\(path): \(reason)"
        case let .tokenizerMismatch(tokenizer, model, reason):
            return "tokenizer \(tokenizer) does not fit model \(model): \(reason); wrong --tokenizer or --model?"
        case let .nonFiniteScore(sample, token, value):
            return "sample \(sample): the model gave response token \(token) a probability of \(value); its weights and config are finite, so the forward pass overflowed (check the model with `xtf model check`); nothing was written for this chunk"
        }
    }
}
