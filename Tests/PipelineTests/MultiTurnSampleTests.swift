import ChatTemplate
import Data
import Foundation
import Pipeline
import TestSupport
import Tokenizer
import XCTest

/// Samples with several responses: their token spans, truncation, training labels, the score
/// files, and a multi-turn dataset scored and masked alike at -np 1, 2 and 4.
final class MultiTurnSampleTests: XCTestCase {
    let chatML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"

    func gpt2() throws -> TokenizerEncoder {
        TokenizerEncoder(tokenizer: try Tokenizer.load(path: try TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json").path))
    }

    func twoAnswers(_ responses: [Int] = [2, 4]) -> Conversation {
        Conversation(id: "c", line: 1, turns: [Message(.system, "Be exact."), Message(.user, "What is 2+2?"), Message(.assistant, "It is 4."),
                                               Message(.user, "And times 3?"), Message(.assistant, "It is 12.")], responseTurns: responses)
    }

    func sample(_ outcome: SampleOutcome) throws -> TokenizedSample {
        guard case let .sample(s) = outcome else { XCTFail("rejected: \(outcome)"); throw CocoaError(.coderInvalidValue) }
        return s
    }

    func text(_ encoder: TokenizerEncoder, _ ids: [Int32]) -> String { encoder.tokenizer.decode(ids.map(Int.init)) }

    func testEveryResponseIsASpanOfItsTokens() throws {
        let encoder = try gpt2()
        for format in [ChatFormat(builtIn: .qwen2), ChatFormat(model: ModelChatTemplate(template: try ChatTemplate(chatML), file: "t.jinja"))] {
            let builder = SampleBuilder(encoder: encoder, format: format, contextLength: 256, endOfText: 50256)
            let s = try sample(try builder.build(twoAnswers()))
            let label = "\(format.template)"
            XCTAssertEqual(s.spans.count, 2, label)
            XCTAssertEqual(s.spans.map { text(encoder, Array(s.ids[$0])) }.map { $0.replacingOccurrences(of: "\n", with: "") },
                           ["It is 4.<|im_end|>", "It is 12.<|im_end|>"], label)
            XCTAssertEqual(text(encoder, Array(s.ids[s.spans[0].upperBound..<s.spans[1].lowerBound])).trimmingCharacters(in: .newlines),
                           "<|im_start|>user\nAnd times 3?<|im_end|>\n<|im_start|>assistant", label)
            XCTAssertEqual(s.responseIds, s.responsePositions.map { s.ids[$0] }, label)
            XCTAssertEqual(s.labels().enumerated().filter { $0.element != -100 }.map(\.offset), s.responsePositions, label)
            // The last turn only: the same text, one response, the first answer read as prompt.
            let last = try sample(try builder.build(twoAnswers([4])))
            XCTAssertEqual(text(encoder, last.ids), text(encoder, s.ids), label)
            XCTAssertEqual(last.spans.count, 1, label)
            XCTAssertEqual(text(encoder, last.responseIds), text(encoder, Array(s.ids[s.spans[1]])), label)
            if format.template == .model {
                XCTAssertEqual(s.ids, try encoder.encode(try format.pieces(twoAnswers()).map(\.text).joined(), addSpecialTokens: false),
                               "the model's template: the whole conversation tokenized at once")
                XCTAssertEqual(last.ids, s.ids)
            }
            // Cut inside the second answer: its head stays, the cut counts response tokens only.
            let inside = try sample(try SampleBuilder(encoder: encoder, format: format, contextLength: s.spans[1].lowerBound + 2, endOfText: 50256).build(twoAnswers()))
            XCTAssertEqual(inside.spans, [s.spans[0], s.spans[1].lowerBound..<(s.spans[1].lowerBound + 2)], label)
            XCTAssertEqual(inside.truncatedTokens, s.spans[1].count - 2, label)
            // Cut before it: the turns after the first answer have nothing to train and are dropped.
            let before = try sample(try SampleBuilder(encoder: encoder, format: format, contextLength: s.spans[1].lowerBound - 1, endOfText: 50256).build(twoAnswers()))
            XCTAssertEqual(before.spans, [s.spans[0]], label)
            XCTAssertEqual(before.ids, Array(s.ids[..<s.spans[0].upperBound]), label)
            XCTAssertEqual(before.truncatedTokens, s.spans[1].count, label)
        }
    }

    func testTokenizedRecordsKeepEveryRunWithALoss() throws {
        let url = try TestPaths.scratchDirectory("multi-turn-tokenized").appendingPathComponent("data.jsonl")
        try #"{"input_ids": [1, 2, 3, 4, 5, 6, 7], "labels": [-100, 2, 3, -100, -100, 6, -100]}"#.appending("\n").write(to: url, atomically: true, encoding: .utf8)
        for (turns, spans) in [(AssistantTurns.all, [1..<3, 5..<6]), (.last, [5..<6])] {
            var spec = DatasetSpec(path: url.path, format: .tokenized)
            spec.assistantTurns = turns
            guard case .tokens(let record)? = try Dataset(spec).records(in: nil).first else { return XCTFail("\(turns)") }
            XCTAssertEqual(record.ids, [1, 2, 3, 4, 5, 6], "nothing after the last response")
            XCTAssertEqual(record.spans, spans, "\(turns)")
        }
    }

    func testTrainingFromADatasetLabelsEveryAssistantTurn() throws {
        let url = try TestPaths.scratchDirectory("multi-turn-train").appendingPathComponent("chat.jsonl")
        try #"{"messages": [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]}"#
            .appending("\n").write(to: url, atomically: true, encoding: .utf8)
        let encoder = try gpt2()
        for (turns, answers) in [(AssistantTurns.all, ["A1<|im_end|>", "A2<|im_end|>"]), (.last, ["A2<|im_end|>"])] {
            var spec = DatasetSpec(path: url.path, format: .chat)
            spec.assistantTurns = turns
            let loaded = try TrainingData.load(dataset: spec, format: ChatFormat(builtIn: .qwen2), encoder: encoder, maxLength: 128, endOfText: 50256, policy: .fail)
            let s = try XCTUnwrap(loaded.samples.first)
            // The runs of labelled tokens, as text.
            var runs: [[Int32]] = [], current: [Int32] = []
            for label in s.labels + [-100] {
                if label == -100 { if !current.isEmpty { runs.append(current); current = [] } } else { current.append(label) }
            }
            XCTAssertEqual(runs.map { text(encoder, $0) }, answers, "\(turns)")
        }
    }

    func testScoreFilesKeepTheSpansAndReadOneResponseFiles() throws {
        let dir = try TestPaths.scratchDirectory("multi-turn-chunk")
        var chunk = ChunkScores()
        let two = TokenizedSample(id: "a", line: 1, ids: [5, 6, 7, 8, 9, 10], spans: [1..<3, 4..<6], truncatedTokens: 1)
        let one = TokenizedSample(id: "b", line: 2, ids: [5, 6, 7], responseStart: 2, truncatedTokens: 0)
        chunk.append(two, ResponseScores(pcp: [0.1, 0.2, 0.3, 0.4], ri: [1, 2, 3, 4]))
        chunk.append(one, ResponseScores(pcp: [0.5], ri: [5]))
        let scores = dir.appendingPathComponent("scores.safetensors").path, index = dir.appendingPathComponent("index.jsonl").path
        try chunk.write(scores: scores, index: index)
        let back = try ChunkScores.read(scores: scores, index: index)
        XCTAssertEqual(back.samples, [two, one])
        XCTAssertEqual(back.scores, chunk.scores)
        XCTAssertEqual(back.index.map(\.promptTokens), [1, 2])
        XCTAssertEqual(back.index.map(\.responseTokens), [4, 1])
    }

    /// A multi-turn chat dataset through the model's own template: every answer scored and
    /// trained, the turns between them never, and the same files at -np 1, 2 and 4.
    func testAMultiTurnDatasetScoresAlikeOnAnyNumberOfRanks() throws {
        let model = try Fixtures.tinyGPT2()
        try chatML.write(to: model.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        let problems = try Fixtures.jsonLines(try Fixtures.gsm8k(records: 24))
        var lines: [String] = []
        for k in stride(from: 0, to: problems.count, by: 2) {
            // Short turns, so that both answers fit the tiny model's 256 positions: the question's
            // last sentence, the answer's last two lines.
            let turns = [problems[k], problems[k + 1]].flatMap { p in
                [["role": "user", "content": (p["question"] as! String).components(separatedBy: ". ").last!],
                 ["role": "assistant", "content": (p["answer"] as! String).split(separator: "\n").suffix(2).joined(separator: "\n")]]
            }
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: ["messages": turns], options: .sortedKeys), as: UTF8.self))
        }
        let data = try TestPaths.scratchDirectory("multi-turn-data").appendingPathComponent("chat.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        var outputs: [Int: (masked: Data, tokens: Data)] = [:]
        for ranks in [1, 2, 4] {
            let out = try TestPaths.scratchDirectory("multi-turn-np\(ranks)")
            let run = try MPIRunner.run(ranks: ranks, ["score", "--model", model.path, "--data", data.path, "--format", "chat", "--task", "math",
                                                      "--out", out.path, "--max-length", "256", "--records-per-chunk", "3", "--quiet"], timeout: 600)
            XCTAssertEqual(run.status, 0, run.stderr)
            outputs[ranks] = (try Data(contentsOf: out.appendingPathComponent("masked.jsonl")), try Data(contentsOf: out.appendingPathComponent("tokens.jsonl")))
            if ranks == 1 {
                let masked = try Fixtures.jsonLines(out.appendingPathComponent("masked.jsonl")), tokens = try Fixtures.jsonLines(out.appendingPathComponent("tokens.jsonl"))
                XCTAssertEqual(masked.count, 12)
                let encoder = try gpt2()
                for (m, t) in zip(masked, tokens) {
                    let ids = (m["input_ids"] as! [Int]).map(Int32.init), labels = m["labels"] as! [Int]
                    let scored = (t["token_ids"] as! [Int]).map(Int32.init)
                    // Both answers are scored: the scored tokens are the two assistant turns' text.
                    let text = self.text(encoder, scored)
                    XCTAssertEqual(text.components(separatedBy: "<|im_end|>").count, 3, text)
                    XCTAssertTrue(text.contains("####"), text)
                    // The second question is read, never trained: no label inside it.
                    let whole = self.text(encoder, ids)
                    let second = try XCTUnwrap(whole.range(of: "<|im_start|>user", options: .backwards))
                    let at = encoder.tokenizer.encode(String(whole[..<second.lowerBound]), addSpecialTokens: false).ids.count
                    XCTAssertTrue(labels[at..<(at + 4)].allSatisfy { $0 == -100 }, "the second user turn has no loss")
                    XCTAssertLessThanOrEqual(labels.filter { $0 != -100 }.count, scored.count)
                }
            }
        }
        XCTAssertEqual(outputs[2]!.masked, outputs[1]!.masked)
        XCTAssertEqual(outputs[4]!.masked, outputs[1]!.masked)
        XCTAssertEqual(outputs[2]!.tokens, outputs[1]!.tokens)
        XCTAssertEqual(outputs[4]!.tokens, outputs[1]!.tokens)
    }
}
