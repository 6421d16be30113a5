import ChatTemplate
import Data
import Foundation
import TestSupport
import XCTest

/// Multi-turn records: every assistant turn is a response (or, with `--assistant-turns last`,
/// only the last), and the built-in layouts write each with its end-of-turn markup (the
/// model's templates: MultiTurnSampleTests, on token ids).
final class MultiTurnTests: XCTestCase {
    func file(_ lines: [String], _ name: String = "data.jsonl") throws -> String {
        let url = try TestPaths.scratchDirectory("multi-turn").appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func conversations(_ path: String, _ format: DatasetFormat, _ turns: AssistantTurns) throws -> [Conversation] {
        var spec = DatasetSpec(path: path, format: format)
        spec.assistantTurns = turns
        return try Dataset(spec).records(in: nil).map {
            guard case .conversation(let c) = $0 else { throw XCTSkip("unexpected record \($0)") }
            return c
        }
    }

    func testEveryAssistantTurnIsAResponseUnlessOnlyTheLastIsAsked() throws {
        let chat = try file([
            #"{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}, {"role": "user", "content": "unanswered"}]}"#,
        ])
        let all = try conversations(chat, .chat, .all)[0]
        XCTAssertEqual(all.turns.map(\.content), ["S", "Q1", "A1", "Q2", "A2"], "turns after the last assistant turn are dropped")
        XCTAssertEqual(all.responseTurns, [2, 4])
        XCTAssertEqual(try conversations(chat, .chat, .last)[0].responseTurns, [4])

        let alpaca = try file([#"{"instruction": "I", "input": "", "output": "O", "history": [["H1", "R1"], ["H2", "R2"]]}"#])
        XCTAssertEqual(try conversations(alpaca, .alpaca, .all)[0].responseTurns, [1, 3, 5])
        XCTAssertEqual(try conversations(alpaca, .alpaca, .all)[0].turns.map(\.content), ["H1", "R1", "H2", "R2", "I", "O"])
        XCTAssertEqual(try conversations(alpaca, .alpaca, .last)[0].responseTurns, [5])

        // ShareGPT: tool calls are assistant turns; the last gpt turn with text ends the record.
        let sharegpt = try file([
            #"{"conversations": [{"from": "human", "value": "Q"}, {"from": "function_call", "value": "{\"name\": \"f\", \"arguments\": {}}"}, {"from": "observation", "value": "1"}, {"from": "gpt", "value": "A"}, {"from": "function_call", "value": "{\"name\": \"g\", \"arguments\": {}}"}]}"#,
        ])
        let shared = try conversations(sharegpt, .sharegpt, .all)[0]
        XCTAssertEqual(shared.turns.map(\.role), [.user, .assistant, .tool, .assistant])
        XCTAssertEqual(shared.responseTurns, [1, 3])
        XCTAssertEqual(try conversations(sharegpt, .sharegpt, .last)[0].responseTurns, [3])

        // Settings written before the option hold none: those runs trained the last turn only.
        let old = try JSONDecoder().decode(DatasetSpec.self, from: Data(#"{"path": "x", "format": "chat", "promptField": "p", "responseField": "r", "maxRecordBytes": 1}"#.utf8))
        XCTAssertEqual(old.assistantTurns, .last)
        XCTAssertEqual(DatasetSpec(path: "x", format: .chat).assistantTurns, .all, "a new run trains every assistant turn")
        // Read back as written: a resumed run compares like with like.
        let written = try JSONDecoder().decode(DatasetSpec.self, from: try JSONEncoder().encode(old))
        XCTAssertEqual(written, old)

        // An assistant turn that opens a conversation answers nothing: read, not a response.
        let opening = try file([#"{"messages": [{"role": "assistant", "content": "Hi!"}, {"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}"#], "opening.jsonl")
        XCTAssertEqual(try conversations(opening, .chat, .all)[0].responseTurns, [2])
    }

    func testBuiltInLayoutsWriteEachResponseWithItsEndOfTurn() throws {
        let turns = [Message(.system, "S"), Message(.user, "Q1"), Message(.assistant, "A1"), Message(.user, "Q2"), Message(.assistant, "A2")]
        let all = Conversation(id: "c", line: 1, turns: turns, responseTurns: [2, 4])
        let last = Conversation(id: "c", line: 1, turns: turns, responseTurns: [4])
        let expected: [PromptTemplate: [String]] = [
            .plain: ["S\n\nQ1\n\n", "A1", "\n\nQ2\n", "A2"],
            .llama3: ["<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nQ1<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                      "A1<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nQ2<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", "A2<|eot_id|>"],
            .qwen2: ["<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n", "A1<|im_end|>",
                     "\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n", "A2<|im_end|>"],
            .mistral: ["<s>[INST] S\n\nQ1 [/INST]", "A1</s>", "[INST] Q2 [/INST]", "A2</s>"],
        ]
        for (layout, texts) in expected {
            let format = ChatFormat(builtIn: layout)
            guard case .pieces(let pieces) = try format.rendered(all) else { return XCTFail("\(layout): not pieces") }
            XCTAssertEqual(pieces.map(\.text), texts, "\(layout)")
            XCTAssertEqual(pieces.map(\.isResponse), [false, true, false, true], "\(layout)")
            // With the last turn only, the same text: the earlier answer is prompt.
            guard case .pieces(let one) = try format.rendered(last) else { return XCTFail("\(layout): not pieces") }
            XCTAssertEqual(one.map(\.text), [texts.dropLast().joined(), texts.last!], "\(layout)")
            let rendered = try format.render(last)
            XCTAssertEqual([rendered.prompt, rendered.response], one.map(\.text), "\(layout): render gives the same prompt and response")
        }
    }
}
