import ChatTemplate
import Foundation

/// One turn of a conversation.
public struct Message: Equatable, Sendable {
    public enum Role: String, Codable, Sendable { case system, user, assistant, tool }
    public let role: Role
    /// The turn's text (text content parts joined).
    public let content: String
    /// The turn as the dataset gives it, key order kept (tool calls, tool call ids, content
    /// parts), which the model's own chat template reads whole; nil for turns made of text only.
    public let fields: Value?

    public init(_ role: Role, _ content: String, fields: Value? = nil) {
        self.role = role
        self.content = content
        self.fields = fields
    }

    /// Whether a built-in layout can write this turn: text only, no tool markup.
    public var isPlainText: Bool {
        guard role != .tool else { return false }
        guard case .dict(let d)? = fields else { return true }
        return d["tool_calls"] == nil || d["tool_calls"]?.isNone == true
    }

    public static func == (a: Message, b: Message) -> Bool {
        a.role == b.role && a.content == b.content && (try? a.fields.map { try PythonJSON.dumps($0) }) == (try? b.fields.map { try PythonJSON.dumps($0) })
    }
}

/// A record as the model will see it: its turns, up to and including the last assistant
/// turn (later turns carry nothing to train on), and which assistant turns are responses,
/// the text XTF scores and fine-tuning trains on (every assistant turn, or the last one).
public struct Conversation: Equatable, Sendable {
    /// Stable across reruns: `<file name>:<line>` for JSONL, `<file name>#<key>` for keyed files.
    public let id: String
    /// The line the record starts on in its file.
    public let line: Int
    public let turns: [Message]
    /// Indices in `turns` of the responses, ascending; the last is the last turn.
    public let responseTurns: [Int]
    /// The tools the conversation may call (JSON schemas), for the model's own template.
    public let tools: [Value]?

    /// A conversation whose response is `response` (or the whole turn `responseTurn`, with its
    /// tool calls) after `context`.
    public init(id: String, line: Int, context: [Message], response: String, responseTurn: Message? = nil, tools: [Value]? = nil) {
        self.init(id: id, line: line, turns: context + [responseTurn ?? Message(.assistant, response)], responseTurns: [context.count], tools: tools)
    }

    public init(id: String, line: Int, turns: [Message], responseTurns: [Int], tools: [Value]? = nil) {
        precondition(responseTurns.last == turns.count - 1 && zip(responseTurns, responseTurns.dropFirst()).allSatisfy { $0 < $1 },
                     "the responses are ascending turns ending with the last")
        self.id = id
        self.line = line
        self.turns = turns
        self.responseTurns = responseTurns
        self.tools = tools
    }

    /// The turns before the last response.
    public var context: [Message] { Array(turns.dropLast()) }
    /// The last response, whole.
    public var responseTurn: Message { turns[turns.count - 1] }
    /// The last response's text.
    public var response: String { responseTurn.content }

    public static func == (a: Conversation, b: Conversation) -> Bool {
        a.id == b.id && a.line == b.line && a.turns == b.turns && a.responseTurns == b.responseTurns
            && (try? a.tools.map { try PythonJSON.dumps(.list($0)) }) == (try? b.tools.map { try PythonJSON.dumps(.list($0)) })
    }
}

/// Which assistant turns of a multi-turn record are responses (scored, and trained on).
public enum AssistantTurns: String, Codable, Sendable, CaseIterable {
    /// Every assistant turn, as TRL's `assistant_only_loss` and LLaMA-Factory train; the
    /// turns between them are read, never trained on.
    case all
    /// Only the last one; the turns before it are prompt.
    case last
}

/// Dataset layouts xtf reads.
public enum DatasetFormat: String, Codable, Sendable, CaseIterable {
    /// GSM8K JSONL: `question` -> `answer` (worked solution ending in `#### n`).
    case gsm8k
    /// The same records with the official XTF code's response: the worked solution without
    /// its `#### n` line (`answer.split("####")[0].strip()`).
    case gsm8kSolution = "gsm8k-solution"
    /// PubMedQA's ori_pqal.json: one object keyed by PMID; QUESTION + CONTEXTS -> LONG_ANSWER
    /// + final_decision.
    case pubmedqa
    /// JSONL with configurable prompt and response fields (and optionally a system field).
    case promptResponse = "prompt-response"
    /// JSONL with `messages`: [{role, content}]; the assistant turns are the responses.
    case chat
    /// Alpaca JSONL: `instruction` and `input` (joined by a newline, as LLaMA-Factory does) ->
    /// `output`; optional `system` and `history` ([[user, assistant], ...]).
    case alpaca
    /// ShareGPT JSONL: `conversations` [{from, value}] with from human / gpt / system (or
    /// user / assistant); optional top-level `system`. The gpt turns up to the last one with
    /// text are the responses.
    case sharegpt
    /// Already tokenized: `input_ids` and one of `labels` (-100 where no loss), `assistant_masks`
    /// or `completion_mask` (1 on the response), as TRL and axolotl write them. Each run of
    /// tokens with a loss is a response (with `last`, the last run; the others are prompt);
    /// nothing after the last is kept (it has no loss and nothing to predict). The tokenizer
    /// must be the one that made the ids.
    case tokenized
}

/// Which dataset to read and how.
public struct DatasetSpec: Codable, Equatable, Sendable {
    public var path: String
    public var format: DatasetFormat
    public var promptField = "prompt"
    public var responseField = "response"
    public var systemField: String?
    /// Records longer than this many bytes are rejected without being held in memory.
    public var maxRecordBytes = 16 << 20
    /// Which assistant turns are responses (settings written before the option read as
    /// `last`, what those runs did, so that they resume as they were).
    public var assistantTurns: AssistantTurns = .all

    public init(path: String, format: DatasetFormat) {
        self.path = path
        self.format = format
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        format = try c.decode(DatasetFormat.self, forKey: .format)
        promptField = try c.decode(String.self, forKey: .promptField)
        responseField = try c.decode(String.self, forKey: .responseField)
        systemField = try c.decodeIfPresent(String.self, forKey: .systemField)
        maxRecordBytes = try c.decode(Int.self, forKey: .maxRecordBytes)
        assistantTurns = try c.decodeIfPresent(AssistantTurns.self, forKey: .assistantTurns) ?? .last
    }

    var fileName: String { (path as NSString).lastPathComponent }
    var isKeyed: Bool { format == .pubmedqa }
}

/// A contiguous run of records: the unit of work the coordinator hands out.
public struct Chunk: Codable, Equatable, Sendable {
    public let index: Int
    public let byteStart: Int
    public let byteEnd: Int
    public let firstLine: Int
    public let recordCount: Int
    /// A JSON array's chunk: the index of its first record (nil for other layouts).
    public var firstIndex: Int?
    /// Lines of this chunk whose record id appeared earlier in the file, with the line of the
    /// first appearance: those records are rejected, the first one is kept.
    public var repeatedIds: [Int: Int] = [:]
}

/// The outcome of reading one record.
public enum RecordOutcome: Equatable, Sendable {
    case conversation(Conversation)
    /// A `tokenized` record: its ids, and where the response starts.
    case tokens(TokenizedRecord)
    case rejected(RejectedRecord)
}

/// A record that came as token ids: the responses are the runs `spans` of `ids` (ascending,
/// the first after at least one prompt token, the last ending at the end), the rest is read.
public struct TokenizedRecord: Equatable, Sendable {
    public let id: String
    public let line: Int
    public let ids: [Int32]
    public let spans: [Range<Int>]

    public init(id: String, line: Int, ids: [Int32], spans: [Range<Int>]) {
        self.id = id
        self.line = line
        self.ids = ids
        self.spans = spans
    }

    /// One response, from `responseStart` to the end.
    public init(id: String, line: Int, ids: [Int32], responseStart: Int) {
        self.init(id: id, line: line, ids: ids, spans: [responseStart..<ids.count])
    }
}

/// Reads a dataset as a stream of records, by chunk. Never loads the file whole.
public struct Dataset: Sendable {
    public let spec: DatasetSpec
    /// The file is one JSON array of records (its first non-blank byte is "["), not JSONL.
    public let isJSONArray: Bool

    public init(_ spec: DatasetSpec) throws {
        self.spec = spec
        guard FileManager.default.isReadableFile(atPath: spec.path) else {
            throw DataError.cannotOpen(file: spec.path, reason: FileManager.default.fileExists(atPath: spec.path)
                                       ? "permission denied" : "no such file")
        }
        // A directory, a device (/dev/zero never ends) or a pipe is not a dataset: the file is
        // read twice (a scan, then the records), which only a regular file allows.
        let resolved = URL(fileURLWithPath: spec.path).resolvingSymlinksInPath().path  // a linked file (a hub cache) is its target
        switch (try? FileManager.default.attributesOfItem(atPath: resolved)[.type]) as? FileAttributeType {
        case .typeRegular?: break
        case .typeDirectory?: throw DataError.cannotOpen(file: spec.path, reason: "is a directory: give the data file")
        default: throw DataError.cannotOpen(file: spec.path, reason: "is not a regular file (a device or a pipe): give the data file")
        }
        var reader = try BlockReader(file: spec.path)
        defer { reader.close() }
        var first: UInt8?
        while let b = try reader.next() {
            // Whitespace and a byte order mark (EF BB BF) before the first record.
            if b == 32 || b == 9 || b == 10 || b == 13 || b == 0xEF || b == 0xBB || b == 0xBF { continue }
            first = b
            break
        }
        isJSONArray = !spec.isKeyed && first == UInt8(ascii: "[")
    }

    /// Scans the whole file once (no parsing) and cuts it into chunks of `recordsPerChunk`
    /// records. Chunk boundaries depend only on the file and `recordsPerChunk`, never on the
    /// number of ranks, which is what makes results independent of -np. Without a size: 64
    /// records, or ceil(n / 16) for a file of n < 1,024 records, so that a small file still
    /// makes about 16 chunks and every rank gets a share (a second scan only then).
    public func chunks(recordsPerChunk: Int?) throws -> [Chunk] {
        guard let recordsPerChunk else {
            let full = try chunks(recordsPerChunk: 64)
            guard full.count < 16 else { return full }
            let records = full.reduce(0) { $0 + $1.recordCount }
            return try chunks(recordsPerChunk: (records + 15) / 16)
        }
        precondition(recordsPerChunk > 0)
        var chunks: [Chunk] = []
        var first: RecordSpan?
        var last: RecordSpan?
        var count = 0
        // Ids are file:line for line formats (unique by construction); keyed files can repeat a key.
        var firstLineOfKey: [String: Int] = [:]
        var repeated: [Int: Int] = [:]
        func close() {
            guard let f = first, let l = last else { return }
            chunks.append(Chunk(index: chunks.count, byteStart: f.start, byteEnd: l.end,
                                firstLine: f.line, recordCount: count, firstIndex: f.index, repeatedIds: repeated))
            first = nil
            count = 0
            repeated = [:]
        }
        try forEachRecord(in: nil) { span, _ in
            if let key = span.key {
                if let earlier = firstLineOfKey[key] { repeated[span.line] = earlier } else { firstLineOfKey[key] = span.line }
            }
            if first == nil { first = span }
            last = span
            count += 1
            if count == recordsPerChunk { close() }
        }
        close()
        if chunks.isEmpty { throw DataError.emptyFile(file: spec.path) }
        return chunks
    }

    /// The records of one chunk (or of the whole file), in order, each parsed or rejected.
    public func records(in chunk: Chunk?) throws -> [RecordOutcome] {
        var out: [RecordOutcome] = []
        try forEachRecord(in: chunk) { span, bytes in
            if let earlier = chunk?.repeatedIds[span.line] {
                out.append(.rejected(RejectedRecord(id: id(of: span), line: span.line,
                                                    reason: "record id seen twice (first at line \(earlier))")))
            } else {
                out.append(parse(span, bytes))
            }
        }
        return out
    }

    /// The error `--on-bad-record fail` stops with, naming file and line.
    public func error(for rejected: RejectedRecord) -> DataError {
        .malformed(file: spec.path, line: rejected.line, reason: "record \(rejected.id): \(rejected.reason)")
    }

    private func forEachRecord(in chunk: Chunk?, _ body: (RecordSpan, [UInt8]) throws -> Void) throws {
        let start = chunk?.byteStart ?? 0, end = chunk?.byteEnd, line = chunk?.firstLine ?? 1
        if spec.isKeyed || isJSONArray {
            var members = try JSONContainerRecords(file: spec.path, keyed: spec.isKeyed, start: start, end: end, firstLine: line,
                                                   firstIndex: chunk?.firstIndex ?? 0, maxRecordBytes: spec.maxRecordBytes)
            defer { members.reader.close() }
            while let (span, bytes) = try members.next() { try body(span, bytes) }
        } else {
            var lines = try JSONLines(file: spec.path, start: start, end: end, firstLine: line,
                                      maxRecordBytes: spec.maxRecordBytes)
            defer { lines.reader.close() }
            while let (span, bytes) = try lines.next() { try body(span, bytes) }
        }
    }

    func id(of span: RecordSpan) -> String {
        if let key = span.key { return "\(spec.fileName)#\(key)" }
        if let index = span.index { return "\(spec.fileName)[\(index)]" }
        return "\(spec.fileName):\(span.line)"
    }

    /// Parses one record; every problem becomes a rejection whose reason names the field.
    func parse(_ span: RecordSpan, _ raw: [UInt8]) -> RecordOutcome {
        let id = id(of: span)
        // A byte order mark at the start of the file is not part of the first record.
        let bytes = raw.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(raw.dropFirst(3)) : raw
        func reject(_ reason: String) -> RecordOutcome { .rejected(RejectedRecord(id: id, line: span.line, reason: reason)) }
        if span.oversized {
            return reject("record of \(span.end - span.start) bytes exceeds the limit of \(spec.maxRecordBytes) bytes")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return reject("not valid UTF-8")
        }
        // Chat records keep their key order (a template prints tool calls and schemas back with
        // tojson), and Foundation drops a U+FEFF that starts a string: those are read by xtf's
        // own parser, once; the rest by Foundation's.
        let text = { String(decoding: bytes, as: UTF8.self) }
        if spec.format == .chat {
            let record: Value
            do { record = try PythonJSON.loads(text()) } catch { return reject("malformed JSON: \(Self.jsonErrorText(error))") }
            do {
                let (turns, tools) = try chat(record)
                let last = turns[turns.count - 1]
                guard !last.content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || !last.isPlainText else { return reject("empty response") }
                return .conversation(conversation(id: id, line: span.line, turns, tools: tools))
            } catch let FieldError.problem(reason) {
                return reject(reason)
            } catch {
                return reject("\(error)")
            }
        }
        let object: [String: Any]
        do {
            let parsed = bytes.containsBOM ? (try PythonJSON.loads(text())).foundation : try JSONSerialization.jsonObject(with: Data(bytes))
            guard let o = parsed as? [String: Any] else {
                return reject("not a JSON object")
            }
            object = o
        } catch {
            return reject("malformed JSON: \(Self.jsonErrorText(error))")
        }
        if spec.format == .tokenized { return tokenized(object, id: id, line: span.line) }
        do {
            let turns = try turns(from: object)
            guard !turns[turns.count - 1].content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                return reject("empty response")
            }
            return .conversation(conversation(id: id, line: span.line, turns,
                                              tools: spec.format == .sharegpt ? try shareGPTTools(object, bytes) : nil))
        } catch let FieldError.problem(text) {
            return reject(text)
        } catch {
            return reject("\(error)")
        }
    }

    private enum FieldError: Error { case problem(String) }

    private func string(_ object: [String: Any], _ field: String) throws -> String {
        guard let value = object[field] else { throw FieldError.problem("missing field \"\(field)\"") }
        guard let text = value as? String else { throw FieldError.problem("field \"\(field)\" is not a string") }
        return text
    }

    /// The record's turns up to its last assistant turn, with its responses as `spec` chooses.
    private func conversation(id: String, line: Int, _ turns: [Message], tools: [Value]?) -> Conversation {
        // An assistant turn that opens the conversation answers nothing: it is read, not trained.
        let opening = turns.firstIndex { $0.role != .assistant } ?? turns.count - 1
        let responses = spec.assistantTurns == .last ? [turns.count - 1] : turns.indices.filter { $0 >= opening && turns[$0].role == .assistant }
        return Conversation(id: id, line: line, turns: turns, responseTurns: responses, tools: tools)
    }

    /// The turns of a record of a text format, ending with its (last) response.
    private func turns(from o: [String: Any]) throws -> [Message] {
        func turns(_ context: [Message], _ response: String) -> [Message] { context + [Message(.assistant, response)] }
        switch spec.format {
        case .gsm8k:
            return turns([Message(.user, try string(o, "question"))], try string(o, "answer"))
        case .gsm8kSolution:
            let answer = try string(o, "answer")
            let solution = answer.range(of: "####").map { String(answer[..<$0.lowerBound]) } ?? answer
            return turns([Message(.user, try string(o, "question"))], solution.trimmingCharacters(in: .whitespacesAndNewlines))
        case .pubmedqa:
            guard let contexts = o["CONTEXTS"] as? [String] else {
                throw FieldError.problem(o["CONTEXTS"] == nil ? "missing field \"CONTEXTS\"" : "field \"CONTEXTS\" is not a list of strings")
            }
            let prompt = "Context: " + contexts.joined(separator: "\n") + "\nQuestion: " + (try string(o, "QUESTION"))
            let decision = try string(o, "final_decision")
            return turns([Message(.user, prompt)], try string(o, "LONG_ANSWER") + "\nFinal answer: " + decision)
        case .promptResponse:
            var context: [Message] = []
            if let field = spec.systemField, o[field] != nil { context.append(Message(.system, try string(o, field))) }
            context.append(Message(.user, try string(o, spec.promptField)))
            return turns(context, try string(o, spec.responseField))
        case .chat, .tokenized:
            preconditionFailure("chat and tokenized records have readers of their own")
        case .alpaca:
            var context: [Message] = []
            if o["system"] != nil { context.append(Message(.system, try string(o, "system"))) }
            if let raw = o["history"], !(raw is NSNull) {
                guard let turns = raw as? [[Any]] else { throw FieldError.problem("field \"history\" is not a list of [user, assistant] pairs") }
                for (i, turn) in turns.enumerated() {
                    guard turn.count == 2, let user = turn[0] as? String, let assistant = turn[1] as? String else {
                        throw FieldError.problem("history[\(i)] is not a [user, assistant] pair of strings")
                    }
                    context += [Message(.user, user), Message(.assistant, assistant)]
                }
            }
            // A missing or null input is no input; anything else must be a string.
            let input = o["input"] == nil || o["input"] is NSNull ? "" : try string(o, "input")
            let instruction = try string(o, "instruction")
            context.append(Message(.user, input.isEmpty ? instruction : instruction + "\n" + input))
            return turns(context, try string(o, "output"))
        case .sharegpt:
            guard let raw = o["conversations"] else { throw FieldError.problem("missing field \"conversations\"") }
            guard let list = raw as? [[String: Any]] else { throw FieldError.problem("field \"conversations\" is not a list of objects") }
            var messages: [Message] = []
            if o["system"] != nil { messages.append(Message(.system, try string(o, "system"))) }
            let roles: [String: Message.Role] = ["human": .user, "user": .user, "gpt": .assistant, "assistant": .assistant, "system": .system]
            for (i, m) in list.enumerated() {
                let from = try string(m, "from"), value = try string(m, "value")
                switch from {
                case "function_call":
                    // LLaMA-Factory's tool call: a JSON object {name, arguments}, or a list of them
                    // (parallel calls), as an assistant turn calling them.
                    let calls: [Value]
                    switch try? PythonJSON.loads(value) {
                    case .dict(let call)?: calls = [.dict(call)]
                    case .list(let list)?: calls = list
                    default: calls = []
                    }
                    guard !calls.isEmpty, calls.allSatisfy({ if case .dict(let c) = $0 { return c["name"] != nil } else { return false } }) else {
                        throw FieldError.problem("conversations[\(i)].value of a function_call is not a JSON object with a name (or a list of them)")
                    }
                    let turn: Value = .dict(["role": .string("assistant"), "content": .string(""),
                                             "tool_calls": .list(calls.map { .dict(["type": .string("function"), "function": $0]) })])
                    messages.append(Message(.assistant, "", fields: turn))
                case "observation", "tool":
                    messages.append(Message(.tool, value, fields: .dict(["role": .string("tool"), "content": .string(value)])))
                default:
                    guard let role = roles[from] else {
                        throw FieldError.problem("conversations[\(i)].from \"\(from)\" is not human, gpt, system, function_call or observation")
                    }
                    messages.append(Message(role, value))
                }
            }
            // The last gpt turn with text is the last response (tool calls after it are dropped).
            guard let last = messages.lastIndex(where: { $0.role == .assistant && $0.isPlainText }) else {
                throw FieldError.problem("conversations has no gpt turn")
            }
            return Array(messages[...last])
        }
    }

    /// A tokenized record: the responses are the runs of positions with a loss.
    private func tokenized(_ o: [String: Any], id: String, line: Int) -> RecordOutcome {
        func reject(_ reason: String) -> RecordOutcome { .rejected(RejectedRecord(id: id, line: line, reason: reason)) }
        func integers(_ field: String) -> [Int]? {
            guard let list = o[field] as? [Any] else { return nil }
            var out: [Int] = []
            out.reserveCapacity(list.count)
            for item in list {
                guard let n = item as? NSNumber, n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e9 else { return nil }
                out.append(n.intValue)
            }
            return out
        }
        guard o["input_ids"] != nil else { return reject("missing field \"input_ids\"") }
        guard let ids = integers("input_ids"), ids.allSatisfy({ $0 >= 0 }) else { return reject("field \"input_ids\" is not a list of token ids") }
        let fields = ["labels", "assistant_masks", "completion_mask"].filter { o[$0] != nil && !(o[$0] is NSNull) }
        guard fields.count == 1, let field = fields.first else {
            return reject(fields.isEmpty ? "no field saying which tokens are the response (labels, assistant_masks or completion_mask)"
                                         : "fields \(fields.joined(separator: " and ")) both say which tokens are the response: give one")
        }
        guard let values = integers(field), values.count == ids.count else {
            return reject("field \"\(field)\" is not a list of integers as long as input_ids (\(ids.count))")
        }
        var hasLoss: [Bool] = []
        for (i, v) in values.enumerated() {
            if field == "labels" {
                guard v == -100 || v == ids[i] else { return reject("labels[\(i)] is \(v): neither -100 nor input_ids[\(i)] (\(ids[i]))") }
                hasLoss.append(v != -100)
            } else {
                guard v == 0 || v == 1 else { return reject("\(field)[\(i)] is \(v): not 0 or 1") }
                hasLoss.append(v == 1)
            }
        }
        var spans: [Range<Int>] = []
        var i = 0
        while let start = hasLoss[i...].firstIndex(of: true) {
            let end = hasLoss[start...].firstIndex(of: false) ?? hasLoss.count
            spans.append(start..<end)
            i = end
        }
        guard let last = spans.last else { return reject("no token has a loss: empty response") }
        let responses = spec.assistantTurns == .last ? [last] : spans
        guard responses[0].lowerBound > 0 else { return reject("the response starts at the first token: a prompt of at least one token is needed") }
        return .tokens(TokenizedRecord(id: id, line: line, ids: ids[..<last.upperBound].map(Int32.init), spans: responses))
    }

    /// ShareGPT's top-level `tools`: a JSON string (LLaMA-Factory) or a list of schemas.
    private func shareGPTTools(_ o: [String: Any], _ bytes: [UInt8]) throws -> [Value]? {
        switch o["tools"] {
        case nil, is NSNull: return nil
        case let text as String:
            if text.isEmpty { return nil }
            guard case .list(let tools)? = try? PythonJSON.loads(text) else { throw FieldError.problem("field \"tools\" is not a JSON list of tools") }
            return tools
        case is [Any]:
            // Read again in file order: the template prints the schemas back with tojson.
            guard case .dict(let record)? = try? PythonJSON.loads(String(decoding: bytes, as: UTF8.self)), case .list(let tools)? = record["tools"] else {
                throw FieldError.problem("field \"tools\" is not a list of tools")
            }
            return tools
        default: throw FieldError.problem("field \"tools\" is not a list of tools")
        }
    }

    /// OpenAI-style messages: roles system, user, assistant and tool; content a string, null
    /// (an assistant turn that only calls tools), or a list of text parts; the whole turn kept
    /// for the model's template as transformers passes it (keys whose value is null dropped).
    /// Top-level `tools` are the callable tools.
    private func chat(_ record: Value) throws -> ([Message], [Value]?) {
        guard case .dict(let o) = record else { throw FieldError.problem("not a JSON object") }
        guard let raw = o["messages"] else { throw FieldError.problem("missing field \"messages\"") }
        guard case .list(let list) = raw else { throw FieldError.problem("field \"messages\" is not a list of objects") }
        var messages: [Message] = []
        for (i, item) in list.enumerated() {
            guard case .dict(var m) = item else { throw FieldError.problem("messages[\(i)] is not an object") }
            for (key, value) in m where value.isNone { m.removeValue(forKey: key) }
            if case .list(let calls)? = m["tool_calls"], calls.isEmpty { m.removeValue(forKey: "tool_calls") }
            guard case .string(let roleText)? = m["role"] else { throw FieldError.problem("messages[\(i)].role is missing or not a string") }
            guard let role = Message.Role(rawValue: roleText) else {
                throw FieldError.problem("messages[\(i)].role \"\(roleText)\" is not system, user, assistant or tool")
            }
            let content: String
            switch m["content"] {
            case .string(let s)?: content = s
            case nil where role == .assistant && m["tool_calls"] != nil: content = ""
            case .list(let parts)?:
                content = try parts.enumerated().map { j, part -> String in
                    guard case .dict(let p) = part, case .string(let type)? = p["type"] else {
                        throw FieldError.problem("messages[\(i)].content[\(j)] is not a content part with a type")
                    }
                    guard type == "text", case .string(let text)? = p["text"] else {
                        throw FieldError.problem("messages[\(i)].content[\(j)] of type \"\(type)\" is not supported (text parts only)")
                    }
                    return text
                }.joined()
            case nil: throw FieldError.problem("messages[\(i)].content is missing")
            default: throw FieldError.problem("messages[\(i)].content is not a string or a list of text parts")
            }
            if case .some(let calls) = m["tool_calls"], role != .assistant || { if case .list = calls { return false } else { return true } }() {
                throw FieldError.problem("messages[\(i)].tool_calls \(role != .assistant ? "belongs to assistant turns only" : "is not a list")")
            }
            messages.append(Message(role, content, fields: .dict(m)))
        }
        guard let last = messages.lastIndex(where: { $0.role == .assistant }) else {
            throw FieldError.problem("messages has no assistant turn")
        }
        var tools: [Value]?
        switch o["tools"] {
        case nil, .none?: tools = nil
        case .list(let t)?: tools = t
        default: throw FieldError.problem("field \"tools\" is not a list")
        }
        // Turns after the last assistant turn carry nothing to train on.
        return (Array(messages[...last]), tools)
    }

    static func jsonErrorText(_ error: Error) -> String {
        if let own = error as? TemplateError { return own.description }  // xtf's own reader
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}

extension [UInt8] {
    /// Whether the bytes hold U+FEFF in UTF-8 (EF BB BF).
    var containsBOM: Bool {
        guard count >= 3 else { return false }
        for i in 0..<(count - 2) where self[i] == 0xEF && self[i + 1] == 0xBB && self[i + 2] == 0xBF { return true }
        return false
    }
}

extension Value {
    /// As JSONSerialization would give it (dictionaries, arrays, strings, NSNumber, NSNull).
    var foundation: Any {
        switch self {
        case .dict(let d): return Dictionary(uniqueKeysWithValues: d.map { ($0.key, $0.value.foundation) }) as [String: Any]
        case .list(let a), .tuple(let a): return a.map(\.foundation)
        case .string(let s): return s
        case .int(let i): return NSNumber(value: i)
        case .double(let d): return NSNumber(value: d)
        case .bool(let b): return NSNumber(value: b)
        default: return NSNull()
        }
    }
}
