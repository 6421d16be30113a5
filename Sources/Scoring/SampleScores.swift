// What the model scorer hands over per sample: one value of each attribute per response token.

public struct SampleScores: Hashable, Sendable {
    /// The response tokens, in order (prompt tokens are never scored nor trained on).
    public let tokenIds: [Int32]
    /// Probability the frozen model gives the correct next token (KN = 1 - pcp).
    public let pcp: [Float]
    /// Attention received; NaN where no later query exists (the sequence's last position).
    public let ri: [Float]
    /// Cosine of the token's context-free state with the domain vector, in [-1, 1].
    public let tr: [Float]

    public init(tokenIds: [Int32], pcp: [Float], ri: [Float], tr: [Float]) throws {
        for (field, count) in [("pcp", pcp.count), ("ri", ri.count), ("tr", tr.count)] where count != tokenIds.count {
            throw ScoringError.lengthMismatch(field: field, expected: tokenIds.count, actual: count)
        }
        self.tokenIds = tokenIds; self.pcp = pcp; self.ri = ri; self.tr = tr
    }

    /// Number of response tokens.
    public var count: Int { tokenIds.count }

    public func values(of attribute: Attribute) -> [Float] {
        switch attribute {
        case .ri: return ri
        case .kn: return pcp
        case .tr: return tr
        }
    }
}
