/// Why a scoring or masking run cannot go on; each names the file, field or chunk at fault.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    case invalidSetting(field: String, reason: String)
    /// The run directory holds another run (different settings, model or data).
    case runMismatch(path: String, reason: String)
    /// A file of the run directory is missing, corrupt or does not match its checksum.
    case corruptRun(path: String, reason: String)
    /// The tokenizer (or the token ids a scoring run made with it) does not fit the model.
    case tokenizerMismatch(tokenizer: String, model: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidSetting(field, reason): return "invalid setting \(field): \(reason)"
        case let .runMismatch(path, reason): return "\(path): \(reason)"
        case let .corruptRun(path, reason): return "\(path): \(reason)"
        case let .tokenizerMismatch(tokenizer, model, reason):
            return "tokenizer \(tokenizer) does not fit model \(model): \(reason); wrong --tokenizer or --model?"
        }
    }
}
