import ChatTemplate
import Data
import Foundation
import Pipeline
import Scoring
import TestSupport
import Tokenizer
import XCTest

/// How records and domain words become token ids: the end-of-text token a plain-template
/// response ends with, and the form of TR's domain words.
final class SampleTokensTests: XCTestCase {
    func gpt2() throws -> TokenizerEncoder {
        TokenizerEncoder(tokenizer: try Tokenizer.load(path: try TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json").path))
    }

    func conversation(_ question: String, _ answer: String) -> Conversation {
        Conversation(id: "q", line: 1, context: [Message(.user, question)], response: answer)
    }

    func sample(_ outcome: SampleOutcome) throws -> TokenizedSample {
        guard case let .sample(s) = outcome else { XCTFail("rejected: \(outcome)"); throw CocoaError(.coderInvalidValue) }
        return s
    }

    func testPlainResponseEndsWithTheEndOfTextToken() throws {
        let encoder = try gpt2()
        let answer = try encoder.encode("It is 2.", addSpecialTokens: false)
        let withEnd = try sample(SampleBuilder(encoder: encoder, format: ChatFormat(builtIn: .plain), contextLength: 64, endOfText: 50256)
            .build(conversation("What is 1+1?", "It is 2.")))
        XCTAssertEqual(Array(withEnd.ids[withEnd.responseStart...]), answer + [50256])
        // A model without an end-of-text id: the response as written.
        let without = try sample(SampleBuilder(encoder: encoder, format: ChatFormat(builtIn: .plain), contextLength: 64, endOfText: nil)
            .build(conversation("What is 1+1?", "It is 2.")))
        XCTAssertEqual(Array(without.ids[without.responseStart...]), answer)
        // Truncation cuts the end-of-text token first: a cut response does not claim to end.
        let cut = try sample(SampleBuilder(encoder: encoder, format: ChatFormat(builtIn: .plain), contextLength: withEnd.ids.count - 1, endOfText: 50256)
            .build(conversation("What is 1+1?", "It is 2.")))
        XCTAssertEqual(Array(cut.ids[cut.responseStart...]), answer)
        XCTAssertEqual(cut.truncatedTokens, 1)
    }

    /// With the model's template the ids are the whole conversation's, as TRL takes them, even
    /// where the prompt alone tokenizes differently at its end: GPT-2 splits "\n\n" before a
    /// word into two tokens, but keeps it one at the end of the prompt.
    func testTheModelTemplatesIdsAreTheWholeConversations() throws {
        let encoder = try gpt2()
        let template = ModelChatTemplate(template: try ChatTemplate("{% for m in messages %}{{ m.content }}\n\n{% endfor %}"), file: "t.jinja")
        let s = try sample(SampleBuilder(encoder: encoder, format: ChatFormat(model: template), contextLength: 128, endOfText: 50256)
            .build(conversation("Hi?", "Hello.")))
        let prompt = try encoder.encode("Hi?\n\n", addSpecialTokens: false), whole = try encoder.encode("Hi?\n\nHello.\n\n", addSpecialTokens: false)
        XCTAssertFalse(whole.starts(with: prompt), "the case this test is about: the prompt's last token differs inside the whole")
        XCTAssertEqual(s.ids, whole)
        XCTAssertEqual(s.responseStart, prompt.count)
    }

    func testChatTemplatesEndWithTheirOwnTokenOnly() throws {
        // Llama 3's <|eot_id|> is not in GPT-2's vocabulary: compare against the template's own text.
        let encoder = try gpt2()
        let rendered = try ChatFormat(builtIn: .qwen2).render(conversation("Hi?", "Hello."))
        let s = try sample(SampleBuilder(encoder: encoder, format: ChatFormat(builtIn: .qwen2), contextLength: 128, endOfText: 50256)
            .build(conversation("Hi?", "Hello.")))
        XCTAssertEqual(Array(s.ids[s.responseStart...]), try encoder.encode(rendered.response, addSpecialTokens: false))
        XCTAssertFalse(s.ids.contains(50256))
    }

    func testDomainWordsInTextTakeTheFormResponsesUse() throws {
        let encoder = try gpt2()
        let spaced = try XCTUnwrap(encoder.tokenizer.id(for: "\u{0120}10"))  // "Ġ10": " 10"
        let bare = try XCTUnwrap(encoder.tokenizer.id(for: "10"))
        XCTAssertNotEqual(spaced, bare)
        XCTAssertEqual(try TaskRelevanceTable.tokens(of: "10", form: .inText, encoder: encoder), [Int32(spaced)])
        XCTAssertEqual(try TaskRelevanceTable.tokens(of: "10", form: .bare, encoder: encoder), [Int32(bare)])
        // The ids are those of the word inside a response.
        let response = try encoder.encode("so 3 + 7 = 10", addSpecialTokens: false)
        XCTAssertEqual(response.last, Int32(spaced))
        // A word of several tokens keeps all of them.
        let word = try TaskRelevanceTable.tokens(of: "multiplication", form: .inText, encoder: encoder)
        XCTAssertEqual(word, try encoder.encode(" multiplication", addSpecialTokens: false))
    }

    func testDomainWordsInTextFollowAWordStartMarker() throws {
        // A SentencePiece-style vocabulary marks word starts ("▁10") instead of a leading space,
        // and writes a leading space as a marker of its own: " 10" alone is "▁" "▁10".
        final class WordStartEncoder: TextEncoder {
            var ids: [String: Int32] = [:]
            func id(_ piece: String) -> Int32 {
                if let id = ids[piece] { return id }
                ids[piece] = Int32(ids.count); return ids[piece]!
            }
            func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int32] {
                let spaced = "\u{2581}" + text.replacingOccurrences(of: " ", with: "\u{2581}")
                var pieces: [String] = [], current = ""
                for c in spaced {
                    if c == "\u{2581}", !current.isEmpty { pieces.append(current); current = "" }
                    current.append(c)
                }
                pieces.append(current)
                return pieces.map(id)
            }
            func tokenText(_ id: Int32) -> String { ids.first { $0.value == id }!.key }
            var vocabularySize: Int { ids.count }
        }
        let encoder = WordStartEncoder()
        XCTAssertEqual(try encoder.encode(" 10", addSpecialTokens: false).map(encoder.tokenText), ["\u{2581}", "\u{2581}10"])
        XCTAssertEqual(try TaskRelevanceTable.tokens(of: "10", form: .inText, encoder: encoder).map(encoder.tokenText), ["\u{2581}10"])
    }

    func testTRIsTheCosineToTheMeanOrToTheNearestWord() {
        // Three number-like words and one operator: the mean leans towards the numbers.
        let words: [[Float]] = [[1, 0, 0], [1, 0.1, 0], [1, -0.1, 0], [0, 0, 1]]
        let mean = TaskRelevanceTable.mean(words)
        XCTAssertEqual(mean, [0.75, 0, 0.25])
        let plus: [Float] = [0, 0, 1]
        // The operator itself is far from the mean (cos = 0.25 / |mean| = 0.316) but is a word.
        XCTAssertEqual(TaskRelevanceTable.relevance(plus, words: words, mean: mean, kind: .mean), Float(0.25 / (0.625).squareRoot()), accuracy: 1e-6)
        XCTAssertEqual(TaskRelevanceTable.relevance(plus, words: words, mean: mean, kind: .nearest), 1, accuracy: 1e-6)
        // A token unlike every word scores low either way.
        let other: [Float] = [0, 1, 0]
        XCTAssertEqual(TaskRelevanceTable.relevance(other, words: words, mean: mean, kind: .mean), 0, accuracy: 1e-6)
        XCTAssertLessThan(TaskRelevanceTable.relevance(other, words: words, mean: mean, kind: .nearest), 0.1)
    }

    func testSpecialTokensAreNeverScored() throws {
        // GPT-2's <|endoftext|> (50256) is a special token; "It" (1026) is not.
        let encoder = try gpt2()
        XCTAssertTrue(encoder.isSpecial(50256))
        XCTAssertFalse(encoder.isSpecial(1026))
        var chunk = ChunkScores()
        chunk.append(TokenizedSample(id: "a", line: 1, ids: [10, 1026, 50256], responseStart: 1, truncatedTokens: 0),
                     ResponseScores(pcp: [0.99, 0.99], ri: [0.5, 0.5]))
        let table = [Float](repeating: 0.3, count: 50257)
        let scored = try XCTUnwrap(chunk.sampleScores(tr: table, unscored: encoder.isSpecial).first)
        XCTAssertEqual(scored.pcp[0], 0.99); XCTAssertEqual(scored.ri[0], 0.5); XCTAssertEqual(scored.tr[0], 0.3)
        XCTAssertTrue(scored.pcp[1].isNaN && scored.ri[1].isNaN && scored.tr[1].isNaN, "the end-of-text token got scores")
        // The rules never flag NaN: a PCP of 0.99 is flagged by KN, the special token's is not.
        XCTAssertEqual(Rules.kn(scored.pcp, tau: 0.95), [0])
    }
}
