import Foundation
import OrderedCollections

/// A model's own chat template (the Jinja text of tokenizer_config.json's `chat_template`, or
/// of chat_template.jinja), rendered in Swift as transformers' `apply_chat_template` renders it
/// with jinja2: the same text byte for byte, and where `{% generation %}` blocks put the
/// assistant's text.
public struct ChatTemplate: Sendable {
    public let source: String
    private let statements: [Statement]
    /// What `strftime_now` reads: fixed when the template is loaded, so that every conversation
    /// of a run (and a prompt and its full conversation) gets the same date.
    public let now: Date

    public init(_ source: String, now: Date = Date()) throws {
        self.source = source
        self.now = now
        statements = try Parser.parse(source)
    }

    /// The rendered text and the UTF-8 byte ranges written inside `{% generation %}` blocks.
    public struct Rendering: Equatable, Sendable {
        public let text: String
        public let generationRanges: [Range<Int>]
    }

    /// Renders with `variables` (messages, tools, add_generation_prompt, bos_token, ...) and
    /// the globals transformers adds: `raise_exception`, `strftime_now`, and jinja2's `range`,
    /// `dict` and `namespace`.
    public func render(_ variables: [String: Value]) throws -> Rendering {
        var globals = Self.globals
        let now = self.now
        globals["strftime_now"] = .callable(Callable(name: "strftime_now") { args in
            .string(Self.strftime(args.value(0, "format")?.text ?? "", now))
        })
        for (k, v) in variables { globals[k] = v }
        let interpreter = Interpreter(globals: globals)
        try interpreter.run(statements)
        return Rendering(text: interpreter.output, generationRanges: interpreter.generationRanges)
    }

    /// Renders a conversation the way `apply_chat_template(messages, tools=..., add_generation_prompt=...)` does.
    public func render(messages: [Value], tools: [Value]? = nil, addGenerationPrompt: Bool,
                       variables: [String: Value] = [:]) throws -> Rendering {
        var all = variables
        all["messages"] = .list(messages)
        all["tools"] = tools.map(Value.list) ?? Value.none
        all["documents"] = Value.none
        all["add_generation_prompt"] = .bool(addGenerationPrompt)
        return try render(all)
    }

    /// Made for each render rather than held in a static: nothing of a render outlives it
    /// (the leak checker of the fuzz build sees every allocation freed).
    static var globals: [String: Value] { [
        "raise_exception": .callable(Callable(name: "raise_exception") { args in
            throw TemplateError.raised(args.value(0, "message")?.text ?? "")
        }),
        "range": .callable(Callable(name: "range") { args in
            let numbers = try args.positional.map { v -> Int in
                guard let i = Operators.integer(v) else { throw TemplateError.type("range() needs integers, not \(v.typeName)") }
                return i
            }
            let (start, stop, step): (Int, Int, Int)
            switch numbers.count {
            case 1: (start, stop, step) = (0, numbers[0], 1)
            case 2: (start, stop, step) = (numbers[0], numbers[1], 1)
            case 3: (start, stop, step) = (numbers[0], numbers[1], numbers[2])
            default: throw TemplateError.type("range expected 1 to 3 arguments, got \(numbers.count)")
            }
            if step == 0 { throw TemplateError.value("range() arg 3 must not be zero") }
            // In Double: the differences of two 64-bit ints overflow Int.
            let span = step > 0 ? Double(stop) - Double(start) : Double(start) - Double(stop)
            let count = span <= 0 ? 0 : Int(min((span / Double(step.magnitude)).rounded(.up), 1e9))
            // jinja2's sandbox refuses ranges over 100,000 items (MAX_RANGE).
            if count > 100_000 { throw TemplateError.value("range too big (\(count) items; the sandbox allows 100000)") }
            return .list((0..<count).map { .int(start &+ $0 &* step) })
        }),
        "dict": .callable(Callable(name: "dict") { args in
            var d = OrderedDictionary<String, Value>()
            switch args.positional.first {
            case .dict(let base)?: d = base
            case .list(let pairs)?, .tuple(let pairs)?:
                for pair in pairs {
                    let kv = try pair.iterated()
                    guard kv.count == 2, case .string(let key) = kv[0] else { throw TemplateError.value("dict() needs pairs of a string key and a value") }
                    d[key] = kv[1]
                }
            default: break
            }
            for (k, v) in args.keywords { d[k] = v }
            return .dict(d)
        }),
        "namespace": .callable(Callable(name: "namespace") { args in
            var d = OrderedDictionary<String, Value>()
            if case .dict(let base)? = args.positional.first { d = base }
            for (k, v) in args.keywords { d[k] = v }
            if let unsafe = d.keys.first(where: { $0.hasPrefix("_") }) {
                throw TemplateError.value("namespace attribute '\(unsafe)' is unsafe (the sandbox refuses names starting with '_')")
            }
            return .namespace(Namespace(d))
        }),
        "joiner": .callable(Callable(name: "joiner") { args in
            let separator = args.value(0, "sep")?.text ?? ", "
            let used = Box(false)
            return .callable(Callable(name: "joiner") { _ in
                defer { used.value = true }
                return .string(used.value ? separator : "")
            })
        }),
        "cycler": .callable(Callable(name: "cycler") { args in
            let items = args.positional
            guard !items.isEmpty else { throw TemplateError.type("cycler needs at least one item") }
            // A namespace, so that `current` follows `next()`.
            let state = Namespace(["current": items[0]])
            let position = Box(0)
            state.values["next"] = .callable(Callable(name: "next") { _ in
                defer {
                    position.value = (position.value + 1) % items.count
                    state.values["current"] = items[position.value]
                }
                return items[position.value]
            })
            return .namespace(state)
        }),
        "lipsum": .callable(Callable(name: "lipsum") { _ in throw TemplateError.value("lipsum() is not supported") }),
    ] }

    /// C's strftime on the local time, as Python's `datetime.now().strftime(format)`.
    static func strftime(_ format: String, _ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 512)
        let n = Foundation.strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
