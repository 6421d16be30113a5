import ArgumentParser
import Artifacts
import Cluster
import Foundation
import GroundTruth
import Pipeline
import Report
import Training
import Yams

/// `xtf run --config FILE.yaml`: the whole job from one file.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score, mask, train every arm, evaluate each and report, from one YAML file (under mpirun: all ranks).",
        discussion: """
            The YAML file (see configs/ for examples; relative paths are relative to the file):
              out: runs/demo            # run directory
              model: models/default     # base model (Hugging Face layout, tokenizer.json beside it)
              tokenizer: ...            # optional, default: the model directory
              score: {data: ..., format: gsm8k, task: math, max-length: 256, ...}   # any `xtf score` option
              train: {max-steps: 100, lr: 3e-4, ...}          # any `xtf train` option, for every arm
              arms:                                           # default: normal and xtf
                normal: {mask: none}
                xtf: {mask: xtf}
                kn-only: {attributes: kn}   # `xtf mask` options give the arm masks of its own
              eval: {task: gsm8k, data: ..., max-new-tokens: 64}  # any `xtf eval` option
              groundtruth: {labels: train.jsonl}                # optional: the detection report
            Keys are the commands' option names. --set SECTION.KEY=VALUE overrides one (several \
            values separated by spaces; arms: \
            arms.NAME.KEY=VALUE). Every stage is skipped when its outputs are complete and \
            resumed when they are partial, so the same command continues a run that stopped.
            """)

    @Option(help: "The run's YAML file.") var config: String
    @Option(name: .customLong("set"), help: "Override a setting: SECTION.KEY=VALUE (repeatable).") var overrides: [String] = []
    @Option(help: "Only these arms, comma-separated (default: every arm of the file).") var arms: String?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        var plan = try RunPlan(file: config, overrides: overrides)
        if let arms {
            let wanted = arms.split(separator: ",").map(String.init)
            for name in wanted where !plan.arms.contains(where: { $0.name == name }) {
                throw ValidationError("--arms: no arm \"\(name)\" in \(config)")
            }
            plan.arms = plan.arms.filter { wanted.contains($0.name) }
        }
        let context = try ClusterContext(global, label: "xtf.run")
        try RunJob(plan: plan, world: context.world, global: global).run()
    }
}

/// A setting as the YAML gives it: a value, a list of values or a switch.
enum SettingValue: Codable, Equatable {
    case value(String)
    case list([String])
    case flag(Bool)

    func arguments(_ key: String) -> [String] {
        switch self {
        case .value(let v): return ["--\(key)", v]
        case .list(let vs): return ["--\(key)"] + vs
        case .flag(let on): return on ? ["--\(key)"] : []
        }
    }

    /// As plain JSON: "value", ["a", "b"] or true.
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .value(let v): try c.encode(v)
        case .list(let vs): try c.encode(vs)
        case .flag(let on): try c.encode(on)
        }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let on = try? c.decode(Bool.self) { self = .flag(on) } else if let vs = try? c.decode([String].self) { self = .list(vs) } else {
            self = .value(try c.decode(String.self))
        }
    }

    var text: String {
        switch self {
        case .value(let v): return v
        case .list(let vs): return vs.joined(separator: " ")
        case .flag(let on): return String(on)
        }
    }
}

typealias Settings = [String: SettingValue]

/// The resolved configuration of a run (written to OUT/run.json).
struct RunPlan: Codable {
    struct Arm: Codable {
        var name: String
        /// `xtf train` options of this arm (over the common ones).
        var train: Settings
        /// `xtf mask` options: when present the arm trains on masks of its own.
        var mask: Settings
    }

    var out: String
    var model: String
    var tokenizer: String?
    var score: Settings
    var train: Settings
    var arms: [Arm]
    var eval: Settings?
    var groundTruthLabels: String?

    static let sections: Set<String> = ["out", "model", "tokenizer", "score", "train", "arms", "eval", "groundtruth"]
    static let maskKeys: Set<String> = ["k-iqr", "ri-fence", "tau-kn", "otsu-classes", "flag-classes", "caps", "attributes"]
    static let pathKeys: Set<String> = ["data", "reference", "labels", "tokenizer"]

    init(file: String, overrides: [String]) throws {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        guard let root = try Yams.compose(yaml: text)?.mapping else { throw ValidationError("\(file): expected a YAML mapping") }
        let base = URL(fileURLWithPath: file).absoluteURL.deletingLastPathComponent()
        func path(_ p: String) -> String { p.hasPrefix("/") ? p : base.appendingPathComponent(p).standardized.path }
        func fail(_ where_: String, _ why: String) -> ValidationError { ValidationError("\(file): \(where_): \(why)") }

        func scalar(_ node: Node, _ at: String) throws -> String {
            guard let s = node.scalar?.string else { throw fail(at, "expected a value") }
            return s
        }
        func settings(_ node: Node?, _ at: String) throws -> Settings {
            guard let node else { return [:] }
            guard let mapping = node.mapping else { throw fail(at, "expected a mapping of option: value") }
            var out: Settings = [:]
            for (k, v) in mapping {
                let key = try scalar(k, at)
                if let items = v.sequence {
                    out[key] = .list(try items.map { try scalar($0, "\(at).\(key)") })
                } else if let b = v.bool, ["true", "false"].contains(v.scalar?.string.lowercased() ?? "") {
                    out[key] = .flag(b)
                } else {
                    let value = try scalar(v, "\(at).\(key)")
                    out[key] = .value(Self.pathKeys.contains(key) ? path(value) : value)
                }
            }
            return out
        }

        for (k, _) in root {
            let key = k.scalar?.string ?? "?"
            guard Self.sections.contains(key) else { throw fail(key, "unknown section (known: \(Self.sections.sorted().joined(separator: ", ")))") }
        }
        guard let out = root["out"].map({ try? scalar($0, "out") }) ?? nil else { throw fail("out", "missing") }
        guard let model = root["model"].map({ try? scalar($0, "model") }) ?? nil else { throw fail("model", "missing") }
        self.out = path(out)
        self.model = path(model)
        tokenizer = try root["tokenizer"].map { path(try scalar($0, "tokenizer")) }
        score = try settings(root["score"], "score")
        train = try settings(root["train"], "train")
        eval = try root["eval"].map { try settings($0, "eval") }
        groundTruthLabels = try root["groundtruth"].map { node in
            guard let labels = try settings(node, "groundtruth")["labels"], case .value(let p) = labels else {
                throw fail("groundtruth", "needs labels: the generated train.jsonl")
            }
            return p
        }
        if let armsNode = root["arms"] {
            guard let mapping = armsNode.mapping else { throw fail("arms", "expected a mapping of name: options") }
            arms = try mapping.map { k, v in
                let name = try scalar(k, "arms")
                guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !name.isEmpty else {
                    throw fail("arms.\(name)", "arm names are letters, digits, - and _")
                }
                let empty = v.mapping == nil && ["", "~", "null"].contains(v.scalar?.string ?? "-")
                let all = try settings(empty ? nil : v, "arms.\(name)")
                return Arm(name: name, train: all.filter { !Self.maskKeys.contains($0.key) }, mask: all.filter { Self.maskKeys.contains($0.key) })
            }
        } else {
            arms = [Arm(name: "normal", train: ["mask": .value("none")], mask: [:]), Arm(name: "xtf", train: ["mask": .value("xtf")], mask: [:])]
        }
        guard score["data"] != nil else { throw fail("score.data", "missing: the dataset to score") }

        for override in overrides {
            guard let eq = override.firstIndex(of: "=") else { throw ValidationError("--set \(override): expected SECTION.KEY=VALUE") }
            let parts = override[..<eq].split(separator: ".").map(String.init)
            let value = String(override[override.index(after: eq)...])
            if parts.count == 1 {
                switch parts[0] {
                case "out": self.out = value
                case "model": self.model = value
                case "tokenizer": tokenizer = value
                default: throw ValidationError("--set \(override): unknown setting \(parts[0])")
                }
                continue
            }
            let key = parts.last!
            // Options that take several values get them separated by spaces ("0.05 0.1 0.05");
            // commas stay inside one value, as in --lora 8,32,q_proj or --attributes ri,kn.
            let words = value.split(separator: " ").map(String.init)
            let setting: SettingValue = ["true", "false"].contains(value) ? .flag(value == "true")
                : words.count > 1 ? .list(words) : .value(value)
            switch (parts.count, parts[0]) {
            case (2, "score"): score[key] = setting
            case (2, "train"): train[key] = setting
            case (2, "eval"): eval = (eval ?? [:]).merging([key: setting]) { $1 }
            case (2, "groundtruth") where key == "labels": groundTruthLabels = value
            case (3, "arms"):
                guard let i = arms.firstIndex(where: { $0.name == parts[1] }) else { throw ValidationError("--set \(override): no arm \(parts[1])") }
                if Self.maskKeys.contains(key) { arms[i].mask[key] = setting } else { arms[i].train[key] = setting }
            default: throw ValidationError("--set \(override): expected score|train|eval.KEY or arms.NAME.KEY")
            }
        }
    }
}

extension RunPlan {
    /// What differs from `saved`, the plan that wrote the run directory, in the stages with
    /// outputs there (`hasOutputs` takes a path relative to the directory). The ground-truth
    /// report is made anew on every run, so its labels may change.
    func conflicts(with saved: RunPlan, hasOutputs: (String) -> Bool) -> [String] {
        var found: [String] = []
        let scored = hasOutputs("score")
        let trained = arms.filter { hasOutputs("arms/\($0.name)") }
        if scored || !trained.isEmpty {
            found += settingsDifferences(saved.model, model, prefix: "model") + settingsDifferences(saved.tokenizer, tokenizer, prefix: "tokenizer")
        }
        if scored { found += settingsDifferences(saved.score, score, prefix: "score") }
        for arm in trained {
            guard let old = saved.arms.first(where: { $0.name == arm.name }) else { continue }
            found += settingsDifferences(saved.train.merging(old.train) { $1 }, train.merging(arm.train) { $1 }, prefix: "arms.\(arm.name)")
            found += settingsDifferences(old.mask, arm.mask, prefix: "arms.\(arm.name)")
        }
        if hasOutputs("base-eval.json") || saved.arms.contains(where: { hasOutputs("arms/\($0.name)/eval.json") }) {
            found += settingsDifferences(saved.eval, eval, prefix: "eval")
        }
        return found
    }
}

/// Runs the stages of a plan, each skipped when done and resumed when partial. Collective.
struct RunJob {
    let plan: RunPlan
    let world: Communicator
    let global: GlobalOptions

    var scoreDirectory: String { (plan.out as NSString).appendingPathComponent("score") }
    func armDirectory(_ arm: RunPlan.Arm) -> String { (plan.out as NSString).appendingPathComponent("arms/\(arm.name)") }
    var tokenizer: String { plan.tokenizer ?? plan.model }
    var globalArguments: [String] { global.arguments }
    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
    func say(_ text: String) {
        guard world.isRoot, !global.quiet else { return }
        writeToStandardError(global.logFormat == .json ? "{\"event\":\"stage\",\"message\":\(String(decoding: (try? JSONEncoder().encode(text)) ?? Data(), as: UTF8.self))}\n" : "xtf run: \(text)\n")
    }

    /// Parses `arguments` as `command` would from its command line, naming the section on error.
    func invoke<C: ParsableCommand>(_ command: C.Type, _ arguments: [String], section: String) throws {
        var parsed: C
        do { parsed = try C.parse(arguments + globalArguments) } catch {
            throw ValidationError("\(section): \(C.message(for: error)) (arguments: \(arguments.joined(separator: " ")))")
        }
        try parsed.run()
    }

    func run() throws {
        // What the run ran on (versions, hosts), beside its configuration.
        let environment = try Info.gather(world)
        // Rank 0 refuses an OUT holding another run, then records this one; a refusal stops every rank.
        _ = try world.decidedByRoot { () -> Bool in
            let recorded = try checkDirectory()
            try FileManager.default.createDirectory(atPath: plan.out, withIntermediateDirectories: true)
            try AtomicFile.writeJSON(recorded, to: (plan.out as NSString).appendingPathComponent("run.json"))
            if let environment { try AtomicFile.writeJSON(environment, to: (plan.out as NSString).appendingPathComponent("environment.json")) }
            return true
        }

        // 1. Score (and mask with the score section's mask options).
        let scoreManifest = (scoreDirectory as NSString).appendingPathComponent("manifest.json")
        if exists(scoreManifest) {
            say("score: done (\(scoreDirectory))")
        } else {
            let resume = exists((scoreDirectory as NSString).appendingPathComponent("settings.json"))
            say("score: \(resume ? "resuming" : "starting") in \(scoreDirectory)")
            try invoke(Score.self, ["--model", plan.model, "--tokenizer", tokenizer, "--out", scoreDirectory]
                + plan.score.sorted { $0.key < $1.key }.flatMap { $0.value.arguments($0.key) } + (resume ? ["--resume"] : []),
                section: "score")
        }

        // 2. Arms: masks of their own when asked, training, evaluation.
        var rows: [ArmRow] = []
        if let evalSettings = plan.eval {
            rows.append(try evaluate(name: "base", model: plan.model, adapter: nil, settings: evalSettings,
                                     out: (plan.out as NSString).appendingPathComponent("base-eval.json"),
                                     generations: (plan.out as NSString).appendingPathComponent("base-generations.jsonl")))
        }
        for arm in plan.arms {
            let directory = armDirectory(arm)
            var scores = scoreDirectory
            if !arm.mask.isEmpty {
                scores = (directory as NSString).appendingPathComponent("masks")
                try linkScores(into: scores)
                say("\(arm.name): masking with \(arm.mask.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.text)" }.joined(separator: ", "))")
                try invoke(Mask.self, [scores] + arm.mask.sorted { $0.key < $1.key }.flatMap { $0.value.arguments($0.key) },
                           section: "arms.\(arm.name)")
            }
            let trainDirectory = (directory as NSString).appendingPathComponent("train")
            let losses = (trainDirectory as NSString).appendingPathComponent("losses.jsonl")
            if exists(losses) {
                say("\(arm.name): training done")
            } else {
                say("\(arm.name): training")
                let merged = plan.train.merging(arm.train) { $1 }
                try invoke(Train.self, ["--model", plan.model, "--scores", scores, "--out", trainDirectory, "--resume"]
                    + merged.sorted { $0.key < $1.key }.flatMap { $0.value.arguments($0.key) }, section: "arms.\(arm.name)")
            }
            guard let checkpoint = try CheckpointStore(directory: trainDirectory).newest() else {
                throw ValidationError("arms.\(arm.name): training wrote no checkpoint in \(trainDirectory)")
            }
            let isLoRA = exists((checkpoint as NSString).appendingPathComponent("adapter_config.json"))
            var row = ArmRow(arm: arm.name, mask: plan.train.merging(arm.train) { $1 }["mask"]?.text ?? "xtf", checkpoint: checkpoint)
            try row.readState(checkpoint)
            if let evalSettings = plan.eval {
                let result = try evaluate(name: arm.name, model: isLoRA ? plan.model : checkpoint, adapter: isLoRA ? checkpoint : nil,
                                          settings: evalSettings, out: (directory as NSString).appendingPathComponent("eval.json"),
                                          generations: (directory as NSString).appendingPathComponent("generations.jsonl"))
                row.metric = result.metric; row.metricName = result.metricName
            }
            rows.append(row)
        }

        // 3. The report, the ground-truth detection table and the manifest (rank 0).
        guard world.isRoot else { try world.barrier(); return }
        var report = "# xtf run: \(plan.out)\n"
        if !rows.isEmpty {
            report += "\n| arm | loss mask | steps | tokens with a loss | final loss | \(rows.first { $0.metricName != nil }?.metricName ?? "eval") |\n| --- | --- | ---: | ---: | ---: | ---: |\n"
        }
        for r in rows {
            report += "| \(r.arm) | \(r.mask) | \(r.steps) | \(r.tokens) | \(r.finalLoss.map { String(format: "%.4f", $0) } ?? "-") | \(r.metric.map { String(format: "%.4f", $0) } ?? "-") |\n"
        }
        report += try noiseSection()
        if let labels = plan.groundTruthLabels {
            let problems = try Detection.labels(path: labels)
            let detection = try Detection.evaluate(problems: problems, tokensFile: (scoreDirectory as NSString).appendingPathComponent("tokens.jsonl"))
            try AtomicFile.writeJSON(detection, to: (plan.out as NSString).appendingPathComponent("detection.json"))
            report += "\n## Injected noise found by each attribute\n\n\(detection.table)\n"
        }
        try AtomicFile.write(report, to: (plan.out as NSString).appendingPathComponent("report.md"))
        try AtomicFile.writeJSON(rows, to: (plan.out as NSString).appendingPathComponent("report.json"))
        // The HTML report shows the manifest's checksums, then the manifest lists the report too.
        let entries = try writeManifest()
        let html = HTMLReport(data: try RunData(root: plan.out, maxSamples: 1000), version: XTF.version)
        let figures = (plan.out as NSString).appendingPathComponent("figures")
        try FileManager.default.createDirectory(atPath: figures, withIntermediateDirectories: true)
        for figure in html.figures { try AtomicFile.write(figure.svg, to: (figures as NSString).appendingPathComponent(figure.name)) }
        try AtomicFile.write(html.render(), to: (plan.out as NSString).appendingPathComponent("report.html"))
        // Only the report's files changed since (a rerun overwrites them): hash those again.
        try writeManifest(known: entries.filter { $0.path != "report.html" && !$0.path.hasPrefix("figures/") })
        print(report)
        print("report: \((plan.out as NSString).appendingPathComponent("report.md")), \((plan.out as NSString).appendingPathComponent("report.html"))")
        try world.barrier()
    }

    /// Refuses an OUT that holds another kind of run, or an `xtf run` whose settings differ in a
    /// stage that has outputs there (it would be skipped as done, or continued, with other
    /// settings). Returns the plan to record: this one, plus the arms only the directory has
    /// (a run of some `--arms` keeps the others' settings for the next comparison).
    func checkDirectory() throws -> RunPlan {
        let directory = OutputDirectory(plan.out, kind: .job, settingsFile: "run.json")
        try directory.refuseOtherKinds()
        guard let data = FileManager.default.contents(atPath: directory.settingsFile) else { return plan }
        let saved: RunPlan
        do { saved = try JSONDecoder().decode(RunPlan.self, from: data) } catch {
            throw PipelineError.corruptRun(path: directory.settingsFile, reason: "cannot be read: \(error)")
        }
        let conflicts = plan.conflicts(with: saved) { exists((plan.out as NSString).appendingPathComponent($0)) }
        guard conflicts.isEmpty else {
            throw PipelineError.runMismatch(path: directory.settingsFile, reason: "was written by another run (\(conflicts.joined(separator: "; "))), "
                + "whose outputs would be taken as this run's: choose another out, or delete the directories of those stages to redo them")
        }
        var recorded = plan
        recorded.arms += saved.arms.filter { old in !plan.arms.contains { $0.name == old.name } }
        return recorded
    }

    /// What XTF flagged in the data, from the scoring run's stats.json and manifest.json.
    func noiseSection() throws -> String {
        let layout = RunLayout(scoreDirectory)
        let stats = try JSONDecoder().decode(RunStats.self, from: Data(contentsOf: URL(fileURLWithPath: layout.stats)))
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: layout.manifest)))
        let t = manifest.totals
        var text = "\n## Noise flagged in the data (score/stats.json)\n\n"
        text += "\(t.records) records: \(t.scored) scored, \(t.rejected) rejected (listed in score/manifest.json), \(t.truncatedSamples) truncated.\n"
        text += try accounting(scored: t.scored) + "\n"
        let overlap = stats.report.overlap.filter { $0.tokens > 0 }
            .map { "\($0.attributes) \($0.tokens)" }.joined(separator: ", ")
        return text + "```\n\(stats.summary)\n  flagged sets (exactly these rules): \(overlap.isEmpty ? "none" : overlap)\n```\n"
    }

    /// Where each arm's samples went (its train/samples.json): every scored sample trained on
    /// or held out. A count that does not add up is an error, not a line in a report.
    func accounting(scored: Int) throws -> String {
        var parts: [String] = []
        for arm in plan.arms {
            let path = (armDirectory(arm) as NSString).appendingPathComponent("train/\(TrainingAccount.fileName)")
            guard let data = FileManager.default.contents(atPath: path) else { continue }  // trained before samples.json existed
            let account = try JSONDecoder().decode(TrainingAccount.self, from: data)
            guard account.records == scored, account.reconciles else {
                throw ValidationError("\(path): \(account.trained) trained + \(account.heldOut.count) held out + \(account.rejected.count) rejected "
                                      + "does not account for the \(scored) scored samples")
            }
            parts.append("\(arm.name) \(account.trained) + \(account.heldOut.count)")
        }
        return parts.isEmpty ? "" : "Every scored sample trained on or held out (trained + held out, per arm): \(parts.joined(separator: ", ")).\n"
    }

    /// One row of the comparison table.
    struct ArmRow: Codable {
        var arm: String, mask: String, checkpoint: String
        var steps = 0, tokens = 0
        var finalLoss: Double?
        var metricName: String?, metric: Double?

        /// Steps, tokens and last loss from the checkpoint's trainer_state.json.
        mutating func readState(_ checkpoint: String) throws {
            struct Saved: Decodable { let state: TrainerState }
            let url = URL(fileURLWithPath: checkpoint).appendingPathComponent("trainer_state.json")
            let state = try JSONDecoder().decode(Saved.self, from: Data(contentsOf: url)).state
            steps = state.step; tokens = state.tokens.reduce(0, +); finalLoss = state.losses.last
        }
    }

    /// Evaluates a model (skipped when `out` exists) and returns its row.
    func evaluate(name: String, model: String, adapter: String?, settings: Settings, out: String, generations: String) throws -> ArmRow {
        if !exists(out) {
            say("\(name): evaluating")
            // What the model wrote, next to the result (tasks graded on generated answers).
            var generationsOption: [String] = []
            if case .value(let task) = settings["task"], ["gsm8k", "pubmedqa"].contains(task) {
                generationsOption = ["--generations", generations]
            }
            try invoke(Eval.self, ["--model", model, "--tokenizer", tokenizer, "--out", out] + generationsOption + (adapter.map { ["--adapter", $0] } ?? [])
                + settings.sorted { $0.key < $1.key }.flatMap { $0.value.arguments($0.key) }, section: "eval")
        } else {
            say("\(name): evaluation done")
        }
        try world.barrier()
        var row = ArmRow(arm: name, mask: "-", checkpoint: adapter ?? model)
        let o = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any] ?? [:]
        if let a = o["accuracy"] as? Double { row.metric = a; row.metricName = "accuracy" }
        if let p = o["perplexity"] as? Double { row.metric = p; row.metricName = "perplexity" }
        if let k = (o["passAtK"] as? [String: Double])?.sorted(by: { $0.key < $1.key }).first { row.metric = k.value; row.metricName = k.key }
        return row
    }

    /// A run directory for an arm's own masks: the scores of the main run, linked.
    func linkScores(into directory: String) throws {
        if world.isRoot {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for name in ["scores", "settings.json", "progress.jsonl", "tr.safetensors"] {
                let link = (directory as NSString).appendingPathComponent(name)
                if (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == nil {
                    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: (scoreDirectory as NSString).appendingPathComponent(name))
                }
            }
        }
        try world.barrier()
    }

    struct ManifestEntry: Codable { let path: String; let bytes: Int; let sha256: String }

    /// OUT/manifest.json: every file of the run (links followed once) with its size and SHA-256.
    /// Files in `known` are taken from it rather than read again.
    @discardableResult
    func writeManifest(known: [ManifestEntry] = []) throws -> [ManifestEntry] {
        typealias Entry = ManifestEntry
        let reuse = Dictionary(known.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let root = URL(fileURLWithPath: plan.out).standardized.path
        var entries: [Entry] = []
        let walker = FileManager.default.enumerator(atPath: root)
        while let relative = walker?.nextObject() as? String {
            let full = (root as NSString).appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard relative != "manifest.json", FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
                  (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) == nil else { continue }
            let size = (try FileManager.default.attributesOfItem(atPath: full)[.size] as? NSNumber)?.intValue ?? 0
            if let known = reuse[relative], known.bytes == size { entries.append(known); continue }
            entries.append(Entry(path: relative, bytes: size, sha256: try SHA256.hex(ofFile: full)))
        }
        entries.sort { $0.path < $1.path }
        try AtomicFile.writeJSON(entries, to: (root as NSString).appendingPathComponent("manifest.json"))
        return entries
    }
}
