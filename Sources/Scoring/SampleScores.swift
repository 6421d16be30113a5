// What the model scorer hands over per sample: one value of each attribute per response token.

import Foundation

public struct SampleScores: Hashable, Sendable {
    /// The response tokens, in order (prompt tokens are never scored nor trained on).
    public let tokenIds: [Int32]
    /// Probability the frozen model gives the correct next token (KN = 1 - pcp).
    public let pcp: [Float]
    /// Attention received; NaN where no later query exists (the sequence's last position).
    public let ri: [Float]
    /// Cosine of the token's context-free state with the domain vector, in [-1, 1].
    public let tr: [Float]
    /// log P(o_k | I, o_<k) - log P(o_k | o_<k): what the prompt adds to the token's
    /// probability, in nats (about 0 for text that needs no question). Only when the run
    /// was scored with `--prompt-free-pcp`.
    public let promptGain: [Float]?

    public init(tokenIds: [Int32], pcp: [Float], ri: [Float], tr: [Float], promptGain: [Float]? = nil) throws {
        for (field, count) in [("pcp", pcp.count), ("ri", ri.count), ("tr", tr.count), ("promptGain", promptGain?.count ?? tokenIds.count)]
            where count != tokenIds.count {
            throw ScoringError.lengthMismatch(field: field, expected: tokenIds.count, actual: count)
        }
        self.tokenIds = tokenIds; self.pcp = pcp; self.ri = ri; self.tr = tr; self.promptGain = promptGain
    }

    /// The prompt gain of each token from its two probabilities (floored at the smallest
    /// normal Float so that a zero stays finite); NaN where either is NaN.
    public static func promptGain(pcp: [Float], withoutPrompt free: [Float]) -> [Float] {
        zip(pcp, free).map { p, q in
            p.isNaN || q.isNaN ? .nan : Float(log(Double(max(p, .leastNormalMagnitude))) - log(Double(max(q, .leastNormalMagnitude))))
        }
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
