import ChatTemplate
import Data
import Foundation
import Artifacts
import Pipeline
import RunFiles
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
                guard case .whole(let whole, _) = try format.rendered(twoAnswers()) else { return XCTFail("not whole") }
                XCTAssertEqual(s.ids, try encoder.encode(whole, addSpecialTokens: false), "the model's template: the whole conversation tokenized at once")
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
        XCTAssertEqual(back.index.map(\.promptTokens), [2, 2], "tokens read: the prompt and the turns between responses")
        XCTAssertEqual(back.index.map(\.responseTokens), [4, 1])

        // A file written before spans: one response per sample, from response_start to the end.
        func write(_ tensors: [String: [Int32]], spanOffsets: [Int64]? = nil) throws -> String {
            var writer = SafetensorsWriter(metadata: ["format": "xtf-scores-1"])
            writer.add("input_ids", shape: [6], int32s: [5, 6, 7, 8, 9, 10])
            writer.add("sample_offsets", shape: [2], int64s: [0, 6])
            for (name, values) in tensors.sorted(by: { $0.key < $1.key }) { writer.add(name, shape: [values.count], int32s: values) }
            if let spanOffsets { writer.add("span_offsets", shape: [spanOffsets.count], int64s: spanOffsets) }
            writer.add("pcp", shape: [4], floats: [0.1, 0.2, 0.3, 0.4])
            writer.add("ri", shape: [4], floats: [1, 2, 3, 4])
            let path = dir.appendingPathComponent("old-\(UUID().uuidString).safetensors").path
            try writer.write(to: path)
            try AtomicFile.writeJSONLines([IndexEntry(id: "a", line: 1, sample: 0, promptTokens: 2, responseTokens: 4)], to: index)
            return path
        }
        let old = try ChunkScores.read(scores: try write(["response_start": [2]]), index: index)
        XCTAssertEqual(old.samples.map(\.spans), [[2..<6]])
        // Corrupt spans are an error naming the file, not a crash.
        for (spans, offsets) in [([Int32(1), 3, 4, 6], [Int64(0), 3]), ([3, 1], [0, 1]), ([1, 3, 2, 6], [0, 2]), ([1, 9], [0, 1]), ([-1, 2], [0, 1])] {
            let path = try write(["response_start": [1], "response_spans": spans], spanOffsets: offsets)
            XCTAssertThrowsError(try ChunkScores.read(scores: path, index: index), "\(spans) \(offsets)") {
                XCTAssertTrue("\($0)".contains(path), "\($0)")
            }
        }
        XCTAssertThrowsError(try ChunkScores.read(scores: try write(["response_start": [7]]), index: index))
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

    /// Every template of the Jinja parity fixtures on every conversation with several assistant
    /// turns, tokenized by an encoder that keeps each marker (`<|user|>`, `<start_of_turn>`,
    /// `[INST]`, ...) one special token, as the models' tokenizers do: the ids are the whole
    /// conversation's, each response holds its turn's text, a response never runs into the next
    /// turn's markup (Phi-3 writes an end-of-text only after the last turn), and where the
    /// template marks assistant text with `{% generation %}` (what TRL's assistant_only_loss
    /// trains) the responses are that text, less a header the block starts with (SmolLM3's, the
    /// generation prompt), plus the newline that ends the turn.
    func testModelTemplatesFindEveryAssistantTurnOnTokenIds() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ChatTemplateTests/Fixtures")
        guard case .dict(let root) = try PythonJSON.loads(String(contentsOf: fixtures.appendingPathComponent("conversations.json"), encoding: .utf8)),
              case .dict(let templates)? = root["templates"], case .list(let list)? = root["conversations"] else { return XCTFail("conversations.json") }
        let encoder = MarkupEncoder()
        var checked = 0
        var refused: [String] = [], lastRefused: [String] = [], firstResponses: [String: String] = [:]
        for (name, entry) in templates {
            guard case .dict(let t) = entry, case .string(let path)? = t["file"], case .dict(let kwargs)? = t["kwargs"] else { return XCTFail(name) }
            let template = ModelChatTemplate(template: try ChatTemplate(String(contentsOf: fixtures.appendingPathComponent(path), encoding: .utf8)),
                                             file: path, variables: Dictionary(uniqueKeysWithValues: kwargs.map { ($0.key, $0.value) }))
            let builder = SampleBuilder(encoder: encoder, format: ChatFormat(model: template), contextLength: 1 << 20, endOfText: nil)
            for item in list {
                guard case .dict(let c) = item, case .string(let label)? = c["name"], case .list(var messages)? = c["template_messages"] else { return XCTFail("conversation") }
                if case .dict(let extra)? = c["kwargs"], !extra.isEmpty { continue }  // options a Conversation does not carry
                while case .dict(let m)? = messages.last, { if case .string("assistant")? = m["role"] { return false } else { return true } }() { messages.removeLast() }
                let turns = messages.map { value -> Message in
                    guard case .dict(let m) = value, case .string(let role)? = m["role"] else { return Message(.user, "") }
                    var text = ""
                    switch m["content"] {
                    case .string(let s)?: text = s
                    case .list(let parts)?: text = parts.compactMap { if case .dict(let p) = $0, case .string(let s)? = p["text"] { return s } else { return nil } }.joined()
                    default: break
                    }
                    return Message(Message.Role(rawValue: role)!, text, fields: value)
                }
                let responses = turns.indices.filter { turns[$0].role == .assistant }
                guard responses.count >= 2, case .list(let tools)? = c["tools"] ?? .list([]) else { continue }
                let conversation = Conversation(id: label, line: 1, turns: turns, responseTurns: responses, tools: tools.isEmpty ? nil : tools)
                // A conversation the template refuses whole is not this test's; one whose last turn
                // cannot be told apart (DeepSeek-R1 prompts with "<think>") was refused before too.
                guard let whole = try? template.template.render(messages: messages, tools: conversation.tools, addGenerationPrompt: false,
                                                                variables: template.variables) else { continue }
                guard case .sample = try builder.build(Conversation(id: label, line: 1, turns: turns, responseTurns: [turns.count - 1], tools: conversation.tools)) else {
                    lastRefused.append("\(name)/\(label)")
                    continue
                }
                let s: TokenizedSample
                switch try builder.build(conversation) {
                case .rejected(let r):
                    refused.append("\(name)/\(label)")
                    XCTAssertTrue(r.reason.contains("--assistant-turns last"), r.reason)
                    continue
                case .sample(let sample): s = sample
                }
                checked += 1
                let id = "\(name)/\(label)"
                XCTAssertEqual(encoder.text(s.ids), whole.text, id)
                XCTAssertEqual(s.truncatedTokens, 0, id)
                let answers = s.spans.map { encoder.text(Array(s.ids[$0])) }
                if label == "multi_turn" { firstResponses[name] = answers.first }
                for k in responses where !turns[k].content.trimmingCharacters(in: .whitespaces).isEmpty {
                    let content = turns[k].content.trimmingCharacters(in: .whitespacesAndNewlines)
                    XCTAssertTrue(answers.contains { $0.contains(content) }, "\(id): turn \(k) \(content.debugDescription) in no response \(answers)")
                }
                // Bytes of the text inside responses.
                var response = [Bool](), bytes = [UInt8]()
                for (i, token) in s.ids.enumerated() {
                    let inside = s.spans.contains { $0.contains(i) }
                    for b in encoder.text([token]).utf8 { bytes.append(b); response.append(inside) }
                }
                guard !whole.generationRanges.isEmpty else { continue }
                var marked = [Bool](repeating: false, count: bytes.count)
                for r in whole.generationRanges {
                    for i in r { marked[i] = true }
                    // Each block ends as a response: what it holds before that is the turn's header.
                    let inResponse = r.filter { response[$0] }
                    XCTAssertEqual(inResponse, Array((r.upperBound - inResponse.count)..<r.upperBound), "\(id): block \(r)")
                    XCTAssertFalse(inResponse.isEmpty, "\(id): block \(r) in no response")
                }
                for i in bytes.indices where response[i] && !marked[i] {
                    XCTAssertTrue(bytes[i] == 0x0A || bytes[i] == 0x20, "\(id): byte \(i) of a response outside every generation block")
                }
            }
        }
        XCTAssertEqual(checked, 40, "conversations checked")
        // The first answer ("4") of multi_turn, exactly: its end-of-turn markup and no more.
        XCTAssertEqual(firstResponses["phi-3"], "4<|end|>\n", "not the next turn's <|user|>, nor the end-of-text Phi-3 writes only at the end")
        XCTAssertEqual(firstResponses["smollm2"], "4<|im_end|>\n")
        XCTAssertEqual(firstResponses["llama-3.1"], "4<|eot_id|>")
        XCTAssertEqual(firstResponses["gemma-3"], "4<end_of_turn>\n")
        // Refused, each for a reason of its template (checked with jinja2): Qwen3 writes an empty
        // think block on the last assistant turn only; DeepSeek-R1's generation prompt ends with
        // "<think>\n", which the turn as written lacks; Mistral v0.3 moves the system prompt and
        // the tools to the last user turn.
        XCTAssertEqual(refused.sorted(), ["deepseek-r1-distill/tool_call_string_arguments", "mistral-v0.3/parallel_tool_calls",
                                          "qwen3/multi_turn", "qwen3/parallel_tool_calls", "qwen3/think_in_content", "qwen3/tool_call",
                                          "qwen3/tool_call_string_arguments"], "refused")
        XCTAssertEqual(lastRefused.sorted(), ["deepseek-r1-distill/multi_turn", "deepseek-r1-distill/think_in_content", "mistral-v0.3/multi_turn"],
                       "refused with the last turn only too (as before every assistant turn was a response)")
    }
}

/// A tokenizer for template tests: each chat-markup marker is one special token, as in the
/// models' own tokenizers; any other text is one token per Unicode scalar.
final class MarkupEncoder: TextEncoder {
    private var ids: [String: Int32] = [:]
    private var texts: [String] = []
    private let marker = try! NSRegularExpression(pattern: #"<\|[^|<>\s]*\|>|<｜[^｜]*｜>|\[/?[A-Z_]+\]|</?s>|<(?:bos|eos|start_of_turn|end_of_turn)>"#)

    private func id(_ piece: String) -> Int32 {
        if let id = ids[piece] { return id }
        texts.append(piece)
        ids[piece] = Int32(texts.count - 1)
        return Int32(texts.count - 1)
    }

    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int32] {
        var out: [Int32] = []
        let ns = text as NSString
        var at = 0
        for match in marker.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            out += ns.substring(with: NSRange(location: at, length: match.range.location - at)).unicodeScalars.map { id(String($0)) }
            out.append(id(ns.substring(with: match.range)))
            at = match.range.location + match.range.length
        }
        return out + ns.substring(from: at).unicodeScalars.map { id(String($0)) }
    }

    func text(_ tokens: [Int32]) -> String { tokens.map { texts[Int($0)] }.joined() }
    func tokenText(_ id: Int32) -> String { texts[Int(id)] }
    var vocabularySize: Int { 1 << 20 }
}
