// Tokenizer layer (issue #4): Hugging Face tokenizer.json with a BPE model, and GPT-2's
// encoder.json + vocab.bpe. Ids and decoded text match the `tokenizers` Python package
// (checked by Tests/TokenizerTests/ParityTests.swift).
import Foundation

/// The result of encoding one text.
///
/// Offsets are **UTF-8 byte offsets into the input text**, widened to whole Unicode scalars
/// (a byte-level token holding part of a multi-byte character covers the whole character,
/// so `input.utf8[offset]` is always valid UTF-8). Tokens added by the post-processor
/// (BOS/EOS) have the empty range 0..<0.
public struct Encoding: Sendable, Equatable, Codable {
    public var ids: [Int] = []
    public var offsets: [Range<Int>] = []
    /// True for added special tokens and for tokens the post-processor added.
    public var specialTokensMask: [Bool] = []

    public init() {}

    /// The offsets counted in Unicode scalars of `text` (the text that was encoded), as
    /// Python's `str` and the `tokenizers` package count them.
    public func scalarOffsets(in text: String) -> [Range<Int>] {
        // scalarIndex[i]: index of the scalar holding byte i; at the end, the scalar count.
        var scalarIndex = [Int](repeating: 0, count: text.utf8.count + 1)
        var count = 0
        for (i, b) in text.utf8.enumerated() {
            if b & 0xC0 != 0x80 { count += 1 }
            scalarIndex[i] = count - 1
        }
        scalarIndex[text.utf8.count] = count
        return offsets.map { r in
            let lo = scalarIndex[r.lowerBound]
            return r.isEmpty ? lo..<lo : lo..<(scalarIndex[r.upperBound - 1] + 1)
        }
    }

    mutating func append(_ id: Int, _ offset: Range<Int>, special: Bool) {
        ids.append(id)
        offsets.append(offset)
        specialTokensMask.append(special)
    }
}

/// A BPE tokenizer: normalizer, added tokens, pre-tokenizer, model, post-processor, decoder,
/// as in a Hugging Face tokenizer.json. Immutable and thread-safe (the word cache locks).
public final class Tokenizer: Sendable {
    private let normalizer: Normalizer?
    private let preTokenizer: PreTokenizer?
    private let model: BPEModel
    private let postProcessor: PostProcessor?
    private let decoder: Decoder?
    private let rawMatcher: AddedTokenMatcher  // added tokens with normalized: false
    private let normalizedMatcher: AddedTokenMatcher  // the others, matched after normalization
    private let addedByID: [UInt32: AddedToken]
    private let addedByContent: [String: UInt32]

    // MARK: Loading

    /// Loads `tokenizer.json`, or a directory holding `tokenizer.json` or GPT-2's
    /// `encoder.json` + `vocab.bpe`.
    public static func load(path: String) throws -> Tokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError.cannotRead(path: path, reason: "no such file or directory")
        }
        guard isDirectory.boolValue else { return try Tokenizer(tokenizerJSON: path) }
        let url = URL(fileURLWithPath: path)
        let json = url.appendingPathComponent("tokenizer.json").path
        if FileManager.default.fileExists(atPath: json) { return try Tokenizer(tokenizerJSON: json) }
        return try Tokenizer(gpt2Encoder: url.appendingPathComponent("encoder.json").path,
                             merges: url.appendingPathComponent("vocab.bpe").path)
    }

    /// Loads a Hugging Face `tokenizer.json` file.
    public convenience init(tokenizerJSON path: String) throws {
        // A field's error names the file too: "FILE: model.vocab: ...".
        do { try self.init(json: try Self.read(path), source: path) } catch TokenizerError.invalidField(let field, let reason) {
            throw TokenizerError.invalidField(field: "\(path): \(field)", reason: reason)
        } catch TokenizerError.unsupported(let field, let what) {
            throw TokenizerError.unsupported(field: "\(path): \(field)", what: what)
        }
    }

    /// Parses tokenizer.json content; `source` names it in errors.
    public convenience init(json data: Data, source: String) throws {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw TokenizerError.malformedFile(path: source, reason: "not JSON: \(error.localizedDescription)")
        }
        guard root is [String: Any] else { throw TokenizerError.malformedFile(path: source, reason: "expected a JSON object") }
        let node = JSONNode(root, path: "")
        for field in ["truncation", "padding"] where !node[field].isNull {
            throw TokenizerError.unsupported(field: field, what: "\(field) (encode without it)")
        }
        let preTokenizer = try PreTokenizer.parse(node["pre_tokenizer"])
        let model = try Self.parseModel(node["model"], byteLevel: preTokenizer?.isByteLevel ?? false)
        let added = node.has("added_tokens") ? try node["added_tokens"].array().map(AddedToken.parse) : []
        try self.init(normalizer: try Normalizer.parse(node["normalizer"]), preTokenizer: preTokenizer, model: model,
                      postProcessor: try PostProcessor.parse(node["post_processor"]),
                      decoder: try Decoder.parse(node["decoder"]), added: added)
    }

    /// Loads GPT-2's `encoder.json` (token -> id) and `vocab.bpe` (merges) with GPT-2's
    /// pipeline: byte-level pre-tokenizer and decoder; `<|endoftext|>` is a special token.
    public convenience init(gpt2Encoder encoderPath: String, merges mergesPath: String) throws {
        let encoder: Any
        do { encoder = try JSONSerialization.jsonObject(with: try Self.read(encoderPath)) } catch let e as TokenizerError {
            throw e
        } catch {
            throw TokenizerError.malformedFile(path: encoderPath, reason: "not JSON: \(error.localizedDescription)")
        }
        let vocab = try Self.parseVocab(JSONNode(encoder, path: encoderPath))
        guard let text = String(data: try Self.read(mergesPath), encoding: .utf8) else {
            throw TokenizerError.malformedFile(path: mergesPath, reason: "not UTF-8")
        }
        var merges: [(String, String)] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || (n == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw TokenizerError.invalidField(field: "\(mergesPath):\(n + 1)", reason: "expected two tokens separated by a space")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        let model = try BPEModel(vocab: vocab, merges: merges, options: .init(), byteLevel: true, field: mergesPath)
        let eot = "<|endoftext|>"
        let added = vocab[eot].map { [AddedToken(id: $0, content: Array(eot.utf8), singleWord: false, lstrip: false,
                                                 rstrip: false, normalized: false, special: true)] } ?? []
        try self.init(normalizer: nil, preTokenizer: .byteLevel(addPrefixSpace: false, useRegex: true), model: model,
                      postProcessor: .byteLevel(trimOffsets: true, addPrefixSpace: true), decoder: .byteLevel, added: added)
    }

    private init(normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: BPEModel, postProcessor: PostProcessor?,
                 decoder: Decoder?, added: [AddedToken]) throws {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer?.simplified
        self.model = model
        self.postProcessor = postProcessor
        self.decoder = decoder
        var byID: [UInt32: AddedToken] = [:], byContent: [String: UInt32] = [:]
        for t in added {
            byID[t.id] = t
            byContent[String(decoding: t.content, as: UTF8.self)] = t.id
        }
        addedByID = byID
        addedByContent = byContent
        // Special tokens first, then the others (the reference's order); normalized ones are
        // matched by their normalized form.
        let ordered = added.filter(\.special) + added.filter { !$0.special }
        rawMatcher = AddedTokenMatcher(ordered.filter { !$0.normalized }.map { ($0.content, $0) })
        normalizedMatcher = AddedTokenMatcher(ordered.filter(\.normalized).compactMap { t in
            let n = normalizer?.apply(NormalizedText(input: t.content)) ?? NormalizedText(input: t.content)
            return n.isEmpty ? nil : (Array(n.bytes), t)
        })
    }

    private static func read(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TokenizerError.cannotRead(path: path, reason: FileManager.default.fileExists(atPath: path)
                                            ? error.localizedDescription : "no such file")
        }
    }

    private static func parseVocab(_ node: JSONNode) throws -> [String: UInt32] {
        guard let dict = node.value as? [String: Any] else { throw node.fail("expected an object of token: id") }
        var vocab: [String: UInt32] = [:]
        vocab.reserveCapacity(dict.count)
        for (token, value) in dict {
            guard let n = value as? NSNumber, let id = UInt32(exactly: n.doubleValue), id < UInt32.max else {
                throw JSONNode(value, path: "\(node.path)[\(token.debugDescription)]").fail("expected a token id")
            }
            vocab[token] = id
        }
        return vocab
    }

    private static func parseModel(_ node: JSONNode, byteLevel: Bool) throws -> BPEModel {
        _ = try node.object()
        let type = node.has("type") ? try node.type() : "BPE"
        guard type == "BPE" else { throw TokenizerError.unsupported(field: node["type"].path, what: "model \(type.debugDescription)") }
        if !node["dropout"].isNull {
            // Dropout makes encoding random; 0 is the same as none.
            let p = node["dropout"].value as? NSNumber
            guard p?.doubleValue == 0 else { throw TokenizerError.unsupported(field: node["dropout"].path, what: "BPE dropout") }
        }
        let vocab = try parseVocab(node["vocab"])
        var merges: [(String, String)] = []
        for m in try node["merges"].array() {
            if let s = m.value as? String {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw m.fail("expected \"a b\"") }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let pair = m.value as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String {
                merges.append((a, b))
            } else {
                throw m.fail("expected \"a b\" or [\"a\", \"b\"]")
            }
        }
        var options = BPEModel.Options()
        options.unkToken = try node["unk_token"].optionalString()
        options.byteFallback = try node["byte_fallback"].bool(default: false)
        options.fuseUnk = try node["fuse_unk"].bool(default: false)
        options.ignoreMerges = try node["ignore_merges"].bool(default: false)
        // "" is how transformers writes "none" (SmolLM2's tokenizer.json); `tokenizers` treats
        // an empty prefix or suffix exactly as an absent one.
        options.continuingSubwordPrefix = try node["continuing_subword_prefix"].optionalString().flatMap { $0.isEmpty ? nil : $0 }
        options.endOfWordSuffix = try node["end_of_word_suffix"].optionalString().flatMap { $0.isEmpty ? nil : $0 }
        return try BPEModel(vocab: vocab, merges: merges, options: options, byteLevel: byteLevel, field: node.path)
    }

    // MARK: Encoding

    /// Encodes `text`: ids, offsets (UTF-8 bytes, see `Encoding`), special-token mask.
    /// `addSpecialTokens` applies the post-processor's template (BOS/EOS), as the reference.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> Encoding {
        encode(bytes: Array(text.utf8), addSpecialTokens: addSpecialTokens)
    }

    /// Encodes UTF-8 bytes, rejecting invalid UTF-8 with an error naming `record`.
    public func encode(utf8 bytes: [UInt8], record: String, addSpecialTokens: Bool = true) throws -> Encoding {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw TokenizerError.invalidUTF8(record: record) }
        return encode(bytes: bytes, addSpecialTokens: addSpecialTokens)
    }

    /// Encodes each text in order (one thread; the word cache is shared across texts).
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true) -> [Encoding] {
        texts.map { encode($0, addSpecialTokens: addSpecialTokens) }
    }

    private func encode(bytes: [UInt8], addSpecialTokens: Bool) -> Encoding {
        var result = Encoding()
        result.ids.reserveCapacity(bytes.count / 3 + 4)
        result.offsets.reserveCapacity(bytes.count / 3 + 4)
        // 1. Added tokens in the raw text, 2. normalize the rest, 3. added tokens in it.
        var segments: [Segment] = []
        rawMatcher.split(NormalizedText(input: bytes), into: &segments)
        if normalizer != nil || !normalizedMatcher.isEmpty {
            var next: [Segment] = []
            for s in segments {
                guard case .text(let t) = s else { next.append(s); continue }
                normalizedMatcher.split(normalizer?.apply(t) ?? t, into: &next)
            }
            segments = next
        }
        // 4. Pre-tokenize and run the model on every piece.
        for s in segments {
            switch s {
            case let .token(token, original):
                result.append(Int(token.id), original, special: token.special)
            case .text(let text):
                if let preTokenizer {
                    preTokenizer.apply(text) { appendModelTokens($0, to: &result) }
                } else {
                    appendModelTokens(text, to: &result)
                }
            }
        }
        widenToScalars(&result.offsets, bytes)
        postProcessor?.process(&result, input: bytes, addSpecialTokens: addSpecialTokens)
        return result
    }

    @inline(__always)
    private func appendModelTokens(_ piece: NormalizedText, to result: inout Encoding) {
        var position = piece.bytes.startIndex
        for token in model.tokenize(piece.bytes) {
            let length = Int(token & 0xFFFF_FFFF)
            let end = min(position + length, piece.bytes.endIndex)
            result.append(Int(token >> 32), piece.originalRange(position..<end), special: false)
            position = end
        }
    }

    private func widenToScalars(_ offsets: inout [Range<Int>], _ input: [UInt8]) {
        for k in offsets.indices {
            var lo = offsets[k].lowerBound, hi = offsets[k].upperBound
            let before = (lo, hi)
            while lo > 0 && lo < input.count && input[lo] & 0xC0 == 0x80 { lo -= 1 }
            while hi < input.count && input[hi] & 0xC0 == 0x80 { hi += 1 }
            if before != (lo, hi) { offsets[k] = lo..<hi }
        }
    }

    // MARK: Decoding and vocabulary

    /// Decodes ids to text through the decoder (tokens joined by spaces without one), as
    /// the reference's `decode`; special tokens are left out unless `skipSpecialTokens` is false.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard id >= 0 && id <= Int(UInt32.max) else { continue }
            if let added = addedByID[UInt32(id)] {
                if skipSpecialTokens && added.special { continue }
                tokens.append(String(decoding: added.content, as: UTF8.self))
            } else if let t = token(for: id) {
                tokens.append(t)
            }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    /// The token's string in the vocabulary (byte-level tokens in GPT-2's byte characters).
    public func token(for id: Int) -> String? {
        guard id >= 0 && id <= Int(UInt32.max) else { return nil }
        if let added = addedByID[UInt32(id)] { return String(decoding: added.content, as: UTF8.self) }
        return model.idToToken[UInt32(id)]
    }

    /// Whether `id` is an added special token (`<|endoftext|>`, `<|eot_id|>`, `</s>`, ...).
    public func isSpecial(_ id: Int) -> Bool {
        id >= 0 && id <= Int(UInt32.max) && addedByID[UInt32(id)]?.special == true
    }

    /// The id of a token string (added tokens first, then the model's vocabulary).
    public func id(for token: String) -> Int? {
        (addedByContent[token] ?? model.tokenToID[token]).map(Int.init)
    }

    /// A token as a person should see it in a report: its decoded text, with bytes that are
    /// not a whole character shown as `<0xAB>` and control characters escaped.
    public func displayText(for id: Int) -> String {
        guard let t = token(for: id) else { return "<unknown id \(id)>" }
        if addedByID[UInt32(id)] != nil { return t }
        var bytes: [UInt8]
        if model.byteLevel, let raw = ByteLevelAlphabet.bytes(of: t) {
            bytes = raw
        } else if t.utf8.count == 6, t.hasPrefix("<0x") {
            return t
        } else {
            bytes = Array((decoder?.decodeChain([t]).joined() ?? t).utf8)
        }
        if let s = String(validating: bytes, as: UTF8.self) {
            return s.unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined()
        }
        return bytes.map { $0 < 0x80 ? String(UnicodeScalar($0)) : String(format: "<0x%02X>", $0) }.joined()
    }

    /// One more than the largest id (model or added token): what an array indexed by token id
    /// needs, and what a model's embedding must cover. Ids may be sparse, so this can exceed
    /// `vocabularySize`.
    public var idSpan: Int {
        Int(max(model.idToToken.keys.max() ?? 0, addedByID.keys.max() ?? 0)) + 1
    }

    /// Number of distinct ids: the model's vocabulary and the added tokens.
    public var vocabularySize: Int {
        model.vocabularySize + addedByID.keys.filter { model.idToToken[$0] == nil }.count
    }
}
