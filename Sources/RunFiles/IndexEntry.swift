/// One record of a chunk, in input order: scored (with its sample's place in the score file)
/// or rejected with its reason. The chunk's `.jsonl` index holds one of these per line.
public struct IndexEntry: Codable, Equatable, Sendable {
    public var id: String
    public var line: Int
    /// Position of the sample in the chunk's score file; nil when rejected.
    public var sample: Int?
    /// Tokens only read: the prompt, and the turns between responses.
    public var promptTokens: Int?
    /// Tokens of the responses, scored and trained.
    public var responseTokens: Int?
    public var truncatedTokens: Int?
    public var rejected: String?

    enum CodingKeys: String, CodingKey {
        case id, line, sample, rejected
        case promptTokens = "prompt_tokens", responseTokens = "response_tokens", truncatedTokens = "truncated_tokens"
    }

    public init(id: String, line: Int, sample: Int? = nil, promptTokens: Int? = nil, responseTokens: Int? = nil,
                truncatedTokens: Int? = nil, rejected: String? = nil) {
        self.id = id; self.line = line; self.sample = sample; self.promptTokens = promptTokens
        self.responseTokens = responseTokens; self.truncatedTokens = truncatedTokens; self.rejected = rejected
    }
}
