import Foundation
import Pipeline
import Scoring
import Training
import Yams

/// A run file that cannot be used, naming the file and the key.
public struct PlanFileError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let key: String
    public let reason: String

    public var description: String { "\(file): \(key): \(reason)" }
}

extension RunPlan {
    static let sections: Set<String> = ["out", "model", "tokenizer", "score", "train", "arms", "eval", "groundtruth"]
    /// Keys whose value is a path, taken relative to the run file.
    static let pathKeys: Set<String> = ["data", "reference", "labels"]
    /// Keys that take several values; a single value is a list of one.
    static let listKeys: Set<String> = ["caps", "flag-classes", "domain-words", "k"]

    /// Reads a run file (YAML: the sections above, keys = the commands' option names) and
    /// applies `overrides` (`SECTION.KEY=VALUE`, `arms.NAME.KEY=VALUE`, `out=...`).
    public init(file: String, overrides: [String] = []) throws {
        func fail(_ key: String, _ reason: String) -> PlanFileError { PlanFileError(file: file, key: key, reason: reason) }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw fail("(file)", "cannot be read: \(error.localizedDescription)")
        }
        let root: Node.Mapping
        do {
            guard let mapping = try Yams.compose(yaml: text)?.mapping else { throw fail("(file)", "expected a YAML mapping of sections") }
            root = mapping
        } catch let error as PlanFileError { throw error } catch {
            throw fail("(file)", "not valid YAML: \(error)")
        }
        let base = URL(fileURLWithPath: file).absoluteURL.deletingLastPathComponent()
        func path(_ p: String) -> String { p.hasPrefix("/") ? p : base.appendingPathComponent(p).standardized.path }

        // Sections as key -> node, paths resolved against the file.
        func scalar(_ node: Node?, _ at: String) throws -> String? {
            guard let node else { return nil }
            guard let s = node.scalar?.string else { throw fail(at, "expected a value") }
            return s
        }
        func section(_ node: Node?, _ at: String) throws -> [String: Node] {
            guard let node else { return [:] }
            if let s = node.scalar?.string, ["", "~", "null"].contains(s) { return [:] }
            guard let mapping = node.mapping else { throw fail(at, "expected a mapping of option: value") }
            var out: [String: Node] = [:]
            for (k, v) in mapping {
                guard let key = k.scalar?.string else { throw fail(at, "expected option names as keys") }
                if Self.pathKeys.contains(key), let p = v.scalar?.string { out[key] = Node(path(p)) } else { out[key] = v }
            }
            return out
        }
        for (k, _) in root {
            let key = k.scalar?.string ?? "?"
            guard Self.sections.contains(key) else { throw fail(key, "unknown section (known: \(Self.sections.sorted().joined(separator: ", ")))") }
        }
        guard var out = try scalar(root["out"], "out").map(path) else { throw fail("out", "missing: the run directory") }
        guard var model = try scalar(root["model"], "model").map(path) else { throw fail("model", "missing: the base model's directory") }
        var tokenizer = try scalar(root["tokenizer"], "tokenizer").map(path)
        var score = try section(root["score"], "score"), train = try section(root["train"], "train")
        var eval = try root["eval"].map { try section($0, "eval") }
        var groundTruth = try root["groundtruth"].map { try section($0, "groundtruth") }
        var arms: [(name: String, options: [String: Node])] = []
        if let node = root["arms"] {
            guard let mapping = node.mapping else { throw fail("arms", "expected a mapping of name: options") }
            for (k, v) in mapping {
                guard let name = k.scalar?.string, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                    throw fail("arms.\(k.scalar?.string ?? "?")", "arm names are letters, digits, - and _")
                }
                arms.append((name, try section(v, "arms.\(name)")))
            }
        } else {
            arms = [("normal", ["mask": Node("none")]), ("xtf", ["mask": Node("xtf")])]
        }

        // --set: a value with spaces is a list ("0.05 0.1 0.05"); commas stay inside one value
        // (--lora 8,32,q_proj, attributes ri,kn). Paths given here are taken as written.
        for override in overrides {
            guard let eq = override.firstIndex(of: "=") else { throw OptionError("set \(override)", "expected SECTION.KEY=VALUE") }
            let parts = override[..<eq].split(separator: ".").map(String.init)
            let value = String(override[override.index(after: eq)...])
            let words = value.split(separator: " ").map(String.init)
            let node = words.count > 1 ? Node(words.map { Node($0) }) : Node(value)
            switch (parts.count, parts.first ?? "") {
            case (1, "out"): out = value
            case (1, "model"): model = value
            case (1, "tokenizer"): tokenizer = value
            case (2, "score"): score[parts[1]] = node
            case (2, "train"): train[parts[1]] = node
            case (2, "eval"): eval = (eval ?? [:]).merging([parts[1]: node]) { $1 }
            case (2, "groundtruth"): groundTruth = (groundTruth ?? [:]).merging([parts[1]: node]) { $1 }
            case (3, "arms"):
                guard let i = arms.firstIndex(where: { $0.name == parts[1] }) else { throw OptionError("set \(override)", "no arm \(parts[1])") }
                arms[i].options[parts[2]] = node
            default: throw OptionError("set \(override)", "expected out|model|tokenizer=VALUE, score|train|eval.KEY=VALUE or arms.NAME.KEY=VALUE")
            }
        }

        // Each section decoded into its stage's options, then its settings.
        func decode<T: Decodable>(_ type: T.Type, _ options: [String: Node], known: [String], _ at: String) throws -> T {
            for key in options.keys.sorted() where !known.contains(key) {
                throw fail("\(at).\(key)", "unknown option (known here: \(known.sorted().joined(separator: ", ")))")
            }
            var mapping: [(Node, Node)] = []
            for (key, value) in options.filter({ known.contains($0.key) }).sorted(by: { $0.key < $1.key }) {
                mapping.append((Node(key), Self.listKeys.contains(key) && value.sequence == nil ? Node([value]) : value))
            }
            do { return try YAMLDecoder().decode(T.self, from: Node(mapping)) } catch {
                let (key, reason) = Self.describe(error)
                throw fail(key.isEmpty ? at : "\(at).\(key)", reason)
            }
        }
        // The settings types' own checks, named as the file names the option.
        func settings<T>(_ at: String, _ make: () throws -> T) throws -> T {
            do { return try make() } catch let error as OptionError {
                throw fail(error.option.hasPrefix("\(at).") ? error.option : "\(at).\(error.option)", error.reason)
            } catch let PipelineError.invalidSetting(field, reason), let TrainingError.invalidSetting(field, reason),
                    let ScoringError.invalidSetting(field, reason) {
                throw fail("\(at).\(Self.optionName(field))", reason)
            }
        }
        let scoreOptions = try decode(ScoreOptions.self, score, known: ScoreOptions.keys + MaskOptions.keys, "score")
        let scoreRules = try decode(MaskOptions.self, score, known: ScoreOptions.keys + MaskOptions.keys, "score")
        self.out = out
        self.model = model
        self.tokenizer = tokenizer
        self.score = try settings("score") { try scoreOptions.settings(model: model, tokenizer: tokenizer ?? model) }
        rules = try settings("score") { try scoreRules.settings() }
        let trainKeys = TrainOptions.keys, maskKeys = MaskOptions.keys
        _ = try decode(TrainOptions.self, train, known: trainKeys, "train")
        self.arms = try arms.map { name, options in
            let at = "arms.\(name)"
            let merged = train.merging(options.filter { trainKeys.contains($0.key) }) { $1 }
            let trainOptions = try decode(TrainOptions.self, merged, known: trainKeys + maskKeys, at)
            let ruleOptions = try decode(MaskOptions.self, options, known: trainKeys + maskKeys, at)
            // An arm on a dataset of its own trains on every response token of it.
            let mask = trainOptions.mask ?? (trainOptions.data != nil ? .none : trainOptions.lossMask)
            var arm = Arm(name: name, mask: mask, reference: trainOptions.reference,
                          settings: try settings(at) { try trainOptions.settings() }, timeline: trainOptions.timeline ?? false,
                          rules: ruleOptions.isEmpty ? nil : try settings(at) { try ruleOptions.settings() }, data: trainOptions.data)
            arm.maskMode = trainOptions.maskMode == .loss ? nil : trainOptions.maskMode  // loss is the default, written as nothing
            arm.reportTo = trainOptions.reportTo == ReportTarget.none ? nil : trainOptions.reportTo  // none: written as nothing
            if arm.data != nil, arm.mask != .none || arm.rules != nil || arm.maskMode != nil {
                throw fail(at, "an arm with data trains on every response token of it: mask none, no rules, no mask-mode")
            }
            if arm.maskMode == .delete, ![.xtf, .random, .oracle].contains(arm.mask) {
                throw fail(at, "mask-mode delete cuts out the tokens of mask xtf, random or oracle; mask \(arm.mask.rawValue) picks none")
            }
            return arm
        }
        // Masks by the prompt gain need the second scoring pass: say so before scoring.
        for (at, rules) in [("score", rules)] + self.arms.compactMap({ arm in arm.rules.map { ("arms.\(arm.name)", $0) } })
            where rules.knScore == .promptGain && rules.isActive(.kn) && self.score.promptFreePCP != true {
            throw fail(at, "kn-score prompt-gain needs the score section's prompt-free-pcp: true")
        }
        self.eval = try eval.map { section in
            try settings("eval") { try decode(EvalOptions.self, section, known: EvalOptions.keys, "eval").settings() }
        }
        if let oracle = self.arms.first(where: { $0.mask == .oracle }), groundTruth?["labels"] == nil {
            throw fail("arms.\(oracle.name)", "mask oracle needs the groundtruth section's labels (the generated train.jsonl)")
        }
        if let groundTruth {
            guard let labels = try scalar(groundTruth["labels"], "groundtruth.labels"), groundTruth.count == 1 else {
                throw fail("groundtruth", "takes one key, labels: the generated train.jsonl")
            }
            groundTruthLabels = labels
        } else {
            groundTruthLabels = nil
        }
    }

    /// A decoding error as the key (empty when unknown) and what was wrong with its value.
    static func describe(_ error: Error) -> (key: String, reason: String) {
        guard let error = error as? DecodingError else { return ("", "\(error)") }
        func key(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .typeMismatch(type, context), let .valueNotFound(type, context): return (key(context), "expected \(type)")
        case let .dataCorrupted(context): return (key(context), context.debugDescription)
        case let .keyNotFound(missing, context): return (key(context), "\(missing.stringValue): missing")
        @unknown default: return ("", "\(error)")
        }
    }
}
