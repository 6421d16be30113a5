import Data

/// Turns text into token ids. The pipeline needs only this much of a tokenizer, so tests can
/// run the whole pipeline on a small encoder of their own.
public protocol TextEncoder: AnyObject {
    /// Token ids of `text`; with `addSpecialTokens`, the tokenizer's post-processor adds its
    /// BOS/EOS tokens as the reference library's `add_special_tokens=True` does.
    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int32]
    /// The text of one token, for display (per-token JSONL, report, top flagged tokens).
    func tokenText(_ id: Int32) -> String
    /// One more than the largest token id: arrays indexed by id have this many entries, and a
    /// model's vocab_size must be at least this.
    var vocabularySize: Int { get }
    /// Special tokens are template markup (end of text, end of turn), not text an author
    /// wrote: they are never scored, so XTF never masks them.
    func isSpecial(_ id: Int32) -> Bool
}

extension TextEncoder {
    public func isSpecial(_ id: Int32) -> Bool { false }
}

/// A record as the model sees it: one sequence of ids, of which the runs `spans` are responses
/// (scored and trained on) and the rest is read only: the prompt before the first, and with
/// every assistant turn trained, the other turns between them.
public struct TokenizedSample: Sendable, Equatable {
    public let id: String
    public let line: Int
    public let ids: [Int32]
    /// The responses' positions in `ids`: ascending, disjoint, none empty, the first after at
    /// least one prompt token; the last ends where `ids` do.
    public let spans: [Range<Int>]
    /// Response tokens cut off the end so the sequence fits the model's context.
    public let truncatedTokens: Int

    public init(id: String, line: Int, ids: [Int32], spans: [Range<Int>], truncatedTokens: Int) {
        self.id = id
        self.line = line
        self.ids = ids
        self.spans = spans
        self.truncatedTokens = truncatedTokens
    }

    /// One response, from `responseStart` to the end.
    public init(id: String, line: Int, ids: [Int32], responseStart: Int, truncatedTokens: Int) {
        self.init(id: id, line: line, ids: ids, spans: responseStart < ids.count ? [responseStart..<ids.count] : [],
                  truncatedTokens: truncatedTokens)
    }

    /// Where the first response starts: the prompt's length (the end when there is none).
    public var responseStart: Int { spans.first?.lowerBound ?? ids.count }
    public var responseCount: Int { spans.reduce(0) { $0 + $1.count } }
    /// The response tokens' positions, in order: per-token scores, flags and masks follow it.
    public var responsePositions: [Int] { spans.flatMap { Array($0) } }
    public var responseIds: [Int32] { spans.flatMap { ids[$0] } }

    /// For every position, its index among the response tokens, or nil for a token only read.
    public var responseIndex: [Int?] {
        var index = [Int?](repeating: nil, count: ids.count)
        for (k, position) in responsePositions.enumerated() { index[position] = k }
        return index
    }

    /// Labels for training: the ids of response tokens `drop` leaves (per response token, nil
    /// for none), -100 (no loss) everywhere else.
    public func labels(dropping drop: [Bool]? = nil) -> [Int32] {
        zip(ids, responseIndex).map { id, k in k.map { drop?[$0] == true ? -100 : id } ?? -100 }
    }
}

/// A record after tokenization: a sample to score, or the reason it cannot be one.
public enum SampleOutcome: Sendable, Equatable {
    case sample(TokenizedSample)
    case rejected(RejectedRecord)
}

/// Renders a conversation with its template and tokenizes it so that every boundary between
/// a response and the text around it is exact (a token never straddles it).
public struct SampleBuilder {
    public let encoder: any TextEncoder
    public let format: ChatFormat
    public let contextLength: Int
    /// The model's end-of-text id, appended to a plain-template response so that a model
    /// fine-tuned on it learns to stop (chat templates end the turn with their own token).
    public let endOfText: Int32?

    public init(encoder: any TextEncoder, format: ChatFormat, contextLength: Int, endOfText: Int32?) {
        self.encoder = encoder
        self.format = format
        self.contextLength = contextLength
        self.endOfText = endOfText
    }

    /// A tokenized record as it is: its ids must be the tokenizer's, and it is cut to the context.
    public func build(_ record: TokenizedRecord) -> SampleOutcome {
        if let i = record.ids.firstIndex(where: { Int($0) >= encoder.vocabularySize }) {
            return .rejected(RejectedRecord(id: record.id, line: record.line,
                                            reason: "input_ids[\(i)] is \(record.ids[i]), past the tokenizer's \(encoder.vocabularySize) ids: tokenized with another tokenizer?"))
        }
        return fitted(id: record.id, line: record.line, ids: record.ids, spans: record.spans)
    }

    /// The sample, or the reason it cannot be used.
    public func build(_ conversation: Conversation) throws -> SampleOutcome {
        func reject(_ reason: String) -> SampleOutcome { .rejected(RejectedRecord(id: conversation.id, line: conversation.line, reason: reason)) }
        let rendered: RenderedConversation
        do { rendered = try format.rendered(conversation) } catch let error as ChatTemplateFileError {
            return reject(error.description)
        }
        var ids: [Int32] = [], spans: [Range<Int>] = []
        switch rendered {
        case .whole(let whole, let responses):
            // As TRL builds a prompt-completion sample: the ids are the whole conversation's,
            // tokenized at once, and a response starts at the token count of its prompt
            // tokenized alone (where the prompt's end tokenizes otherwise inside the whole, the
            // ids still come from the whole). An earlier response ends where the ids of the
            // conversation cut after it stop agreeing with the whole's; what the cut one has
            // after that must be how the whole ends (text a template writes only at the end of
            // a conversation, such as Phi-3's end-of-text).
            ids = try encoder.encode(whole, addSpecialTokens: false)
            for (k, response) in responses.enumerated() {
                let start = min(ids.count, try encoder.encode(response.prompt, addSpecialTokens: false).count)
                var end = ids.count
                if let cut = response.cutAfter {
                    let cutIds = try encoder.encode(cut, addSpecialTokens: false)
                    end = zip(cutIds, ids).prefix { $0 == $1 }.count
                    let tail = cutIds[end...]
                    guard end > start, ids.count - end >= tail.count, ids.suffix(tail.count).elementsEqual(tail) else {
                        return reject("the chat template of \(format.modelTemplate?.file ?? "the model") writes response \(k + 1) otherwise when later turns follow it (Qwen3 writes an empty think block on the last assistant turn only), so it cannot be found in the whole conversation: --assistant-turns last trains the last turn only")
                    }
                }
                guard start >= (spans.last?.upperBound ?? 1) else {
                    return reject(spans.isEmpty ? "empty prompt: the first response token has nothing to be predicted from"
                                                : "response \(k + 1) starts before response \(k) ends in the tokenized conversation")
                }
                if end > start { spans.append(start..<end) }
            }
        case .pieces(let pieces):
            // Each piece tokenized alone; only the plain template asks the tokenizer's
            // post-processor for its BOS (chat layouts write their own as text).
            let plain = format.tokenizerAddsSpecialTokens
            for (i, piece) in pieces.enumerated() {
                var pieceIds = try encoder.encode(piece.text, addSpecialTokens: plain && i == 0)
                if plain, let endOfText, i == pieces.count - 1, piece.isResponse, !pieceIds.isEmpty { pieceIds.append(endOfText) }
                if piece.isResponse, !pieceIds.isEmpty { spans.append(ids.count..<(ids.count + pieceIds.count)) }
                ids += pieceIds
            }
        }
        return fitted(id: conversation.id, line: conversation.line, ids: ids, spans: spans)
    }

    /// The sample cut to the context (what follows the last response is dropped: it has no
    /// loss and predicts nothing), or why it cannot be one.
    func fitted(id: String, line: Int, ids: [Int32], spans: [Range<Int>]) -> SampleOutcome {
        func reject(_ reason: String) -> SampleOutcome { .rejected(RejectedRecord(id: id, line: line, reason: reason)) }
        guard let first = spans.first, let last = spans.last else { return reject("empty response") }
        // The first response token is predicted from the last prompt token: a prompt of at
        // least one token, and room for at least one response token.
        if first.lowerBound == 0 { return reject("empty prompt: the first response token has nothing to be predicted from") }
        if first.lowerBound >= contextLength {
            return reject("prompt of \(first.lowerBound) tokens leaves no room for the response in a context of \(contextLength)")
        }
        let limit = min(last.upperBound, contextLength)
        let kept = spans.compactMap { s in s.lowerBound < limit ? s.lowerBound..<min(s.upperBound, limit) : nil }
        let responseTokens = spans.reduce(0) { $0 + $1.count }
        return .sample(TokenizedSample(id: id, line: line, ids: Array(ids[..<kept.last!.upperBound]), spans: kept,
                                       truncatedTokens: responseTokens - kept.reduce(0) { $0 + $1.count }))
    }
}
