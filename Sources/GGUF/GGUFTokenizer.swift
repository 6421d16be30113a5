import Foundation

/// The Hugging Face tokenizer files a GGUF's `tokenizer.*` metadata describes: tokenizer.json
/// (the pipeline the `tokenizers` package runs) and tokenizer_config.json (special tokens, the
/// chat template). The pre-tokenizer follows llama.cpp's choice for `tokenizer.ggml.pre`,
/// since the file was made for llama.cpp and its merges were learned with that split.
public struct GGUFTokenizer {
    let file: GGUFFile
    public let tokens: [String]
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

    public init(file: GGUFFile) throws {
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
    public func tokenizerJSON() throws -> [String: Any] {
        let model = try file.string("tokenizer.ggml.model")
        switch model {
        case "gpt2": return try byteLevelBPE()
        case "llama": return try sentencePieceBPE()
        default:
            throw GGUFError.unsupported(path: file.path, field: "tokenizer.ggml.model", detail: "tokenizer model \"\(model)\" (supported: gpt2, llama)")
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

    /// SentencePiece's vocabulary as BPE, the way Llama 2's tokenizer.json has it: merges rebuilt
    /// from the scores (the file has none), byte fallback, and llama.cpp's add_space_prefix as a
    /// normalizer ("▁" before each text, every space a "▁"), with the decoders that undo it.
    private func sentencePieceBPE() throws -> [String: Any] {
        guard let scores = try file.optionalDoubles("tokenizer.ggml.scores") else {
            throw GGUFError.missingField(path: file.path, field: "tokenizer.ggml.scores")
        }
        guard scores.count == tokens.count else {
            throw GGUFError.invalidField(path: file.path, field: "tokenizer.ggml.scores", detail: "\(scores.count) scores for \(tokens.count) tokens")
        }
        let merges: [[String]] = try file.optionalStrings("tokenizer.ggml.merges")?.map { $0.split(separator: " ", maxSplits: 1).map(String.init) }
            ?? Self.mergesFromScores(tokens, scores)
        let spacePrefix = try file.optionalBool("tokenizer.ggml.add_space_prefix") ?? true
        let space: [String: Any] = ["type": "Replace", "pattern": ["String": " "], "content": "\u{2581}"]
        let decoders: [[String: Any]] = [["type": "Replace", "pattern": ["String": "\u{2581}"], "content": " "],
                                         ["type": "ByteFallback"], ["type": "Fuse"]]
        let bpe: [String: Any] = [
            "type": "BPE", "dropout": NSNull(), "unk_token": try token("tokenizer.ggml.unknown_token_id")?.text ?? NSNull(),
            "continuing_subword_prefix": NSNull(), "end_of_word_suffix": NSNull(), "fuse_unk": true, "byte_fallback": true,
            "ignore_merges": false, "vocab": vocabulary(), "merges": merges,
        ]
        return [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": addedTokens(),
            "normalizer": ["type": "Sequence", "normalizers": spacePrefix ? [["type": "Prepend", "prepend": "\u{2581}"], space] : [space]],
            "pre_tokenizer": NSNull(), "post_processor": try template() ?? NSNull(),
            "decoder": ["type": "Sequence", "decoders": decoders + (spacePrefix ? [["type": "Strip", "content": " ", "start": 1, "stop": 0]] : [])],
            "model": bpe,
        ]
    }

    /// The merges a SentencePiece vocabulary implies, as transformers' `generate_merges` orders
    /// them: every split of every token into two tokens, best score of the whole first, then the
    /// longer left and right parts; ties keep vocabulary order (splits of one token by the ids
    /// of their parts).
    public static func mergesFromScores(_ tokens: [String], _ scores: [Double]) -> [[String]] {
        var ids: [String: Int] = [:]
        for (id, token) in tokens.enumerated() { ids[token] = id }
        // Both parts are tokens, so only splits at token lengths can match: one very long token
        // then costs a few splits instead of as many as it has characters.
        let lengths = Set(tokens.map(\.unicodeScalars.count))
        var candidates: [(left: String, right: String, score: Double, leftLength: Int, rightLength: Int)] = []
        var seen = Set<String>()
        for token in tokens where seen.insert(token).inserted {
            let scalars = Array(token.unicodeScalars), score = scores[ids[token]!]
            var splits: [(left: String, right: String, ids: (Int, Int))] = []
            for k in 1..<max(1, scalars.count) where lengths.contains(k) && lengths.contains(scalars.count - k) {
                var left = "", right = ""
                left.unicodeScalars.append(contentsOf: scalars[..<k])
                right.unicodeScalars.append(contentsOf: scalars[k...])
                if let a = ids[left], let b = ids[right] { splits.append((left, right, (a, b))) }
            }
            splits.sort { $0.ids < $1.ids }
            candidates += splits.map { ($0.left, $0.right, score, $0.left.unicodeScalars.count, $0.right.unicodeScalars.count) }
        }
        // Stable: equal keys keep the order above, as Python's sorted(reverse=True) does.
        let order = candidates.indices.sorted { i, j in
            let a = candidates[i], b = candidates[j]
            if a.score != b.score { return a.score > b.score }
            if a.leftLength != b.leftLength { return a.leftLength > b.leftLength }
            if a.rightLength != b.rightLength { return a.rightLength > b.rightLength }
            return i < j
        }
        return order.map { [candidates[$0].left, candidates[$0].right] }
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

    /// The token a `tokenizer.ggml.*_token_id` key names; nil when the key is absent, except
    /// that a SentencePiece vocabulary (tokenizer.ggml.model "llama") has llama.cpp's defaults:
    /// unknown 0, BOS 1, EOS 2.
    func token(_ key: String) throws -> (id: Int, text: String)? {
        let sentencePieceDefaults = ["tokenizer.ggml.unknown_token_id": 0, "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2]
        let fallback = try file.optionalString("tokenizer.ggml.model") == "llama" ? sentencePieceDefaults[key] : nil
        guard let id = try file.optionalInt(key) ?? fallback.flatMap({ $0 < tokens.count ? $0 : nil }) else { return nil }
        guard id < tokens.count else {
            throw GGUFError.invalidField(path: file.path, field: key, detail: "\(id) is past the \(tokens.count) tokens")
        }
        return (id, tokens[id])
    }

    /// tokenizer_config.json: special tokens, BOS/EOS flags and the chat template.
    public func tokenizerConfig(contextLength: Int) throws -> [String: Any] {
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
