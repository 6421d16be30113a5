/// How a conversation becomes model text: the prompt (everything up to where the response
/// starts, never trained on) and the response (scored by XTF and trained on), each as text.
/// Special tokens appear as their literal strings (`<|eot_id|>`, `</s>`), which the
/// tokenizer matches as added tokens. `model` and `auto` are resolved by `ChatFormat`; the
/// built-in layouts are for models that ship no template, each exactly one model version's.
public enum PromptTemplate: String, Codable, Sendable, CaseIterable {
    /// The model's own chat template if its tokenizer folder has one, else `plain` (the default).
    case auto
    /// The model's own Jinja chat template (chat_template.jinja or tokenizer_config.json).
    case model
    /// No chat markup: turns separated by blank lines, the response after "\n".
    case plain
    /// Meta-Llama-3-8B-Instruct (3.0): no system header unless the conversation has a system
    /// turn (Llama 3.1 and later always write one, with dates: use `model`).
    case llama3
    /// Qwen2-Instruct's ChatML with its default system turn "You are a helpful assistant."
    /// (Qwen2.5 has another default system prompt: use `model`).
    case qwen2
    /// Mistral-7B-Instruct v0.1 (`[INST] ... [/INST]`; a system turn is prepended to the first
    /// user turn; later versions differ in spaces and tool markup: use `model`).
    case mistral

    public struct Rendered: Equatable, Sendable {
        public let prompt: String
        public let response: String

        public init(prompt: String, response: String) {
            self.prompt = prompt
            self.response = response
        }
    }

    /// A built-in layout's rendering of a conversation that ends with `response`.
    func render(context: [Message], response: String) -> Rendered {
        let pieces = pieces(turns: context + [Message(.assistant, response)], responses: [context.count])
        return Rendered(prompt: pieces.filter { !$0.isResponse }.map(\.text).joined(), response: pieces.filter(\.isResponse).map(\.text).joined())
    }

    /// A built-in layout's rendering of `turns` (text turns ending with an assistant turn), the
    /// turns at `responses` written as responses: their text and the end-of-turn markup after
    /// it, as the layout's last response has. `ChatFormat` renders `model`.
    func pieces(turns: [Message], responses: [Int]) -> [RenderedPiece] {
        var out = RenderedPieces()
        let last = turns.count - 1
        func turn(_ i: Int, _ text: String) { responses.contains(i) ? out.respond(text) : out.read(text) }
        switch self {
        case .auto, .model:
            preconditionFailure("the model's template is rendered by ChatFormat")
        case .plain:
            // Turns separated by blank lines, the last one after a single newline.
            for (i, m) in turns.enumerated() {
                if i == last { out.read("\n") } else if i > 0 { out.read("\n\n") }
                turn(i, m.content)
            }

        case .llama3:
            out.read("<|begin_of_text|>")
            for (i, m) in turns.enumerated() {
                out.read("<|start_header_id|>\(m.role.rawValue)<|end_header_id|>\n\n")
                turn(i, m.content + "<|eot_id|>")
            }

        case .qwen2:
            // Qwen2's template supplies this system turn when the conversation has none.
            if turns.first?.role != .system { out.read("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n") }
            for (i, m) in turns.enumerated() {
                out.read("<|im_start|>\(m.role.rawValue)\n")
                turn(i, m.content + "<|im_end|>")
                if i < last { out.read("\n") }
            }

        case .mistral:
            out.read("<s>")
            var system: String?
            for (i, m) in turns.enumerated() {
                switch m.role {
                case .system: system = m.content
                case .user:
                    let text = system.map { $0 + "\n\n" + m.content } ?? m.content
                    system = nil
                    out.read("[INST] \(text) [/INST]")
                case .assistant: turn(i, m.content + "</s>")
                case .tool: preconditionFailure("ChatFormat gives the built-in layouts text turns only")
                }
            }
        }
        return out.pieces
    }
}

/// A run of a rendered conversation: text the model reads, or a response, which it writes
/// (scored, and trained on). A conversation's pieces joined are its whole text.
public struct RenderedPiece: Equatable, Sendable {
    public let text: String
    public let isResponse: Bool

    public init(_ text: String, isResponse: Bool) {
        self.text = text
        self.isResponse = isResponse
    }
}

/// A conversation written out for tokenizing.
public enum RenderedConversation: Equatable, Sendable {
    /// A built-in layout's pieces, each tokenized alone.
    case pieces([RenderedPiece])
    /// The model's template: the whole text, tokenized at once, and its responses in order.
    case whole(String, responses: [Response])

    public struct Response: Equatable, Sendable {
        /// The text before the response: the turns before it with the generation prompt.
        public let prompt: String
        /// The conversation ending with this response (nil for the last: the whole).
        public let cutAfter: String?
    }
}

/// Pieces built left to right: neighbours of one kind joined, empty text dropped.
struct RenderedPieces {
    private(set) var pieces: [RenderedPiece] = []

    mutating func read(_ text: String) { add(text, isResponse: false) }
    mutating func respond(_ text: String) { add(text, isResponse: true) }

    mutating func add(_ text: String, isResponse: Bool) {
        guard !text.isEmpty else { return }
        if let tail = pieces.last, tail.isResponse == isResponse {
            pieces[pieces.count - 1] = RenderedPiece(tail.text + text, isResponse: isResponse)
        } else {
            pieces.append(RenderedPiece(text, isResponse: isResponse))
        }
    }
}
