import Artifacts
import Cluster
import Evaluation
import Foundation
import GroundTruth
import Logging
import Pipeline
import Report
import Scoring
import Training

/// Runs the stages of a plan through their entry points, each skipped when its outputs are
/// complete and resumed when they are partial, so the same call continues a run that
/// stopped. Collective: every rank calls `run` with the same plan.
public struct ExperimentJob {
    public let plan: RunPlan
    public let world: Communicator
    public let log: Logger
    /// Where rank 0 says which stage starts, is skipped or resumed.
    public let announce: (String) -> Void

    public init(plan: RunPlan, world: Communicator, log: Logger, announce: @escaping (String) -> Void) {
        self.plan = plan; self.world = world; self.log = log; self.announce = announce
    }

    var layout: ExperimentLayout { plan.layout }
    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
    func say(_ text: String) { if world.isRoot { announce(text) } }

    /// Every rank's status line names the stage it starts, so that a rank that dies while
    /// loading a model for it is reported with this stage (scripts/xtf-mpirun).
    func starting(_ stage: String) { RankStatus.record(rank: world.rank, stage: "xtf run: \(stage) (setting up)") }

    /// What a finished run leaves for its caller to print (rank 0; nil on the others).
    public struct Outcome: Sendable {
        public let reportMarkdown: String
        public let reportFiles: [String]
    }

    public func run() throws -> Outcome? {
        // What the run ran on (versions, hosts), beside its configuration.
        let environment = try RunEnvironment.gather(world)
        // Rank 0 refuses an OUT holding another run, then records this one; a refusal stops every rank.
        _ = try world.decidedByRoot { () -> Bool in
            let recorded = try checkDirectory()
            try FileManager.default.createDirectory(atPath: plan.out, withIntermediateDirectories: true)
            try AtomicFile.writeJSON(recorded, to: layout.plan)
            if let environment { try AtomicFile.writeJSON(environment, to: layout.environment) }
            return true
        }

        // Scoring statistics go to TensorBoard beside the arms' training scalars when an arm reports there.
        let tensorboard = plan.arms.contains { $0.reportTo == .tensorboard }
        // 1. Score (and mask with the score section's rules).
        let score = layout.score
        if exists(score.manifest) {
            say("score: done (\(score.root))")
        } else {
            let resume = exists(score.settings)
            say("score: \(resume ? "resuming" : "starting") in \(score.root)")
            starting("score")
            let stats = try ScoreStage.run(plan.score, mask: plan.rules, out: score.root, resume: resume, world: world, log: log)
            if world.isRoot, tensorboard { try ScoringEvents.write(stats, run: score.root) }
            say("score: " + stats.summary.replacingOccurrences(of: "\n", with: "\n  "))
        }

        // 2. The base model's evaluation, then per arm: its own masks when asked, training, evaluation.
        var rows: [ArmComparison.Row] = []
        if let eval = plan.eval {
            var row = ArmComparison.Row(arm: "base", mask: "-", checkpoint: plan.model)
            try evaluate(&row, name: "base", model: plan.model, adapter: nil, settings: eval, out: layout.baseEval, generations: layout.baseGenerations)
            rows.append(row)
        }
        for arm in plan.arms {
            if let rules = arm.rules {
                let masks = layout.armMasks(arm.name)
                try linkScores(into: masks)
                say("\(arm.name): masking with \(describe(rules))")
                starting("\(arm.name) masks")
                let stats = try MaskStage.run(directory: masks, settings: rules, world: world, log: log)
                if world.isRoot, tensorboard { try ScoringEvents.write(stats, run: masks) }
                say("\(arm.name): " + (stats.summary.split(separator: "\n").first.map(String.init) ?? ""))
            }
            // Resuming a finished arm trains nothing: its newest checkpoint is the last step.
            let training = layout.armTraining(arm.name)
            say("\(arm.name): training")
            starting("\(arm.name) training")
            let records = try TrainStage.run(plan.job(arm), out: training, resume: true, timeline: arm.timeline, reportTo: arm.reportTo ?? .none,
                                             world: world, log: log)
            if let last = records.last {
                say("\(arm.name): trained \(records.count) steps; last loss \(String(format: "%.5f", last.loss))")
            } else {
                say("\(arm.name): training done")
            }
            guard var row = try trainedRow(arm) else {
                throw PipelineError.corruptRun(path: training, reason: "arms.\(arm.name): training wrote no checkpoint here")
            }
            if let eval = plan.eval {
                let isLoRA = exists((row.checkpoint as NSString).appendingPathComponent("adapter_config.json"))
                try evaluate(&row, name: arm.name, model: isLoRA ? plan.model : row.checkpoint, adapter: isLoRA ? row.checkpoint : nil,
                             settings: eval, out: layout.armEval(arm.name), generations: layout.armGenerations(arm.name))
            }
            rows.append(row)
        }

        // 3. The report, the ground-truth detection table and the manifest (rank 0), of every
        // arm the directory holds: an earlier `--arms` may have finished others.
        guard world.isRoot else { try world.barrier(); return nil }
        let directory = ExperimentJob(plan: try JSONFiles.read(RunPlan.self, from: layout.plan), world: world, log: log, announce: announce)
        let outcome = try directory.writeReport(ArmComparison(rows: try directory.withDifferences(try directory.rows(adding: rows))))
        try world.barrier()
        return outcome
    }

    /// An arm's row from its newest checkpoint (steps, tokens with a loss, last loss); nil
    /// when it has none.
    func trainedRow(_ arm: RunPlan.Arm) throws -> ArmComparison.Row? {
        guard let checkpoint = try CheckpointStore(directory: layout.armTraining(arm.name)).newest() else { return nil }
        var row = ArmComparison.Row(arm: arm.name, mask: arm.maskName, checkpoint: checkpoint)
        let state = try CheckpointStore.state(of: checkpoint)
        row.steps = state.step; row.tokens = state.tokens.reduce(0, +); row.finalLoss = state.losses.last
        return row
    }

    /// This plan's rows in its arms' order: those of this invocation (`current`, the base
    /// model's first), and of the arms evaluated here before, read back from their files.
    func rows(adding current: [ArmComparison.Row]) throws -> [ArmComparison.Row] {
        var rows = current.filter { $0.arm == "base" }
        for arm in plan.arms {
            if let row = current.first(where: { $0.arm == arm.name }) {
                rows.append(row)
            } else if exists(layout.armEval(arm.name)), var row = try trainedRow(arm) {
                try readHeadline(&row, from: layout.armEval(arm.name))
                rows.append(row)
            }
        }
        return rows
    }

    /// Each row's metric minus the `normal` arm's with its paired-bootstrap interval, from the
    /// graded generations of both (tasks graded per item; unchanged otherwise).
    func withDifferences(_ rows: [ArmComparison.Row]) throws -> [ArmComparison.Row] {
        guard let eval = plan.eval, [.gsm8k, .pubmedqa].contains(eval.task), rows.contains(where: { $0.arm == "normal" }) else { return rows }
        func graded(_ arm: String) throws -> [Double] {
            let file = arm == "base" ? layout.baseGenerations : layout.armGenerations(arm)
            return try JSONFiles.readLines(Generation.self, from: file).sorted { $0.index < $1.index }.map { $0.correct ? 1 : 0 }
        }
        let normal = try graded("normal")
        return try rows.map { row in
            var row = row
            let mine = try graded(row.arm)
            guard mine.count == normal.count, !mine.isEmpty else {
                throw PipelineError.corruptRun(path: layout.armGenerations(row.arm), reason: "\(mine.count) graded items, the normal arm has \(normal.count)")
            }
            let d = PairedDifference(mine, normal)
            row.difference = d.difference
            row.interval = [d.low, d.high]
            return row
        }
    }

    /// The rules of an arm's own masks, in the options' words.
    func describe(_ rules: MaskSettings) -> String {
        let d = MaskSettings()
        var parts: [String] = []
        if rules.attributes != d.attributes { parts.append("attributes \(rules.attributes.attributes.map(\.rawValue).joined(separator: ","))") }
        if rules.kIQR != d.kIQR { parts.append("k-iqr \(rules.kIQR)") }
        if rules.riFence != d.riFence { parts.append("ri-fence \(rules.riFence.rawValue)") }
        if rules.tauKN != d.tauKN { parts.append("tau-kn \(rules.tauKN)") }
        if rules.otsuClasses != d.otsuClasses { parts.append("otsu-classes \(rules.otsuClasses)") }
        if rules.flagClasses != d.flagClasses { parts.append("flag-classes \(rules.flagClasses.map { String($0 + 1) }.joined(separator: " "))") }
        if rules.caps != d.caps { parts.append("caps \(rules.caps.ri) \(rules.caps.kn) \(rules.caps.tr)") }
        if rules.trClassRule != d.trClassRule { parts.append("tr-class-rule \(rules.trClassRule.rawValue) (weight \(rules.trWeight))") }
        if rules.knCapCount != d.knCapCount { parts.append("kn-cap-count \(rules.knCapCount.rawValue)") }
        if rules.knScore != d.knScore { parts.append("kn-score \(rules.knScore.rawValue) (below \(rules.knGainBelow))") }
        if let share = rules.coverageGuard { parts.append("coverage-guard \(share)") }
        if let share = rules.spanClosure { parts.append("span-closure \(share)") }
        return parts.isEmpty ? "the default rules" : parts.joined(separator: ", ")
    }

    /// Evaluates a model into `out` (skipped when it exists) and puts its headline metric in `row`.
    func evaluate(_ row: inout ArmComparison.Row, name: String, model: String, adapter: String?, settings: EvalSettings,
                  out: String, generations: String) throws {
        if !exists(out) {
            say("\(name): evaluating")
            starting("\(name) evaluation")
            // What the model wrote, next to the result (tasks graded on generated answers).
            let graded = [.gsm8k, .pubmedqa].contains(settings.task)
            _ = try EvalStage.run(model: model, adapter: adapter, tokenizer: plan.tokenizer ?? plan.model, settings: settings, out: out,
                                  generations: graded ? generations : nil, world: world)
        } else {
            say("\(name): evaluation done")
        }
        try world.barrier()
        try readHeadline(&row, from: out)
        if let metric = row.metric, let metricName = row.metricName { say("\(name): \(metricName) \(String(format: "%.4f", metric))") }
    }

    /// An evaluation's headline metric (its eval.json) into `row`.
    func readHeadline(_ row: inout ArmComparison.Row, from out: String) throws {
        if let headline = try JSONFiles.read(EvalResult.self, from: out).headline {
            row.metricName = headline.name; row.metric = headline.value
        }
    }

    /// Refuses an OUT that holds another kind of run, or an `xtf run` whose settings differ in a
    /// stage that has outputs there (it would be skipped as done, or continued, with other
    /// settings). Returns the plan to record: this one, plus the arms only the directory has
    /// (a run of some arms keeps the others' settings, and the report compares them all).
    func checkDirectory() throws -> RunPlan {
        let directory = OutputDirectory(plan.out, kind: .job, settingsFile: "run.json")
        try directory.refuseSymlinkAndNesting()
        try directory.lock()
        try directory.refuseSymlinkedFolders(directory.writtenFolders)
        try directory.refuseOtherKinds()
        guard exists(directory.settingsFile) else { return plan }
        let saved: RunPlan
        do { saved = try JSONFiles.read(RunPlan.self, from: directory.settingsFile) } catch {
            throw PipelineError.corruptRun(path: directory.settingsFile, reason: "\(error) (written by another version of xtf? choose another out)")
        }
        let conflicts = plan.conflicts(with: saved) { exists(layout.path($0)) }
        guard conflicts.isEmpty else {
            throw PipelineError.runMismatch(path: directory.settingsFile, reason: "was written by another run (\(conflicts.joined(separator: "; "))), "
                + "whose outputs would be taken as this run's: choose another out, or delete the directories of those stages to redo them")
        }
        // The directory's arms in the order they first ran there, this run's settings replacing theirs.
        var recorded = plan
        recorded.arms = saved.arms.map { old in plan.arms.first { $0.name == old.name } ?? old }
            + plan.arms.filter { new in !saved.arms.contains { $0.name == new.name } }
        return recorded
    }

    /// A run directory for an arm's own masks: the scores of the main run, linked.
    func linkScores(into directory: String) throws {
        if world.isRoot {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for name in ["scores", "settings.json", "progress.jsonl", "tr.safetensors"] {
                let link = (directory as NSString).appendingPathComponent(name)
                if (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == nil {
                    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: layout.score.path(name))
                }
            }
        }
        try world.barrier()
    }
}
