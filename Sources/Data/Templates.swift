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

    /// A built-in layout's rendering (`ChatFormat` renders `model`).
    func render(context: [Message], response: String) -> Rendered {
        switch self {
        case .auto, .model:
            preconditionFailure("the model's template is rendered by ChatFormat")
        case .plain:
            let prompt = context.map(\.content).joined(separator: "\n\n")
            return Rendered(prompt: prompt + "\n", response: response)

        case .llama3:
            var prompt = "<|begin_of_text|>"
            for m in context {
                prompt += "<|start_header_id|>\(m.role.rawValue)<|end_header_id|>\n\n\(m.content)<|eot_id|>"
            }
            prompt += "<|start_header_id|>assistant<|end_header_id|>\n\n"
            return Rendered(prompt: prompt, response: response + "<|eot_id|>")

        case .qwen2:
            var prompt = ""
            // Qwen2's template supplies this system turn when the conversation has none.
            if context.first?.role != .system { prompt += "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" }
            for m in context { prompt += "<|im_start|>\(m.role.rawValue)\n\(m.content)<|im_end|>\n" }
            prompt += "<|im_start|>assistant\n"
            return Rendered(prompt: prompt, response: response + "<|im_end|>")

        case .mistral:
            var prompt = "<s>"
            var system: String?
            for m in context {
                switch m.role {
                case .system: system = m.content
                case .user:
                    let text = system.map { $0 + "\n\n" + m.content } ?? m.content
                    system = nil
                    prompt += "[INST] \(text) [/INST]"
                case .assistant: prompt += "\(m.content)</s>"
                case .tool: preconditionFailure("ChatFormat gives the built-in layouts text turns only")
                }
            }
            return Rendered(prompt: prompt, response: response + "</s>")
        }
    }
}
