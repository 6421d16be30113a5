import ChatTemplate
import Foundation

/// The template a run renders conversations with, resolved for its tokenizer: one of the
/// built-in layouts, or the model's own Jinja chat template read from the tokenizer's folder.
public struct ChatFormat: Sendable {
    /// What was resolved: a built-in layout, or `.model`.
    public let template: PromptTemplate
    public let modelTemplate: ModelChatTemplate?

    public init(builtIn template: PromptTemplate) {
        precondition(template != .model && template != .auto, "ChatFormat(builtIn:) takes a built-in layout")
        self.template = template
        modelTemplate = nil
    }

    public init(model: ModelChatTemplate) {
        template = .model
        modelTemplate = model
    }

    /// `choice` for the tokenizer at `tokenizerPath` (tokenizer.json or its folder): `model`
    /// needs a chat template there, `auto` takes it when there is one and `plain` otherwise.
    public static func resolve(_ choice: PromptTemplate, tokenizerPath: String?) throws -> ChatFormat {
        switch choice {
        case .auto, .model:
            let found = try tokenizerPath.flatMap { try ModelChatTemplate.load(near: $0) }
            if let found { return ChatFormat(model: found) }
            if choice == .auto { return ChatFormat(builtIn: .plain) }
            throw ChatTemplateFileError.missing(folder: tokenizerPath.map(ModelChatTemplate.folder(of:)) ?? "(no tokenizer given)")
        default:
            return ChatFormat(builtIn: choice)
        }
    }

    /// `auto` made concrete for settings files: `model` when the tokenizer's folder has a chat
    /// template (a file, or a `chat_template` in tokenizer_config.json), else `plain`; other
    /// choices as they are. Settings record what a run used, so a resume compares like with like.
    public static func concrete(_ choice: PromptTemplate, tokenizerPath: String?) -> PromptTemplate {
        guard choice == .auto else { return choice }
        // A template file that cannot be read counts as one: loading it then says what is wrong.
        do { return try tokenizerPath.flatMap(ModelChatTemplate.load(near:)) == nil ? .plain : .model } catch { return .model }
    }

    /// Whether the tokenizer's post-processor adds BOS/EOS: only for plain text; chat
    /// templates write their own special tokens as text (transformers renders, then encodes
    /// with `add_special_tokens=False`).
    public var tokenizerAddsSpecialTokens: Bool { template == .plain }

    /// The prompt (never trained on) and the response of a conversation.
    public func render(context: [Message], response: String) throws -> PromptTemplate.Rendered {
        try render(context: context, responseTurn: Message(.assistant, response), tools: nil)
    }

    /// The conversation's last response and the prompt before it (every earlier turn).
    public func render(_ conversation: Conversation) throws -> PromptTemplate.Rendered {
        try render(context: conversation.context, responseTurn: conversation.responseTurn, tools: conversation.tools)
    }

    func render(context: [Message], responseTurn: Message, tools: [Value]?) throws -> PromptTemplate.Rendered {
        if let modelTemplate { return try modelTemplate.render(context: context, responseTurn: responseTurn, tools: tools) }
        try checkBuiltIn(context + [responseTurn])
        return template.render(context: context, response: responseTurn.content)
    }

    /// The whole conversation, its `responseTurns` as responses.
    public func rendered(_ conversation: Conversation) throws -> RenderedConversation {
        if let modelTemplate { return try modelTemplate.rendered(conversation) }
        try checkBuiltIn(conversation.turns)
        return .pieces(template.pieces(turns: conversation.turns, responses: conversation.responseTurns))
    }

    /// The text a model is given to write its answer after.
    public func prompt(context: [Message], tools: [Value]? = nil) throws -> String {
        if let modelTemplate { return try modelTemplate.prompt(context: context, tools: tools) }
        try checkBuiltIn(context)
        return template.render(context: context, response: "").prompt
    }

    /// The built-in layouts write text turns only.
    private func checkBuiltIn(_ turns: [Message]) throws {
        if let turn = turns.first(where: { !$0.isPlainText }) {
            throw ChatTemplateFileError.cannotRender(
                "the \(template.rawValue) template has no markup for \(turn.role == .tool ? "tool results" : "tool calls"): use the model's own chat template (--template model)")
        }
    }
}

/// A chat template file that cannot be used.
public enum ChatTemplateFileError: Error, CustomStringConvertible, Equatable {
    case missing(folder: String)
    case unreadable(file: String, reason: String)
    case invalid(file: String, TemplateError)
    /// The template refused a conversation, or rendered it so that the prompt is not where
    /// the full conversation starts.
    case cannotRender(String)

    public var description: String {
        switch self {
        case .missing(let folder):
            return "\(folder): no chat template (chat_template.jinja, or chat_template in tokenizer_config.json); name a built-in one with --template"
        case .unreadable(let file, let reason): return "\(file): cannot read the chat template: \(reason)"
        case .invalid(let file, let error): return "\(file): chat template: \(error)"
        case .cannotRender(let reason): return reason
        }
    }
}

/// A model's own chat template with the special tokens it refers to (`bos_token`,
/// `eos_token`, ...). A conversation's prompt is the context rendered with
/// `add_generation_prompt=True`, its response what rendering the whole conversation adds after
/// that prompt: how TRL builds a prompt-completion sample from the same template. An earlier
/// response starts after the prompt of the turns before it (which must be how the whole
/// conversation starts) and ends where the ids of the conversation cut after it stop agreeing
/// with the whole's (found on token ids by `SampleBuilder`: what the template writes only at
/// the end of a conversation, such as Phi-3's end-of-text, is not part of it).
public struct ModelChatTemplate: Sendable {
    public let template: ChatTemplate
    /// The file it was read from.
    public let file: String
    public let variables: [String: Value]

    public init(template: ChatTemplate, file: String, variables: [String: Value] = [:]) {
        self.template = template
        self.file = file
        self.variables = variables
    }

    static func folder(of tokenizerPath: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: tokenizerPath, isDirectory: &isDirectory), isDirectory.boolValue { return tokenizerPath }
        return (tokenizerPath as NSString).deletingLastPathComponent
    }

    /// The template beside a tokenizer, as transformers finds it: chat_template.jinja, else
    /// tokenizer_config.json's `chat_template` (a string, or named templates of which
    /// "default" is used), else chat_template.json. nil when there is none.
    public static func load(near tokenizerPath: String) throws -> ModelChatTemplate? {
        let folder = URL(fileURLWithPath: folder(of: tokenizerPath))
        let configFile = folder.appendingPathComponent("tokenizer_config.json")
        var variables: [String: Value] = [:]
        var fromConfig: String?
        if FileManager.default.fileExists(atPath: configFile.path) {
            let config = try readJSON(configFile)
            guard case .dict(let fields) = config else { throw ChatTemplateFileError.unreadable(file: configFile.path, reason: "not a JSON object") }
            for key in ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] {
                switch fields[key] {
                case .string(let s)?: variables[key] = .string(s)
                case .dict(let d)?: if case .string(let s)? = d["content"] { variables[key] = .string(s) }
                default: break
                }
            }
            switch fields["chat_template"] {
            case .string(let s)?: fromConfig = s
            case .list(let named)?:
                let templates = named.compactMap { item -> (String, String)? in
                    guard case .dict(let d) = item, case .string(let name)? = d["name"], case .string(let t)? = d["template"] else { return nil }
                    return (name, t)
                }
                // transformers uses "default" and refuses a list without one.
                guard let chosen = templates.first(where: { $0.0 == "default" }) else {
                    throw ChatTemplateFileError.unreadable(file: configFile.path,
                                                           reason: "chat_template lists no template named \"default\" (it has \(templates.map(\.0).joined(separator: ", ")))")
                }
                fromConfig = chosen.1
            case nil, .none?: break
            default: throw ChatTemplateFileError.unreadable(file: configFile.path, reason: "chat_template must be a string or a list of named templates")
            }
        }
        let jinja = folder.appendingPathComponent("chat_template.jinja")
        let json = folder.appendingPathComponent("chat_template.json")
        let source: String, file: String
        if FileManager.default.fileExists(atPath: jinja.path) {
            do { source = try String(contentsOf: jinja, encoding: .utf8) } catch {
                throw ChatTemplateFileError.unreadable(file: jinja.path, reason: "not UTF-8 text")
            }
            file = jinja.path
        } else if let fromConfig {
            source = fromConfig
            file = configFile.path
        } else if FileManager.default.fileExists(atPath: json.path) {
            guard case .dict(let d) = try readJSON(json), case .string(let s)? = d["chat_template"] else {
                throw ChatTemplateFileError.unreadable(file: json.path, reason: "no chat_template string")
            }
            source = s
            file = json.path
        } else {
            return nil
        }
        do {
            return ModelChatTemplate(template: try ChatTemplate(source), file: file, variables: variables)
        } catch let error as TemplateError {
            throw ChatTemplateFileError.invalid(file: file, error)
        }
    }

    private static func readJSON(_ url: URL) throws -> Value {
        guard let data = try? Data(contentsOf: url), let text = String(data: data, encoding: .utf8) else {
            throw ChatTemplateFileError.unreadable(file: url.path, reason: "not a readable UTF-8 file")
        }
        do { return try PythonJSON.loads(text) } catch {
            throw ChatTemplateFileError.unreadable(file: url.path, reason: "\(error)")
        }
    }

    /// The turns as the template reads them: each as the dataset gave it, or role and content.
    static func messages(_ turns: [Message]) -> [Value] {
        turns.map { $0.fields ?? .dict(["role": .string($0.role.rawValue), "content": .string($0.content)]) }
    }

    private func rendered(_ turns: [Message], tools: [Value]?, addGenerationPrompt: Bool) throws -> String {
        do {
            return try template.render(messages: Self.messages(turns), tools: tools, addGenerationPrompt: addGenerationPrompt, variables: variables).text
        } catch let error as TemplateError {
            throw ChatTemplateFileError.cannotRender("the chat template of \(file) refused the conversation: \(error)")
        }
    }

    public func prompt(context: [Message], tools: [Value]? = nil) throws -> String {
        try rendered(context, tools: tools, addGenerationPrompt: true)
    }

    /// The whole conversation's text and, per response, the prompt before it (which must be
    /// where the whole conversation starts) and, before the last, the conversation cut after it.
    public func rendered(_ conversation: Conversation) throws -> RenderedConversation {
        let turns = conversation.turns, tools = conversation.tools
        let whole = try rendered(turns, tools: tools, addGenerationPrompt: false)
        var responses: [RenderedConversation.Response] = []
        for k in conversation.responseTurns {
            let prompt = try rendered(Array(turns[..<k]), tools: tools, addGenerationPrompt: true)
            guard whole.utf8.starts(with: prompt.utf8), prompt.utf8.count >= responses.last.map({ $0.prompt.utf8.count }) ?? 0 else {
                throw ChatTemplateFileError.cannotRender(k == turns.count - 1
                    ? "the chat template of \(file) renders the conversation without its prompt at the start, so the response cannot be told apart"
                    : "the chat template of \(file) renders the turns before assistant turn \(k) otherwise than the whole conversation starts (Mistral v0.3 moves the system prompt to the last user turn, DeepSeek-R1 prompts with <think>), so that turn cannot be found: --assistant-turns last trains the last turn only")
            }
            let cut = k == turns.count - 1 ? nil : try rendered(Array(turns[...k]), tools: tools, addGenerationPrompt: false)
            responses.append(RenderedConversation.Response(prompt: prompt, cutAfter: cut))
        }
        return .whole(whole, responses: responses)
    }

    public func render(context: [Message], responseTurn: Message, tools: [Value]? = nil) throws -> PromptTemplate.Rendered {
        let prompt = try self.prompt(context: context, tools: tools)
        let full = try rendered(context + [responseTurn], tools: tools, addGenerationPrompt: false)
        guard full.utf8.starts(with: prompt.utf8) else {
            throw ChatTemplateFileError.cannotRender(
                "the chat template of \(file) renders the conversation without its prompt at the start, so the response cannot be told apart")
        }
        return PromptTemplate.Rendered(prompt: prompt, response: String(decoding: full.utf8.dropFirst(prompt.utf8.count), as: UTF8.self))
    }
}
