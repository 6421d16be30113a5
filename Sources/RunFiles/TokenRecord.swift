/// A line of tokens.jsonl: a sample's response tokens with their text (control characters
/// escaped), scores (null where there is none) and flags.
public struct TokenRecord: Codable, Sendable {
    public let id: String
    public let tokenIds: [Int32]
    public let tokens: [String]
    public let pcp: [Float?]
    public let ri: [Float?]
    public let tr: [Float?]
    /// Per token the rules that flagged it ("" = kept), e.g. "kn" or "ri+tr".
    public let flags: [String]
    /// What the prompt adds to each token's log probability (runs scored with `--prompt-free-pcp`).
    public let promptGain: [Float?]?

    public init(id: String, tokenIds: [Int32], tokens: [String], pcp: [Float?], ri: [Float?], tr: [Float?], flags: [String],
                promptGain: [Float?]? = nil) {
        self.id = id; self.tokenIds = tokenIds; self.tokens = tokens; self.pcp = pcp; self.ri = ri; self.tr = tr; self.flags = flags
        self.promptGain = promptGain
    }

    enum CodingKeys: String, CodingKey { case id, tokenIds = "token_ids", tokens, pcp, ri, tr, flags, promptGain = "prompt_gain" }
}
