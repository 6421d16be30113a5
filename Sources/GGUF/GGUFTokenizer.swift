import Foundation

/// The Hugging Face tokenizer files a GGUF's `tokenizer.*` metadata describes: tokenizer.json
/// (the pipeline the `tokenizers` package runs) and tokenizer_config.json (special tokens, the
/// chat template). The pre-tokenizer follows llama.cpp's choice for `tokenizer.ggml.pre`,
/// since the file was made for llama.cpp and its merges were learned with that split.
struct GGUFTokenizer {
    let file: GGUFFile
    let tokens: [String]
    /// llama.cpp's token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    let types: [Int]
    let addBOS: Bool
    let addEOS: Bool

    static let control = 3, userDefined = 4, unknown = 2

    /// `tokenizer.ggml.pre` values with llama.cpp's pre-tokenizer, as tokenizer.json steps.
    static var byteLevelPreTokenizers: [String: [String: Any]] {
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        // llama.cpp's LLAMA3 split; the ByteLevel after it only maps bytes.
        let llama3: [String: Any] = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#],
             "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
        ]]
        // SMOLLM (and STARCODER, REFACT, ...): every digit alone, then GPT-2's split.
        let digitsThenGPT2: [String: Any] = ["type": "Sequence", "pretokenizers": [
            ["type": "Digits", "individual_digits": true], byteLevel,
        ]]
        return ["gpt-2": byteLevel, "gpt2": byteLevel, "smollm": digitsThenGPT2, "starcoder": digitsThenGPT2,
                "refact": digitsThenGPT2, "llama-bpe": llama3, "llama3": llama3, "llama-v3": llama3]
    }

    /// llama.cpp merges whole pre-tokens that are in the vocabulary without BPE for these.
    static let ignoringMerges: Set<String> = ["llama-bpe", "llama3", "llama-v3"]

    init(file: GGUFFile) throws {
        self.file = file
        guard let tokens = try file.optionalStrings("tokenizer.ggml.tokens") else {
            throw GGUFError.missingField(path: file.path, field: "tokenizer.ggml.tokens")
        }
        self.tokens = tokens
        let types = try file.optionalInts("tokenizer.ggml.token_type") ?? Array(repeating: 1, count: tokens.count)
        guard types.count == tokens.count else {
            throw GGUFError.invalidField(path: file.path, field: "tokenizer.ggml.token_type",
                                         detail: "\(types.count) types for \(tokens.count) tokens")
        }
        self.types = types
        let model = try file.string("tokenizer.ggml.model")
        let pre = try file.optionalString("tokenizer.ggml.pre")
        // Absent keys: llama.cpp adds BOS for SentencePiece vocabularies and Llama 3's, not GPT-2's.
        addBOS = try file.optionalBool("tokenizer.ggml.add_bos_token") ?? (model == "llama" || Self.ignoringMerges.contains(pre ?? ""))
        addEOS = try file.optionalBool("tokenizer.ggml.add_eos_token") ?? false
    }

    /// tokenizer.json as a JSON object.
    func tokenizerJSON() throws -> [String: Any] {
        let model = try file.string("tokenizer.ggml.model")
        switch model {
        case "gpt2": return try byteLevelBPE()
        default:
            throw GGUFError.unsupported(path: file.path, field: "tokenizer.ggml.model", detail: "tokenizer model \"\(model)\" (supported: gpt2)")
        }
    }

    /// Byte-level BPE: the tokens are already in GPT-2's byte alphabet, merges are "a b".
    private func byteLevelBPE() throws -> [String: Any] {
        guard let merges = try file.optionalStrings("tokenizer.ggml.merges") else {
            throw GGUFError.missingField(path: file.path, field: "tokenizer.ggml.merges")
        }
        guard let pre = try file.optionalString("tokenizer.ggml.pre") else {
            throw GGUFError.missingField(path: file.path, field: "tokenizer.ggml.pre")
        }
        guard let preTokenizer = Self.byteLevelPreTokenizers[pre] else {
            throw GGUFError.unsupported(path: file.path, field: "tokenizer.ggml.pre", detail: "pre-tokenizer \"\(pre)\" (supported: "
                                        + Self.byteLevelPreTokenizers.keys.sorted().joined(separator: ", ") + ")")
        }
        let bpe: [String: Any] = [
            "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
            "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": Self.ignoringMerges.contains(pre), "vocab": vocabulary(), "merges": merges,
        ]
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true]
        return [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": addedTokens(),
            "normalizer": NSNull(), "pre_tokenizer": preTokenizer,
            "post_processor": try template() ?? byteLevel,
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true] as [String: Any],
            "model": bpe,
        ]
    }

    /// Token -> id; a token listed twice keeps its last id, as transformers' conversion does.
    private func vocabulary() -> [String: Int] {
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { vocab[token] = id }
        return vocab
    }

    /// Control and unknown tokens are special added tokens (matched whole, left out when
    /// decoding); user-defined ones are added tokens that are not special.
    private func addedTokens() -> [[String: Any]] {
        types.enumerated().compactMap { id, type -> [String: Any]? in
            guard type == Self.control || type == Self.userDefined || type == Self.unknown else { return nil }
            return ["id": id, "content": tokens[id], "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": type != Self.userDefined]
        }
    }

    /// BOS / EOS around the text when the file asks for them (nil when it asks for neither).
    private func template() throws -> [String: Any]? {
        guard addBOS || addEOS else { return nil }
        var specials: [String: Any] = [:]
        func special(_ key: String) throws -> [String: Any] {
            guard let token = try self.token(key) else { throw GGUFError.missingField(path: file.path, field: key) }
            specials[token.text] = ["id": token.text, "ids": [token.id], "tokens": [token.text]]
            return ["SpecialToken": ["id": token.text, "type_id": 0]]
        }
        func sequence(_ id: String, _ typeID: Int) throws -> [[String: Any]] {
            (addBOS ? [try special("tokenizer.ggml.bos_token_id")] : []) + [["Sequence": ["id": id, "type_id": typeID]]]
                + (addEOS ? [try special("tokenizer.ggml.eos_token_id")] : [])
        }
        let single = try sequence("A", 0)
        return ["type": "TemplateProcessing", "single": single, "pair": single + (try sequence("B", 1)), "special_tokens": specials]
    }

    /// The token a `tokenizer.ggml.*_token_id` key names; nil when the key is absent.
    func token(_ key: String) throws -> (id: Int, text: String)? {
        guard let id = try file.optionalInt(key) else { return nil }
        guard id < tokens.count else {
            throw GGUFError.invalidField(path: file.path, field: key, detail: "\(id) is past the \(tokens.count) tokens")
        }
        return (id, tokens[id])
    }

    /// tokenizer_config.json: special tokens, BOS/EOS flags and the chat template.
    func tokenizerConfig(contextLength: Int) throws -> [String: Any] {
        var config: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": addBOS, "add_eos_token": addEOS,
            "clean_up_tokenization_spaces": false, "model_max_length": contextLength,
        ]
        for (name, key) in [("bos_token", "bos"), ("eos_token", "eos"), ("unk_token", "unknown"), ("pad_token", "padding")] {
            if let token = try token("tokenizer.ggml.\(key)_token_id") { config[name] = token.text }
        }
        if let template = try file.optionalString("tokenizer.chat_template") { config["chat_template"] = template }
        return config
    }
}
