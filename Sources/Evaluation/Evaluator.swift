import Artifacts
import Cluster
import Data
import Foundation
import Model
import RunFiles
import Tokenizer

public struct EvalSettings: Codable, Sendable {
    public var task: EvalTask
    public var data: String
    /// Dataset layout for perplexity (any DatasetFormat).
    public var format: DatasetFormat = .gsm8k
    public var template: PromptTemplate = .auto
    public var maxNewTokens = 256
    /// Generations per HumanEval problem, and the k of pass@k reported.
    public var samples = 1
    public var k: [Int] = [1]
    /// 0: greedy; otherwise sampled with the seed.
    public var temperature = 0.0
    public var seed: UInt64 = 0
    public var timeoutSeconds = 10.0
    /// Evaluate only the first N items.
    public var limit: Int?
    public var batchSize = 8
    /// A record that cannot be read: stop naming it (nil, `fail`), or `skip` it, listed in the result.
    public var onBadRecord: BadRecordPolicy?
    /// HumanEval without bubblewrap: run the generated code unsandboxed rather than stop.
    public var unsafeNoSandbox = false
    /// Where the weights live while generating (nil: fp32). `mapped` lets a model too large
    /// for an fp32 copy per rank be evaluated, at the cost of widening every layer per step.
    public var weights: WeightStorage?

    public init(task: EvalTask, data: String) { self.task = task; self.data = data }

    /// Refuses settings no evaluation can honour, naming the option.
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> EvaluationError { .invalidSetting(field: field, reason: reason) }
        guard samples >= 1 else { throw fail("samples", "must be >= 1, got \(samples)") }
        guard !k.isEmpty, k.allSatisfy({ (1...samples).contains($0) }) else {
            throw fail("k", "each k must lie in 1...\(samples) (the samples per problem), got \(k.map(String.init).joined(separator: " "))")
        }
        guard timeoutSeconds > 0, timeoutSeconds.isFinite else { throw fail("timeout", "must be > 0 seconds, got \(timeoutSeconds)") }
        guard maxNewTokens >= 1 else { throw fail("max-new-tokens", "must be >= 1, got \(maxNewTokens)") }
        guard batchSize >= 1 else { throw fail("batch-size", "must be >= 1, got \(batchSize)") }
        if let limit, limit < 1 { throw fail("limit", "must be >= 1, got \(limit)") }
        guard temperature >= 0, temperature.isFinite else { throw fail("temperature", "must be >= 0, got \(temperature)") }
    }
}

/// Evaluates a model; item i goes to rank i mod size, and rank-local counts are summed.
public final class Evaluator {
    let model: Transformer
    let tokenizer: Tokenizer
    /// `settings.template` resolved for the tokenizer.
    let chat: ChatFormat
    let world: Communicator
    let settings: EvalSettings
    /// GSM8K and PubMedQA: every item's generation after `run()`, in data order, on rank 0.
    public private(set) var generations: [Generation] = []
    /// Records skipped under `onBadRecord` skip: "id: reason".
    private var skipped: [String] = []

    public init(model: Transformer, tokenizer: Tokenizer, chat: ChatFormat, world: Communicator, settings: EvalSettings) {
        self.model = model; self.tokenizer = tokenizer; self.chat = chat; self.world = world; self.settings = settings
    }

    /// Collective.
    public func run() throws -> EvalResult {
        try settings.validate()
        var result: EvalResult
        switch settings.task {
        case .gsm8k, .pubmedqa: result = try accuracy()
        case .perplexity: result = try perplexity()
        case .humaneval: result = try humanEval()
        }
        if !skipped.isEmpty { result.skipped = skipped }
        return result
    }

    /// Every record of the data, or an error naming the first bad one (all of them listed,
    /// under skip); no records at all is an error too.
    func conversations(_ format: DatasetFormat) throws -> [Conversation] {
        let dataset = try Dataset(DatasetSpec(path: settings.data, format: format))
        var all: [Conversation] = []
        for outcome in try dataset.records(in: nil) {
            switch outcome {
            case let .conversation(c): all.append(c)
            case .tokens:
                throw EvaluationError.invalidSetting(field: "format", reason: "tokenized data has no text to prompt a model with: evaluate on a text format")
            case let .rejected(r):
                guard settings.onBadRecord == .skip else { throw dataset.error(for: r) }
                skipped.append("\(r.id): \(r.reason)")
            }
        }
        guard !all.isEmpty else { throw EvaluationError.noItems(path: settings.data) }
        return Array(all.prefix(settings.limit ?? all.count))
    }

    func mine<T>(_ items: [T]) -> [T] {
        items.enumerated().filter { $0.offset % world.size == world.rank }.map(\.element)
    }

    var stopToken: Int32? { model.config.eosTokenId.map { Int32($0) } }

    /// Generates continuations of `prompts` (texts) in batches; returns the new text only.
    func generate(_ prompts: [String], seed: UInt64 = 0) throws -> [String] {
        var out: [String] = []
        var start = 0, tokens = 0
        // Rank 0's share of the items (every rank has about as many).
        let progress = ProgressLine(stage: "eval", unit: "items on rank 0", total: prompts.count, rank: world.rank)
        defer { progress.finish() }
        while start < prompts.count {
            let batch = prompts[start..<min(prompts.count, start + settings.batchSize)]
            let ids = batch.map { p -> [Int32] in
                let encoded = tokenizer.encode(p, addSpecialTokens: chat.tokenizerAddsSpecialTokens).ids.map { Int32($0) }
                return Array(encoded.suffix(max(1, model.config.maxPositions - settings.maxNewTokens)))
            }
            let sampling: Sampling = settings.temperature > 0
                ? .temperature(Float(settings.temperature), seed: settings.seed &+ seed &+ UInt64(start)) : .greedy
            let generated = try model.generate(prompts: ids, maxNewTokens: settings.maxNewTokens, sampling: sampling, stopToken: stopToken)
            for (p, g) in zip(ids, generated) {
                out.append(tokenizer.decode(g.dropFirst(p.count).filter { $0 != stopToken }.map { Int($0) }))
            }
            start += batch.count
            tokens += generated.reduce(0) { $0 + $1.count }
            progress.update(done: start, tokens: tokens)
        }
        return out
    }

    func accuracy() throws -> EvalResult {
        let format: DatasetFormat = settings.task == .gsm8k ? .gsm8k : .pubmedqa
        let items = try conversations(format)
        let local = mine(items)
        let prompts = try local.map { try chat.prompt(context: $0.context) }
        let outputs = try generate(prompts)
        var graded: [Generation] = []
        for (position, (item, output)) in zip(local, outputs).enumerated() {
            // GSM8K: stop at the first blank line (the model may go on with a new question).
            let answer = settings.task == .gsm8k ? String(output.components(separatedBy: "\n\n")[0]) : output
            let predicted = settings.task == .gsm8k ? Answers.gsm8kNumber(answer) : Answers.pubmedqaDecision(answer)
            let expected = settings.task == .gsm8k ? Answers.gsm8kNumber(item.response) : Answers.pubmedqaDecision(item.response)
            graded.append(Generation(index: position * world.size + world.rank, prompt: prompts[position], output: output,
                                     predicted: predicted, expected: expected, correct: predicted != nil && predicted == expected))
        }
        let correct = graded.filter(\.correct).count
        let total = Int(try world.allreduce(Int64(correct), op: .sum))
        if let all = try world.gather(value: graded) { generations = all.joined().sorted { $0.index < $1.index } }
        return EvalResult(task: settings.task, items: items.count, correct: total,
                          accuracy: items.isEmpty ? 0 : Double(total) / Double(items.count))
    }

    func perplexity() throws -> EvalResult {
        let items = try conversations(settings.format)
        var sums: [Double] = [0, 0]
        for c in mine(items) {
            let rendered: PromptTemplate.Rendered
            do { rendered = try chat.render(c) } catch let error as ChatTemplateFileError {
                // A record the template cannot write is a bad record, like one the reader refused.
                guard settings.onBadRecord == .skip else { throw EvaluationError.cannotRead(path: settings.data, reason: "\(c.id): \(error)") }
                skipped.append("\(c.id): \(error)")
                continue
            }
            let prompt = tokenizer.encode(rendered.prompt, addSpecialTokens: chat.tokenizerAddsSpecialTokens).ids.map { Int32($0) }
            let response = tokenizer.encode(rendered.response, addSpecialTokens: false).ids.map { Int32($0) }
            let ids = Array((prompt + response).prefix(model.config.maxPositions))
            guard ids.count > prompt.count else { continue }
            let targets = ids.indices.map { t in t + 1 < ids.count && t + 1 >= prompt.count ? ids[t + 1] : -1 }
            let lp = try model.forward([ids], ForwardRequest(targets: [targets])).targetLogProbs[0]
            for (t, target) in targets.enumerated() where target >= 0 { sums[0] -= Double(lp[t]); sums[1] += 1 }
        }
        try world.allreduce(&sums, op: .sum)
        return EvalResult(task: .perplexity, items: items.count, perplexity: sums[1] > 0 ? exp(sums[0] / sums[1]) : nil,
                          tokens: Int(sums[1]))
    }

    struct Problem: Decodable {
        let task_id: String, prompt: String, test: String, entry_point: String
    }

    func humanEval() throws -> EvalResult {
        let text = try Self.readMaybeGzip(settings.data)
        var problems: [Problem] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do { problems.append(try JSONDecoder().decode(Problem.self, from: Data(line.utf8))) } catch {
                let reason = Self.decodingReason(error)
                guard settings.onBadRecord == .skip else { throw EvaluationError.cannotRead(path: settings.data, reason: "line \(i + 1): \(reason)") }
                skipped.append("line \(i + 1): \(reason)")
            }
        }
        guard !problems.isEmpty else { throw EvaluationError.noItems(path: settings.data) }
        problems = Array(problems.prefix(settings.limit ?? problems.count))
        // Before any generation, on every rank together: no sandbox and no --unsafe-no-sandbox
        // stops here; eval.json records the weakest sandbox any rank ran the code in.
        let sandbox = try world.allSucceed { try CodeSandbox.make(allowUnsandboxed: settings.unsafeNoSandbox) }
        let everywhere = try world.allreduce(Int64(sandbox.kind == .bubblewrap ? 1 : 0), op: .min) == 1
        var passCounts: [Double] = Array(repeating: 0, count: settings.k.count)
        for (index, problem) in problems.enumerated() where index % world.size == world.rank {
            var correct = 0
            for sample in 0..<settings.samples {
                let completion = Answers.humanEvalCompletion(try generate([problem.prompt], seed: UInt64(index * 1000 + sample))[0])
                let program = problem.prompt + completion + "\n\n" + problem.test + "\n\ncheck(\(problem.entry_point))\n"
                if try sandbox.runPython(program, timeout: settings.timeoutSeconds) == .passed { correct += 1 }
            }
            for (i, k) in settings.k.enumerated() where k <= settings.samples {
                passCounts[i] += Answers.passAtK(samples: settings.samples, correct: correct, k: k)
            }
        }
        try world.allreduce(&passCounts, op: .sum)
        var pass: [String: Double] = [:]
        for (i, k) in settings.k.enumerated() where k <= settings.samples {
            pass["pass@\(k)"] = problems.isEmpty ? 0 : passCounts[i] / Double(problems.count)
        }
        return EvalResult(task: .humaneval, items: problems.count, passAtK: pass,
                          sandbox: everywhere ? CodeSandbox.Kind.bubblewrap.rawValue : CodeSandbox.Kind.none.rawValue)
    }

    static func readMaybeGzip(_ path: String) throws -> String {
        guard path.hasSuffix(".gz") else { return try String(contentsOfFile: path, encoding: .utf8) }
        return String(decoding: try GzipFile.decompress(path), as: UTF8.self)
    }
}

public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case noItems(path: String)
    case invalidSetting(field: String, reason: String)
    /// HumanEval needs a sandbox for the generated code, and there is none.
    case noSandbox(reason: String)
    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "\(path): \(reason)"
        case let .noItems(path): return "\(path): no records to evaluate"
        case let .invalidSetting(field, reason): return "\(field): \(reason)"
        case let .noSandbox(reason):
            return "humaneval runs the generated code in a bubblewrap sandbox, and there is none: \(reason); pass --unsafe-no-sandbox to run it unsandboxed"
        }
    }
}

extension Evaluator {
    /// A HumanEval line's decoding error in words: the field, not Foundation's type dump.
    static func decodingReason(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, _): return "missing field \"\(key.stringValue)\""
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
            return "field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type"
        case DecodingError.dataCorrupted: return "malformed JSON"
        default: return "\(error)"
        }
    }
}
