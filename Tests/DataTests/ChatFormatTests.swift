import ChatTemplate
import Data
import Foundation
import TestSupport
import XCTest

/// Where a model's chat template is found, how a conversation becomes prompt and response
/// with it, and what happens to a conversation or a file it cannot handle.
final class ChatFormatTests: XCTestCase {
    let chatML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"

    func folder(_ files: [String: String]) throws -> URL {
        let dir = try TestPaths.scratchDirectory("chat-format")
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    func json(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    func testTheModelsTemplateSplitsPromptAndResponseAsTRLDoes() throws {
        let dir = try folder(["tokenizer_config.json": try json(["chat_template": chatML, "eos_token": "<|im_end|>"])])
        let format = try ChatFormat.resolve(.auto, tokenizerPath: dir.appendingPathComponent("tokenizer.json").path)
        XCTAssertEqual(format.template, .model)
        XCTAssertFalse(format.tokenizerAddsSpecialTokens)
        let rendered = try format.render(context: [Message(.system, "S"), Message(.user, "Q")], response: "R")
        XCTAssertEqual(rendered.prompt, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(rendered.response, "R<|im_end|>\n")
        XCTAssertEqual(try format.prompt(context: [Message(.user, "Q")]), "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n")
    }

    func testTemplateFilesAreFoundAsTransformersFindsThem() throws {
        // chat_template.jinja wins over tokenizer_config.json; special tokens come from the config,
        // as strings or as {content: ...}.
        let both = try folder([
            "chat_template.jinja": "{{ bos_token }}jinja{{ eos_token }}\n",
            "tokenizer_config.json": try json(["chat_template": "config", "bos_token": ["content": "<s>"], "eos_token": "</s>"]),
        ])
        let fromFile = try XCTUnwrap(ModelChatTemplate.load(near: both.path))
        XCTAssertTrue(fromFile.file.hasSuffix("chat_template.jinja"))
        // One trailing newline of the file is dropped, as jinja2 does.
        XCTAssertEqual(try fromFile.template.render(messages: [], addGenerationPrompt: false, variables: fromFile.variables).text, "<s>jinja</s>")
        // Named templates: "default" is used.
        let named = try folder(["tokenizer_config.json": try json(["chat_template": [["name": "tool_use", "template": "tools"],
                                                                                     ["name": "default", "template": "plain one"]]])])
        XCTAssertEqual(try ModelChatTemplate.load(near: named.path)?.template.source, "plain one")
        let processor = try folder(["chat_template.json": try json(["chat_template": "from json"])])
        XCTAssertEqual(try ModelChatTemplate.load(near: processor.path)?.template.source, "from json")
        // No template: auto falls back to plain, model is an error naming the folder.
        let none = try folder(["tokenizer_config.json": try json(["eos_token": "</s>"])])
        XCTAssertEqual(try ChatFormat.resolve(.auto, tokenizerPath: none.path).template, .plain)
        XCTAssertThrowsError(try ChatFormat.resolve(.model, tokenizerPath: none.path)) { error in
            XCTAssertEqual(error as? ChatTemplateFileError, .missing(folder: none.path))
            XCTAssertTrue("\(error)".contains("--template"), "\(error)")
        }
        XCTAssertEqual(try ChatFormat.resolve(.llama3, tokenizerPath: both.path).template, .llama3, "a built-in is used as named")
        // Settings record what auto became, so a run resumed with either finds the same settings.
        XCTAssertEqual(ChatFormat.concrete(.auto, tokenizerPath: both.path), .model)
        XCTAssertEqual(ChatFormat.concrete(.auto, tokenizerPath: named.path), .model)
        XCTAssertEqual(ChatFormat.concrete(.auto, tokenizerPath: processor.path), .model)
        XCTAssertEqual(ChatFormat.concrete(.auto, tokenizerPath: none.path), .plain)
        XCTAssertEqual(ChatFormat.concrete(.qwen2, tokenizerPath: both.path), .qwen2)
    }

    func testBadTemplateFilesAreErrorsNamingFileAndLine() throws {
        let broken = try folder(["chat_template.jinja": "line one\n{% for m in messages %}\n{{ m.content }\n{% endfor %}"])
        XCTAssertThrowsError(try ModelChatTemplate.load(near: broken.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("chat_template.jinja") && text.contains("line 3"), text)
        }
        let unclosed = try folder(["tokenizer_config.json": try json(["chat_template": "{% if x %}never closed"])])
        XCTAssertThrowsError(try ModelChatTemplate.load(near: unclosed.path)) { error in
            XCTAssertTrue("\(error)".contains("tokenizer_config.json") && "\(error)".contains("endif"), "\(error)")
        }
        let notJSON = try folder(["tokenizer_config.json": "{\"chat_template\": "])
        XCTAssertThrowsError(try ModelChatTemplate.load(near: notJSON.path)) { error in
            XCTAssertTrue("\(error)".contains("tokenizer_config.json"), "\(error)")
        }
        let wrongType = try folder(["tokenizer_config.json": try json(["chat_template": 3])])
        XCTAssertThrowsError(try ModelChatTemplate.load(near: wrongType.path)) { error in
            XCTAssertTrue("\(error)".contains("chat_template must be"), "\(error)")
        }
    }

    func testConversationsATemplateCannotRenderAreRefusedWithTheReason() throws {
        // raise_exception (Gemma refuses a system turn this way).
        let refusing = ModelChatTemplate(template: try ChatTemplate(
            "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}"),
            file: "t.jinja")
        XCTAssertThrowsError(try ChatFormat(model: refusing).render(context: [Message(.system, "S"), Message(.user, "Q")], response: "R")) { error in
            XCTAssertTrue("\(error)".contains("System role not supported") && "\(error)".contains("t.jinja"), "\(error)")
        }
        // A template whose prompt is not where the conversation starts: the response cannot be told apart.
        let unaligned = ModelChatTemplate(template: try ChatTemplate(
            "{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt %}PROMPT{% endif %}"), file: "u.jinja")
        XCTAssertThrowsError(try ChatFormat(model: unaligned).render(context: [Message(.user, "Q")], response: "R")) { error in
            XCTAssertTrue("\(error)".contains("without its prompt at the start"), "\(error)")
        }
    }

    /// OpenAI-style messages with tool calls, tool results, tools and text content parts: read
    /// keeping what the template needs, rendered by Qwen2.5's kind of template as transformers
    /// renders them (Fixtures/tool-chat-qwen2.5.json, made with transformers' jinja2
    /// environment), refused with the reason by the built-in layouts, and bad turns rejected
    /// naming the message.
    func testToolCallsToolResultsAndContentParts() throws {
        let fixtures = TestPaths.packageRoot.appendingPathComponent("Tests/DataTests/Fixtures")
        let records = try Dataset(DatasetSpec(path: fixtures.appendingPathComponent("tool-chat.jsonl").path, format: .chat)).records(in: nil)
        XCTAssertEqual(records.count, 6)
        var conversations: [Conversation] = []
        for record in records.prefix(3) {
            guard case .conversation(let c) = record else { return XCTFail("\(record)") }
            conversations.append(c)
        }
        XCTAssertEqual(conversations[0].context.map(\.role), [.system, .user, .assistant, .tool])
        XCTAssertEqual(conversations[0].tools?.count, 1)
        XCTAssertEqual(conversations[1].context.map(\.content), ["Add 2 and 3. Then stop."], "text parts joined")
        XCTAssertEqual(conversations[1].response, "5.")
        XCTAssertEqual(conversations[2].response, "", "a turn that only calls a tool")
        for (record, reason) in zip(records.suffix(3), ["content[0] of type \"image_url\" is not supported", "role \"robot\" is not system, user, assistant or tool",
                                                        "tool_calls belongs to assistant turns only"]) {
            guard case .rejected(let r) = record else { return XCTFail("\(record) should be rejected") }
            XCTAssertTrue(r.reason.contains(reason) && r.reason.contains("messages["), r.reason)
        }

        let qwen = ModelChatTemplate(template: try ChatTemplate(String(contentsOf: TestPaths.packageRoot.appendingPathComponent(
            "Tests/ChatTemplateTests/Fixtures/templates/qwen2.5.jinja"), encoding: .utf8)), file: "qwen2.5.jinja",
            variables: ["eos_token": .string("<|im_end|>"), "pad_token": .string("<|endoftext|>")])
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("tool-chat-qwen2.5.json"))) as! [[String: String]]
        for (c, e) in zip(conversations, expected) {
            if let error = e["error"] {
                XCTAssertThrowsError(try ChatFormat(model: qwen).render(c), "transformers raised \(error)")
            } else {
                let rendered = try ChatFormat(model: qwen).render(c)
                XCTAssertEqual(rendered.prompt, e["prompt"], c.id)
                XCTAssertEqual(rendered.response, e["response"], c.id)
            }
        }
        XCTAssertThrowsError(try ChatFormat(builtIn: .plain).render(conversations[0])) {
            XCTAssertTrue("\($0)".contains("no markup for tool"), "\($0)")
        }
        XCTAssertEqual(try ChatFormat(builtIn: .plain).render(conversations[1]).prompt, "Add 2 and 3. Then stop.\n")
    }
}
