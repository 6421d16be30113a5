import Foundation
import TestSupport
import Tokenizer
import XCTest

/// Malformed and unsupported tokenizer files: each error names the field or component.
final class LoadingTests: XCTestCase {
    /// A minimal valid tokenizer.json with `patch` merged into its top level / model.
    private func load(_ top: [String: Any] = [:], model: [String: Any] = [:]) throws -> Tokenizer {
        var m: [String: Any] = ["type": "BPE", "vocab": ["a": 0, "b": 1, "ab": 2, "<unk>": 3], "merges": ["a b"]]
        m.merge(model) { $1 }
        var root: [String: Any] = ["model": m]
        root.merge(top) { $1 }
        return try Tokenizer(json: try JSONSerialization.data(withJSONObject: root), source: "test.json")
    }

    private func assertError(_ expected: TokenizerError, _ body: () throws -> Tokenizer,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? TokenizerError else { return XCTFail("\(error)", file: file, line: line) }
            switch (e, expected) {
            case let (.invalidField(field, _), .invalidField(want, _)): XCTAssertEqual(field, want, "\(e)", file: file, line: line)
            case let (.unsupported(field, _), .unsupported(want, _)): XCTAssertEqual(field, want, "\(e)", file: file, line: line)
            case let (.malformedFile(path, _), .malformedFile(want, _)): XCTAssertEqual(path, want, "\(e)", file: file, line: line)
            case let (.cannotRead(path, _), .cannotRead(want, _)): XCTAssertEqual(path, want, "\(e)", file: file, line: line)
            default: XCTFail("got \(e), expected \(expected)", file: file, line: line)
            }
        }
    }

    /// BPETrainer: deterministic, exactly the asked size, lossless, and it learns the corpus's
    /// frequent words as single tokens.
    func testBPETrainer() throws {
        let corpus = (0..<300).map { "Ava has \($0 % 17) apples. She buys \($0 % 5) more apples, so that is \($0)." }
        let data = try BPETrainer.train(corpus, vocabularySize: 300)
        XCTAssertEqual(data, try BPETrainer.train(corpus, vocabularySize: 300))
        let t = try Tokenizer(json: data, source: "trained")
        XCTAssertEqual(t.vocabularySize, 300)
        for text in corpus.prefix(20) + ["Something else entirely: é ✓ 😀"] {
            XCTAssertEqual(t.decode(t.encode(text).ids), text)
        }
        XCTAssertEqual(t.encode(" apples").ids.count, 1)
        XCTAssertEqual(t.encode("<|endoftext|>").ids, [299])
    }

    func testValidMinimalFile() throws {
        let t = try load()
        XCTAssertEqual(t.encode("abba").ids, [2, 1, 0])
        XCTAssertEqual(t.decode([2, 1]), "ab b")  // no decoder: tokens joined by spaces
    }

    func testMalformedFilesNameTheField() {
        assertError(.malformedFile(path: "test.json", reason: "")) {
            try Tokenizer(json: Data("{not json".utf8), source: "test.json")
        }
        assertError(.cannotRead(path: "/nonexistent/tokenizer.json", reason: "")) {
            try Tokenizer.load(path: "/nonexistent/tokenizer.json")
        }
        assertError(.invalidField(field: "model.merges[1]", reason: "")) { try load(model: ["merges": ["a b", 5]]) }
        assertError(.invalidField(field: "model.merges[0]", reason: "")) { try load(model: ["merges": ["a c"]]) }
        assertError(.invalidField(field: "model.merges[0]", reason: "")) { try load(model: ["merges": [["a", "b", "c"]]]) }
        assertError(.invalidField(field: "model.vocab", reason: "")) { try load(model: ["vocab": [1, 2]]) }
        assertError(.invalidField(field: "model.vocab[\"a\"]", reason: "")) { try load(model: ["vocab": ["a": "zero"]]) }
        assertError(.invalidField(field: "model.unk_token", reason: "")) { try load(model: ["unk_token": "<missing>"]) }
        assertError(.invalidField(field: "model.byte_fallback", reason: "")) { try load(model: ["byte_fallback": "yes"]) }
        assertError(.invalidField(field: "added_tokens[0].id", reason: "")) { try load(["added_tokens": [["content": "x"]]]) }
        assertError(.invalidField(field: "pre_tokenizer.pattern.Regex", reason: "")) {
            try load(["pre_tokenizer": ["type": "Split", "pattern": ["Regex": "("], "behavior": "Isolated", "invert": false]])
        }
        assertError(.invalidField(field: "pre_tokenizer.pattern", reason: "")) {
            try load(["pre_tokenizer": ["type": "Split", "pattern": ["Glob": "*"], "behavior": "Isolated"]])
        }
        assertError(.invalidField(field: "post_processor.single[0].SpecialToken.id", reason: "")) {
            try load(["post_processor": ["type": "TemplateProcessing", "single": [["SpecialToken": ["id": "<s>", "type_id": 0]]],
                                         "special_tokens": [:]]])
        }
        assertError(.invalidField(field: "normalizer.type", reason: "")) { try load(["normalizer": ["kind": "NFC"]]) }
        // Found by FuzzTests: a negative template id trapped.
        assertError(.invalidField(field: "post_processor.special_tokens.<s>.ids[0]", reason: "")) {
            try load(["post_processor": ["type": "TemplateProcessing", "single": [["SpecialToken": ["id": "<s>", "type_id": 0]]],
                                         "special_tokens": ["<s>": ["id": "<s>", "ids": [-1], "tokens": ["<s>"]]]]])
        }
    }

    /// Ids need not be dense; a large one (FuzzTests found 2^31 - 1) must not make the loader
    /// allocate a table as long as the id.
    func testSparseVocabularyIds() throws {
        let t = try load(model: ["vocab": ["a": 0, "b": 1, "ab": 2, "<unk>": 2_147_483_647]])
        XCTAssertEqual(t.encode("abba").ids, [2, 1, 0])
        XCTAssertEqual(t.token(for: 2_147_483_647), "<unk>")
        XCTAssertNil(t.token(for: 3))
        XCTAssertEqual(t.vocabularySize, 4)
    }

    func testUnsupportedComponentsAreErrorsNamingThem() {
        assertError(.unsupported(field: "model.type", what: "")) { try load(model: ["type": "WordPiece"]) }
        assertError(.unsupported(field: "model.dropout", what: "")) { try load(model: ["dropout": 0.1]) }
        assertError(.unsupported(field: "normalizer.type", what: "")) { try load(["normalizer": ["type": "BertNormalizer"]]) }
        assertError(.unsupported(field: "normalizer.normalizers[1].type", what: "")) {
            try load(["normalizer": ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "NFD"]]]])
        }
        assertError(.unsupported(field: "pre_tokenizer.type", what: "")) { try load(["pre_tokenizer": ["type": "BertPreTokenizer"]]) }
        assertError(.unsupported(field: "pre_tokenizer.pretokenizers[1].type", what: "")) {
            try load(["pre_tokenizer": ["type": "Sequence", "pretokenizers": [["type": "Digits"], ["type": "UnicodeScripts"]]]])
        }
        assertError(.unsupported(field: "pre_tokenizer.pretokenizers[0]", what: "")) {
            try load(["pre_tokenizer": ["type": "Sequence", "pretokenizers": [["type": "ByteLevel"], ["type": "Digits"]]]])
        }
        assertError(.unsupported(field: "pre_tokenizer.behavior", what: "")) {
            try load(["pre_tokenizer": ["type": "Split", "pattern": ["String": " "], "behavior": "Sideways"]])
        }
        assertError(.unsupported(field: "post_processor.type", what: "")) { try load(["post_processor": ["type": "RobertaProcessing"]]) }
        assertError(.unsupported(field: "decoder.decoders[0].type", what: "")) {
            try load(["decoder": ["type": "Sequence", "decoders": [["type": "WordPiece"]]]])
        }
        assertError(.unsupported(field: "truncation", what: "")) { try load(["truncation": ["max_length": 8]]) }
    }

    /// transformers writes `"continuing_subword_prefix": ""` (SmolLM2); `tokenizers` loads it as no
    /// prefix, so must we, with a ByteLevel pre-tokenizer too. A real prefix there stays an error.
    func testEmptySubwordPrefixAndSuffixAreAbsent() throws {
        let byteLevel: [String: Any] = ["pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false]]
        let vocab: [String: Any] = ["a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġa": 4]
        let plain = try load(byteLevel, model: ["vocab": vocab, "merges": ["a b", "Ġ a"]])
        for empty: Any in ["", NSNull()] {
            let t = try load(byteLevel, model: ["vocab": vocab, "merges": ["a b", "Ġ a"],
                                                "continuing_subword_prefix": empty, "end_of_word_suffix": empty])
            XCTAssertEqual(t.encode("abba ab").ids, plain.encode("abba ab").ids)
        }
        XCTAssertEqual(plain.encode("abba ab").ids, [2, 1, 0, 3, 2])
        assertError(.unsupported(field: "model.continuing_subword_prefix", what: "")) {
            try load(byteLevel, model: ["vocab": vocab, "merges": ["a b"], "continuing_subword_prefix": "##"])
        }
    }

    func testInvalidUTF8NamesTheRecord() throws {
        let t = try load()
        XCTAssertThrowsError(try t.encode(utf8: [0x61, 0xFF, 0x62], record: "data.jsonl:7")) { error in
            XCTAssertEqual(error as? TokenizerError, .invalidUTF8(record: "data.jsonl:7"))
            XCTAssertTrue("\(error)".contains("data.jsonl:7"))
        }
        XCTAssertEqual(try t.encode(utf8: Array("ab".utf8), record: "r").ids, [2])
    }
}

/// The public API on GPT-2: encode, batch, decode, offsets, display text.
final class APITests: XCTestCase {
    private func gpt2() throws -> Tokenizer {
        try Tokenizer.load(path: try TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json").path)
    }

    func testEncodeDecodeOffsetsAndDisplay() throws {
        let t = try gpt2()
        let text = "Hello world! 你好 <|endoftext|>"
        let e = t.encode(text)
        XCTAssertEqual(e.ids, [15496, 995, 0, 220, 19526, 254, 25001, 121, 220, 50256])
        XCTAssertEqual(e.specialTokensMask.last, true)
        // Offsets are UTF-8 byte ranges of the input, whole characters even for byte tokens.
        let bytes = Array(text.utf8)
        let pieces = e.offsets.map { String(decoding: bytes[$0], as: UTF8.self) }
        XCTAssertEqual(pieces, ["Hello", "world", "!", "", "你", "你", "好", "好", "", "<|endoftext|>"])
        XCTAssertEqual(e.scalarOffsets(in: text)[4], 13..<14)
        XCTAssertEqual(t.decode(e.ids), "Hello world! 你好 ")
        XCTAssertEqual(t.decode(e.ids, skipSpecialTokens: false), text)
        XCTAssertEqual(t.displayText(for: 995), " world")
        XCTAssertEqual(t.displayText(for: 19526), "<0xE4><0xBD>")
        XCTAssertEqual(t.displayText(for: 198), "\\n")
        XCTAssertEqual(t.token(for: 995), "Ġworld")
        XCTAssertEqual(t.id(for: "Ġworld"), 995)
        XCTAssertEqual(t.id(for: "<|endoftext|>"), 50256)
        XCTAssertEqual(t.vocabularySize, 50257)
        let batch = ["a", "", "It's 2024.\r\n"]
        XCTAssertEqual(t.encodeBatch(batch), batch.map { t.encode($0) })
        XCTAssertEqual(t.encode("").ids, [])
    }

    func testGPT2DirectoryPrefersTokenizerJSON() throws {
        let dir = try TestPaths.sharedFile("data/tokenizers/gpt2").path
        XCTAssertEqual(try Tokenizer.load(path: dir).encode("hi there").ids, [5303, 612])
    }

    func testLongRunsRoundTrip() throws {
        // Words over 64 symbols take the heap path (compared with the reference by the
        // torture set of ParityTests); here: very long runs stay fast and round-trip.
        let t = try gpt2()
        for unit in ["ab", "9", " ", "é", "\r\n"] {
            let long = String(repeating: unit, count: 20_000)
            XCTAssertEqual(t.decode(t.encode(long).ids), long)
        }
    }
}

/// tokenizer.json files as transformers writes them after its converters (GGUF conversion of a
/// Llama-3-style and a SentencePiece-style vocabulary, and the slow -> fast conversion of a
/// GPT-2 vocab.json + merges.txt and of a SentencePiece tokenizer.model): each loads and gives
/// transformers' ids on the torture set, GSM8K questions and chat markup
/// (Fixtures/converted, made by scripts/make_converted_tokenizers.py).
final class ConvertedTokenizerTests: XCTestCase {
    func check(_ name: String) throws {
        let directory = TestPaths.packageRoot.appendingPathComponent("Tests/TokenizerTests/Fixtures/converted/\(name)")
        let tokenizer = try Tokenizer(tokenizerJSON: directory.appendingPathComponent("tokenizer.json").path)
        let fixture = try JSONSerialization.jsonObject(with: try Data(contentsOf: directory.appendingPathComponent("ids.json"))) as! [String: Any]
        let texts = fixture["texts"] as! [String], expected = fixture["ids"] as! [[Int]]
        XCTAssertGreaterThan(texts.count, 50)
        for (text, ids) in zip(texts, expected) {
            XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: false).ids, ids, "\(name): \(text.prefix(50).debugDescription)")
        }
    }

    func testGGUFConvertedLlama3Style() throws { try check("gguf-llama3") }
    func testGGUFConvertedSentencePieceStyle() throws { try check("gguf-spm") }
    func testSlowToFastGPT2() throws { try check("slow-gpt2") }
    func testSlowToFastSentencePiece() throws { try check("slow-spm") }
}
