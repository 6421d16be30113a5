import Scoring

/// Per response token of one sample, what the frozen base model says.
public struct ResponseScores: Sendable, Equatable {
    /// P(o_k | I, o_<k): the probability of the correct next token.
    public var pcp: [Float]
    /// Attention received from later positions (NaN for the sequence's last position).
    public var ri: [Float]
    /// P(o_k | o_<k): the same without the prompt (only with `--prompt-free-pcp`).
    public var pcpWithoutPrompt: [Float]?

    public init(pcp: [Float], ri: [Float], pcpWithoutPrompt: [Float]? = nil) {
        self.pcp = pcp
        self.ri = ri
        self.pcpWithoutPrompt = pcpWithoutPrompt
    }
}

/// The frozen base model, as scoring uses it. `ModelScorer` is the real one; tests may
/// supply a small deterministic one to exercise the pipeline without a checkpoint.
public protocol BaseModel: AnyObject {
    /// Longest sequence the model takes.
    var contextLength: Int { get }
    /// The id that ends a text (config.json's eos_token_id), if the model has one.
    var endOfText: Int32? { get }
    /// Scores the response tokens of each sample of a batch (PCP from teacher forcing, RI
    /// from the attention each position receives).
    func score(_ batch: [TokenizedSample], layers: RIVariant, uniformRelative: Bool) throws -> [ResponseScores]
    /// For each sequence, its final-norm hidden states averaged over its positions (a
    /// one-token sequence gives the token's context-free representation e(t)).
    func meanFinalHidden(_ sequences: [[Int32]]) throws -> [[Float]]
}
