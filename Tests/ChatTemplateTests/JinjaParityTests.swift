import Foundation
import XCTest
import ChatTemplate

/// The engine against jinja2 under transformers' settings: Fixtures/snippets.json holds small
/// templates with what jinja2 rendered (or that it raised), Fixtures/rendered.json the chat
/// templates of Fixtures/templates on the conversations of Fixtures/conversations.json.
/// Both were written by scripts/make_chat_template_fixtures.py (Fixtures/README.md).
final class JinjaParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load(_ name: String) throws -> Value {
        try PythonJSON.loads(String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8))
    }

    static func field(_ value: Value, _ key: String) -> Value? {
        if case .dict(let d) = value { return d[key] }
        return nil
    }

    /// `[[start, end], ...]` as ranges; nil when the fixture records none.
    static func ranges(_ value: Value?) -> [Range<Int>]? {
        guard case .list(let spans)? = value else { return nil }
        return spans.compactMap { span in
            guard case .list(let b) = span, b.count == 2, case .int(let s) = b[0], case .int(let e) = b[1] else { return nil }
            return s..<e
        }
    }

    static func variables(_ value: Value?) -> [String: Value] {
        guard case .dict(let d)? = value else { return [:] }
        return Dictionary(uniqueKeysWithValues: d.map { ($0.key, $0.value) })
    }

    /// Where the engine knowingly differs from jinja2, and why; none of it occurs in a chat
    /// template of the supported models. Each must still differ (a fixed one leaves the list).
    static let knownDeviations: [String: String] = [
        "value/int": "integers are 64-bit (Python's are unbounded)",
        "value/big-int": "integers are 64-bit: overflow is an error",
        "filter/tojson-scalars": "integers are 64-bit: 2 ** 64 is an overflow error",
        "value/dict-repr": "dict keys are strings only",
        "filter/tojson-int-keys": "dict keys are strings only",
        "value/range-repr": "range() gives a list, printed as one",
        "value/items-repr": "items()/keys()/values() give lists, printed as lists",
        "literal/unicode-escapes": "\\N{name} escapes are not decoded",
        "global/dict": "dict.fromkeys is missing",
        "generation/inside-set-block-offsets-wrong": "{% generation %} inside a set block or macro records no range (transformers' are wrong there)",
        "generation/inside-macro": "{% generation %} inside a macro records no range",
        "generation/inside-macro-one-expression": "{% generation %} inside a macro records no range",
    ]

    func testSnippetsRenderAsJinja2Does() throws {
        guard case .list(let cases) = try Self.load("snippets.json") else { return XCTFail("snippets.json is not a list") }
        XCTAssertGreaterThan(cases.count, 100)
        var failures: [String] = []
        var deviating: Set<String> = []
        for item in cases {
            let name = Self.field(item, "name")?.text ?? "?"
            let before = failures.count
            defer {
                if Self.knownDeviations[name] != nil, failures.count > before { failures.removeLast(failures.count - before); deviating.insert(name) }
            }
            let source = Self.field(item, "template")?.text ?? ""
            if Self.field(item, "dynamic")?.isTruthy == true { continue }
            let expectsError = Self.field(item, "error")?.isTruthy == true
            do {
                let rendering = try ChatTemplate(source).render(Self.variables(Self.field(item, "context")))
                if expectsError {
                    failures.append("\(name): jinja2 raised \(Self.field(item, "error_class")?.text ?? ""), xtf rendered \(String(reflecting: rendering.text))")
                } else if let expected = Self.field(item, "expected")?.text, rendering.text != expected {
                    failures.append("\(name): \(String(reflecting: source)) gave \(String(reflecting: rendering.text)), jinja2 \(String(reflecting: expected))")
                } else if let expected = Self.ranges(Self.field(item, "generation_utf8")), rendering.generationRanges != expected {
                    failures.append("\(name): generation \(rendering.generationRanges), jinja2 \(expected)")
                }
            } catch {
                if !expectsError {
                    failures.append("\(name): \(String(reflecting: source)) failed: \(error)")
                } else if Self.field(item, "error_class")?.text == "TemplateError", let message = Self.field(item, "message")?.text,
                          (error as? TemplateError)?.underlying != .raised(message) {
                    failures.append("\(name): raised \(error), jinja2 raised \(message)")
                }
            }
        }
        XCTAssert(failures.isEmpty, "\(failures.count) of \(cases.count) snippets differ from jinja2:\n" + failures.joined(separator: "\n"))
        XCTAssertEqual(deviating, Set(Self.knownDeviations.keys), "a known deviation no longer differs: take it off the list")
    }

    /// The 13 chat templates on 16 conversations (tools, tool results, reasoning, content parts,
    /// unicode, refusals), with and without the generation prompt: the same text, the same
    /// refusals (raise_exception's message), the same `{% generation %}` ranges.
    func testChatTemplatesRenderAsTransformersDoes() throws {
        guard case .list(let conversations)? = Self.field(try Self.load("conversations.json"), "conversations"),
              case .list(let cases)? = Self.field(try Self.load("rendered.json"), "cases") else { return XCTFail("fixtures unreadable") }
        var byName: [String: Value] = [:]
        for c in conversations { byName[Self.field(c, "name")?.text ?? ""] = c }
        var templates: [String: ChatTemplate] = [:]
        var failures: [String] = [], rendered = 0, refused = 0
        for item in cases {
            let templateName = Self.field(item, "template")!.text, conversationName = Self.field(item, "conversation")!.text
            let label = "\(templateName) on \(conversationName) (add_generation_prompt \(Self.field(item, "add_generation_prompt")!.text))"
            if templates[templateName] == nil {
                let url = Self.fixtures.appendingPathComponent("templates/\(templateName).jinja")
                templates[templateName] = try ChatTemplate(String(contentsOf: url, encoding: .utf8))
            }
            let conversation = byName[conversationName]!
            guard case .list(let messages)? = Self.field(conversation, "template_messages") else { return XCTFail("\(conversationName): no messages") }
            var tools: [Value]?
            if case .list(let t)? = Self.field(conversation, "tools") { tools = t }
            do {
                let result = try templates[templateName]!.render(messages: messages, tools: tools,
                                                                addGenerationPrompt: Self.field(item, "add_generation_prompt")!.isTruthy,
                                                                variables: Self.variables(Self.field(item, "kwargs")))
                rendered += 1
                if Self.field(item, "error")?.isTruthy == true {
                    failures.append("\(label): transformers raised \(Self.field(item, "error_class")!.text), xtf rendered")
                } else if result.text != Self.field(item, "rendered")?.text {
                    failures.append("\(label): gave\n\(result.text)\n--- transformers:\n\(Self.field(item, "rendered")!.text)")
                } else if let expected = Self.ranges(Self.field(item, "generation_utf8")), result.generationRanges != expected {
                    failures.append("\(label): generation \(result.generationRanges), transformers \(expected)")
                }
            } catch {
                refused += 1
                if Self.field(item, "error")?.isTruthy != true {
                    failures.append("\(label): failed: \(error)")
                } else if Self.field(item, "error_class")?.text == "TemplateError", let message = Self.field(item, "message")?.text,
                          (error as? TemplateError)?.underlying != .raised(message) {
                    failures.append("\(label): raised \(error), transformers raised \(message)")
                }
            }
        }
        XCTAssertGreaterThan(rendered, 300)
        XCTAssertGreaterThan(refused, 50)
        XCTAssert(failures.isEmpty, "\(failures.count) of \(cases.count) renders differ:\n" + failures.joined(separator: "\n\n"))
    }
}
