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

/// A record as the model sees it: prompt ids then response ids, in one sequence.
public struct TokenizedSample: Sendable, Equatable {
    public let id: String
    public let line: Int
    public let ids: [Int32]
    /// Index in `ids` of the first response token.
    public let responseStart: Int
    /// Response tokens cut off the end so the sequence fits the model's context.
    public let truncatedTokens: Int

    public init(id: String, line: Int, ids: [Int32], responseStart: Int, truncatedTokens: Int) {
        self.id = id
        self.line = line
        self.ids = ids
        self.responseStart = responseStart
        self.truncatedTokens = truncatedTokens
    }

    public var responseCount: Int { ids.count - responseStart }
}

/// A record after tokenization: a sample to score, or the reason it cannot be one.
public enum SampleOutcome: Sendable, Equatable {
    case sample(TokenizedSample)
    case rejected(RejectedRecord)
}

/// Renders a conversation with its template and tokenizes prompt and response separately,
/// so the boundary between them is exact (a token never straddles it).
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
        func reject(_ reason: String) -> SampleOutcome { .rejected(RejectedRecord(id: record.id, line: record.line, reason: reason)) }
        if let i = record.ids.firstIndex(where: { Int($0) >= encoder.vocabularySize }) {
            return reject("input_ids[\(i)] is \(record.ids[i]), past the tokenizer's \(encoder.vocabularySize) ids: tokenized with another tokenizer?")
        }
        guard record.responseStart < contextLength else {
            return reject("prompt of \(record.responseStart) tokens leaves no room for the response in a context of \(contextLength)")
        }
        let kept = Array(record.ids.prefix(contextLength))
        return .sample(TokenizedSample(id: record.id, line: record.line, ids: kept, responseStart: record.responseStart,
                                       truncatedTokens: record.ids.count - kept.count))
    }

    /// The sample, or the reason it cannot be used.
    public func build(_ conversation: Conversation) throws -> SampleOutcome {
        func reject(_ reason: String) -> SampleOutcome {
            .rejected(RejectedRecord(id: conversation.id, line: conversation.line, reason: reason))
        }
        let rendered: PromptTemplate.Rendered
        do { rendered = try format.render(conversation) } catch let error as ChatTemplateFileError {
            return reject(error.description)
        }
        // Chat templates write their own BOS (`<|begin_of_text|>`, `<s>`) as text; only the
        // plain template asks the tokenizer's post-processor for one.
        let plain = format.tokenizerAddsSpecialTokens
        var prompt = try encoder.encode(rendered.prompt, addSpecialTokens: plain)
        var response: [Int32]
        if format.template == .model {
            // As TRL builds a prompt-completion sample: the ids are the whole conversation's,
            // tokenized at once, and the response starts at the prompt's token count (where the
            // prompt alone tokenizes differently at its end, those ids still come from the whole).
            let whole = try encoder.encode(rendered.prompt + rendered.response, addSpecialTokens: false)
            prompt = Array(whole.prefix(prompt.count))
            response = Array(whole.dropFirst(prompt.count))
        } else {
            response = try encoder.encode(rendered.response, addSpecialTokens: false)
        }
        if plain, let endOfText, !response.isEmpty { response.append(endOfText) }
        if response.isEmpty { return reject("empty response") }
        // The first response token is predicted from the last prompt token: a prompt of at
        // least one token, and room for at least one response token.
        if prompt.isEmpty { return reject("empty prompt: the first response token has nothing to be predicted from") }
        let room = contextLength - prompt.count
        if room < 1 {
            return reject("prompt of \(prompt.count) tokens leaves no room for the response in a context of \(contextLength)")
        }
        let cut = max(0, response.count - room)
        response.removeLast(cut)
        return .sample(TokenizedSample(id: conversation.id, line: conversation.line, ids: prompt + response,
                                        responseStart: prompt.count, truncatedTokens: cut))
    }
}
