import Foundation
import TestSupport
import Tokenizer
import XCTest

/// The tokenizer.json loader on mutated files: each either loads, and then encodes and
/// decodes a text with consistent results, or throws a TokenizerError naming the file or
/// the JSON field at fault.
final class TokenizerFuzzTests: XCTestCase {
    func testTokenizerLoaderOnMutatedFiles() throws {
        try Fuzzer(target: "tokenizer", seeds: try Self.seeds(), mutations: Mutation.bytes + Mutation.json).run(check: Self.check)
    }

    /// Small files in the layouts the loader supports, so that most mutations land on a
    /// component's options rather than in a long vocabulary.
    static func seeds() throws -> [[UInt8]] {
        let gpt2 = try gpt2Prefix(tokens: 300)
        var llama3 = gpt2
        llama3["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#],
             "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
        ]]
        llama3["post_processor"] = ["type": "Sequence", "processors": [
            ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true],
            ["type": "TemplateProcessing", "single": [["SpecialToken": ["id": "<|begin_of_text|>", "type_id": 0]],
                                                      ["Sequence": ["id": "A", "type_id": 0]]],
             "pair": [], "special_tokens": ["<|begin_of_text|>": ["id": "<|begin_of_text|>", "ids": [300], "tokens": ["<|begin_of_text|>"]]]],
        ]]
        llama3["added_tokens"] = [
            ["id": 300, "content": "<|begin_of_text|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true],
            ["id": 301, "content": "<|eot_id|>", "single_word": false, "lstrip": true, "rstrip": true, "normalized": false, "special": true],
        ]
        var model = llama3["model"] as! [String: Any]
        model["ignore_merges"] = true
        llama3["model"] = model

        let trained = try BPETrainer.train((0..<50).map { "Ava has \($0 % 7) apples; she buys \($0) more.\n" }, vocabularySize: 280)
        let json = { (o: Any) in Array(try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])) }
        return try [json(gpt2), json(llama3), Array(trained), Array(llama2.utf8), Array(components.utf8)]
    }

    /// GPT-2's real tokenizer.json with only its first `tokens` ids and the merges among them.
    static func gpt2Prefix(tokens: Int) throws -> [String: Any] {
        let url = try TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json")
        var root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var model = root["model"] as! [String: Any]
        let vocab = (model["vocab"] as! [String: Int]).filter { $0.value < tokens }
        model["vocab"] = vocab
        model["merges"] = (model["merges"] as! [[String]]).filter { vocab[$0[0]] != nil && vocab[$0[1]] != nil && vocab[$0[0] + $0[1]] != nil }
        root["model"] = model
        return root
    }

    /// Llama 2's layout: normalizer instead of pre-tokenizer, byte fallback, fused unknowns,
    /// a BOS template and the decoder chain that undoes it all.
    static let llama2 = #"""
        {"version": "1.0", "truncation": null, "padding": null,
         "added_tokens": [{"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                          {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                          {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
         "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
         "pre_tokenizer": null,
         "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                            "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
         "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
                                                      {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
         "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": null,
                   "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
                   "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0xE4>": 3, "<0xBD>": 4, "<0xA0>": 5, "▁": 6, "a": 7, "b": 8, "l": 9, "o": 10,
                             "▁a": 11, "ab": 12, "lo": 13, "▁lo": 14, "H": 15, "e": 16, "He": 17},
                   "merges": ["▁ a", "a b", "l o", "▁ lo", "H e"]}}
        """#

    /// The remaining components: Unicode normalizers, word and digit splitting, Metaspace,
    /// subword prefix and suffix.
    static let components = #"""
        {"added_tokens": [{"id": 9, "content": "[X]", "single_word": true, "lstrip": true, "rstrip": false, "normalized": true, "special": false}],
         "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": true, "strip_right": true},
                                                            {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}]},
         "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Isolated"},
                                                                 {"type": "Digits", "individual_digits": true}, {"type": "Whitespace"},
                                                                 {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}]},
         "post_processor": null,
         "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
         "model": {"type": "BPE", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>",
                   "vocab": {"[UNK]": 0, "h": 1, "##e": 2, "he": 3, "##l": 4, "##o</w>": 5, "hel": 6, "1": 7, "!": 8},
                   "merges": [["h", "##e"], ["he", "##l"]]}}
        """#

    /// A text with added tokens, Unicode, digits, spaces, newlines and unknown characters.
    static let text = "Hello world! <|endoftext|> 12345  \t\r\n café 你好 😀 it's ▁a<s>[X] abab </s><|eot_id|>"

    static func check(_ path: String) -> FuzzOutcome {
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer.load(path: path) } catch let error as TokenizerError {
            switch error {
            case .cannotRead(let file, _), .malformedFile(let file, _):
                return file == path ? .refused : .violation("error names \(file), not the file: \(error)")
            case .invalidField(let field, _), .unsupported(let field, _):
                return field.isEmpty ? .violation("error without its field: \(error)") : .refused
            case .invalidUTF8:
                return .violation("loading reported input text: \(error)")
            }
        } catch {
            return .violation("untyped error \(type(of: error)): \(error)")
        }

        let bytes = Array(text.utf8)
        let encoding = tokenizer.encode(text)
        guard encoding.ids.count == encoding.offsets.count, encoding.ids.count == encoding.specialTokensMask.count else {
            return .violation("\(encoding.ids.count) ids, \(encoding.offsets.count) offsets, \(encoding.specialTokensMask.count) mask entries")
        }
        if let bad = encoding.offsets.first(where: { $0.lowerBound < 0 || $0.upperBound > bytes.count }) {
            return .violation("offset \(bad) outside the \(bytes.count)-byte text")
        }
        _ = encoding.scalarOffsets(in: text)
        _ = tokenizer.decode(encoding.ids)
        _ = tokenizer.decode(encoding.ids + [-1, Int(UInt32.max), Int.max], skipSpecialTokens: false)
        for id in Set(encoding.ids) { _ = tokenizer.displayText(for: id) }
        _ = tokenizer.vocabularySize
        do {
            _ = try tokenizer.encode(utf8: [0x61, 0xFF], record: "fuzz:1")
            return .violation("invalid UTF-8 was encoded")
        } catch {
            return error as? TokenizerError == .invalidUTF8(record: "fuzz:1") ? .parsed : .violation("invalid UTF-8 gave \(error)")
        }
    }
}
