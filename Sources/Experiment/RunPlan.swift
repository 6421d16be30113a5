import Evaluation
import Foundation
import Pipeline
import Scoring
import Training

/// The resolved configuration of an `xtf run`: every stage's settings as the stage's own
/// settings type, paths absolute. Written to OUT/run.json; a later run into the same OUT must
/// agree with it in every stage that has outputs there.
public struct RunPlan: Codable, Sendable {
    /// One fine-tuning arm: how it trains, and the rules of its own masks, if any.
    public struct Arm: Codable, Sendable {
        public var name: String
        public var mask: LossMask
        /// nil: `loss`.
        public var maskMode: MaskMode?
        /// The SLM baseline's reference model.
        public var reference: String?
        public var settings: TrainSettings
        /// Also write timeline.jsonl.
        public var timeline: Bool
        /// Also write TensorBoard events (nil: none).
        public var reportTo: ReportTarget?
        /// nil: the arm trains on the masks of the scoring stage; else on masks of its own.
        public var rules: MaskSettings?
        /// A dataset the arm trains on directly instead (every response token).
        public var data: String?

        public init(name: String, mask: LossMask, reference: String?, settings: TrainSettings, timeline: Bool, rules: MaskSettings?,
                    data: String? = nil) {
            self.name = name; self.mask = mask; self.reference = reference; self.settings = settings; self.timeline = timeline
            self.rules = rules; self.data = data
        }

        /// What the comparison calls its loss mask.
        public var maskName: String {
            data.map { "none (\(($0 as NSString).lastPathComponent))" } ?? mask.rawValue + (maskMode == .delete ? " (deleted)" : "")
        }
    }

    public var out: String
    public var model: String
    public var tokenizer: String?
    public var score: ScoreSettings
    /// The scoring stage's masks (what arms without rules of their own train on).
    public var rules: MaskSettings
    public var arms: [Arm]
    public var eval: EvalSettings?
    /// The generated train.jsonl whose labelled noise the detection report measures against.
    public var groundTruthLabels: String?

    public var layout: ExperimentLayout { ExperimentLayout(out) }

    /// The scoring run an arm trains on: the scoring stage's, or its own masks beside it.
    public func scores(of arm: Arm) -> String { arm.rules == nil ? layout.score.root : layout.armMasks(arm.name) }

    /// The training job of an arm.
    public func job(_ arm: Arm) -> TrainJob {
        if let data = arm.data {
            var spec = score.data
            spec.path = data
            return TrainJob.fromDataset(spec, template: score.template, tokenizer: score.tokenizer, maxLength: score.maxLength, model: model,
                                        mask: arm.mask, reference: arm.reference, settings: arm.settings)
        }
        var job = TrainJob.fromScores(scores(of: arm), model: model, mask: arm.mask, reference: arm.reference, settings: arm.settings)
        if arm.mask == .oracle { job.labels = groundTruthLabels }
        job.maskMode = arm.maskMode
        return job
    }

    /// Only the arms named (in the order of the plan); an unknown name is an error.
    public func selecting(arms names: [String]) throws -> RunPlan {
        for name in names where !arms.contains(where: { $0.name == name }) {
            throw OptionError("arms", "no arm \"\(name)\" in the plan (arms: \(arms.map(\.name).joined(separator: ", ")))")
        }
        var plan = self
        plan.arms = arms.filter { names.contains($0.name) }
        return plan
    }

    /// What differs from `saved`, the plan that wrote the run directory, in the stages with
    /// outputs there (`hasOutputs` takes a path relative to the directory). The ground-truth
    /// report is made anew on every run, so its labels may change.
    public func conflicts(with saved: RunPlan, hasOutputs: (String) -> Bool) -> [String] {
        // Named as the run file names them: `score.max-length`, `arms.NAME.lr`.
        func settingsDifferences<T: Encodable>(_ old: T, _ new: T, prefix: String) -> [String] {
            settingsChanges(old, new, prefix: prefix).map { change in
                // Classes are 0-based in the settings, 1-based in the file.
                func shown(_ value: String) -> String {
                    guard change.key.hasSuffix("flagClasses"), let list = try? JSONDecoder().decode([Int].self, from: Data(value.utf8)) else { return value }
                    return "[" + list.map { String($0 + 1) }.joined(separator: ",") + "]"
                }
                return "\(Self.optionName(change.key)): was \(shown(change.was)), now \(shown(change.now))"
            }
        }
        var found: [String] = []
        let scored = hasOutputs("score")
        let trained = arms.filter { hasOutputs(layout.arm($0.name)) }
        if !scored && !trained.isEmpty {  // (the score settings name the model and tokenizer too)
            found += settingsDifferences(saved.model, model, prefix: "model") + settingsDifferences(saved.tokenizer, tokenizer, prefix: "tokenizer")
        }
        if scored {
            found += settingsDifferences(saved.score, score, prefix: "score") + settingsDifferences(saved.rules, rules, prefix: "score")
        }
        for arm in trained {
            guard let old = saved.arms.first(where: { $0.name == arm.name }) else { continue }
            var comparable = arm
            comparable.timeline = old.timeline  // a timeline or event file is an extra output, not another run
            comparable.reportTo = old.reportTo
            found += settingsDifferences(old, comparable, prefix: "arms.\(arm.name)")
        }
        if hasOutputs("base-eval.json") || saved.arms.contains(where: { hasOutputs("\(layout.arm($0.name))/eval.json") }) {
            found += settingsDifferences(saved.eval, eval, prefix: "eval")
        }
        return found
    }

    /// The run file's name of a settings field's key path (`score.maxLength` -> `score.max-length`,
    /// `arms.x.settings.learningRate` -> `arms.x.lr`).
    static func optionName(_ path: String) -> String {
        let renamed = ["learningRate": "lr", "globalBatchSize": "global-batch", "slmKeepFraction": "slm-keep", "kIQR": "k-iqr",
                       "tauKN": "tau-kn", "riVariant": "ri-layers", "promptFreePCP": "prompt-free-pcp", "timeoutSeconds": "timeout", "path": "data"]
        let all = path.split(separator: ".").map(String.init)
        // Dropped: the groups of the settings types (a dataset's fields are options of their own).
        let parts = all.enumerated().filter { i, part in !(["settings", "rules"].contains(part) || (part == "data" && i < all.count - 1)) }.map(\.element)
        return parts.map { part in
            renamed[part] ?? part.reduce(into: "") { name, c in
                if c.isUppercase { name += "-" + c.lowercased() } else { name.append(c) }
            }
        }.joined(separator: ".")
    }
}
