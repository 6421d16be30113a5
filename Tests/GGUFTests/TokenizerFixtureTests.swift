import Foundation
import GGUF
import TestSupport
import Tokenizer
import XCTest

/// Tokenizer-only GGUFs written by gguf-py (Tests/GGUFTests/Fixtures, made once by
/// scripts/make_gguf_tokenizer_fixture.py): the tokenizer.json built from their metadata gives
/// the reference's ids. spm: a SentencePiece vocabulary (tokenizer.ggml.model "llama": tokens,
/// scores, token types, no merges); llama3: a byte-level one with tokenizer.ggml.pre "llama-bpe".
final class TokenizerFixtureTests: XCTestCase {
    private let fixtures = TestPaths.packageRoot.appendingPathComponent("Tests/GGUFTests/Fixtures")

    private func tokenizer(_ name: String) throws -> (Tokenizer, GGUFTokenizer) {
        let file = try GGUFFile(path: fixtures.appendingPathComponent("\(name)-tokenizer.gguf").path)
        let gguf = try GGUFTokenizer(file: file)
        let json = try JSONSerialization.data(withJSONObject: try gguf.tokenizerJSON())
        return (try Tokenizer(json: json, source: "\(name)-tokenizer.gguf"), gguf)
    }

    private func compare(_ name: String, addSpecialTokens: Bool) throws {
        let (tokenizer, _) = try tokenizer(name)
        let fixture = try JSONSerialization.jsonObject(with: try Data(contentsOf: fixtures.appendingPathComponent("\(name)-tokenizer-ids.json"))) as! [String: Any]
        let records = fixture["records"] as! [[String: Any]]
        XCTAssertGreaterThan(records.count, 100)
        for (n, record) in records.enumerated() {
            let text = record["text"] as! String, expected = record["ids"] as! [Int]
            let ids = tokenizer.encode(text, addSpecialTokens: addSpecialTokens).ids
            guard ids == expected else {
                let at = zip(ids, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, expected.count)
                return XCTFail("\(name) record \(n) \(text.prefix(60).debugDescription): first difference at token \(at): \(ids[at...].prefix(5)) vs \(expected[at...].prefix(5))")
            }
        }
    }

    /// Merges rebuilt from the scores, byte fallback, llama.cpp's space prefix (ids without BOS).
    func testSentencePieceIdsMatchReference() throws { try compare("spm", addSpecialTokens: false) }

    /// The Llama 3 split, whole pre-tokens in the vocabulary taken without merging
    /// (ignore_merges, as llama.cpp for llama-bpe), BOS first.
    func testLlama3IdsMatchReference() throws { try compare("llama3", addSpecialTokens: true) }

    /// add_bos_token puts <s> first; decoding undoes the space prefix and the byte fallback.
    func testBOSAndDecoding() throws {
        let (tokenizer, gguf) = try tokenizer("spm")
        let text = " Ünïcödé 🤗 and plain words"
        let ids = tokenizer.encode(text).ids
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(ids.dropFirst().map { $0 }, tokenizer.encode(text, addSpecialTokens: false).ids)
        XCTAssertEqual(tokenizer.decode(ids), text)
        let config = try gguf.tokenizerConfig(contextLength: 4096)
        XCTAssertEqual(config["bos_token"] as? String, "<s>")
        XCTAssertEqual(config["unk_token"] as? String, "<unk>")
        XCTAssertEqual(config["add_bos_token"] as? Bool, true)
    }

    /// transformers' generate_merges on a small vocabulary: every split into two tokens, the
    /// better score first, then the longer left part.
    func testMergesFromScores() {
        let tokens = ["a", "b", "c", "ab", "bc", "abc", "ca"]
        let scores: [Double] = [0, 0, 0, -1, -2, -0.5, -3]
        XCTAssertEqual(GGUFTokenizer.mergesFromScores(tokens, scores),
                       [["ab", "c"], ["a", "bc"], ["a", "b"], ["b", "c"], ["c", "a"]])
    }
}
