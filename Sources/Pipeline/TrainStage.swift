import Artifacts
import Cluster
import Data
import Foundation
import GroundTruth
import Logging
import Model
import Tokenizer
import Training

/// `xtf train` as a function: masked data-parallel fine-tuning of a `TrainJob` into `out`,
/// with train-settings.json, samples.json (where every record went) and losses.jsonl (written
/// as the steps go). Run again with `resume` on a finished run, it trains nothing.
/// Collective: every rank calls it with the same arguments.
public enum TrainStage {
    /// What a caller may watch or change while training runs (tests kill a rank after a
    /// step, or keep the first step's gradient); none by default.
    public struct Hooks {
        /// After each step, on every rank.
        public var afterStep: ((StepRecord) -> Void)?
        /// Each step's gradient after the all-reduce, on every rank.
        public var gradient: ((Int, UnsafeBufferPointer<Float>) throws -> Void)?

        public init(afterStep: ((StepRecord) -> Void)? = nil, gradient: ((Int, UnsafeBufferPointer<Float>) throws -> Void)? = nil) {
            self.afterStep = afterStep; self.gradient = gradient
        }
    }

    /// `onBadRecord` applies to a dataset read directly; `timeline` also writes timeline.jsonl;
    /// `reportTo` .tensorboard also writes each step's scalars to OUT/tensorboard/.
    /// Returns every step's record (on every rank).
    public static func run(_ job: TrainJob, out: String, resume: Bool, onBadRecord: BadRecordPolicy = .fail, timeline: Bool = false,
                           reportTo: ReportTarget = .none, world: Communicator, log: Logger, hooks: Hooks = Hooks()) throws -> [StepRecord] {
        try job.validate()
        let directory = OutputDirectory(out, kind: .training, settingsFile: TrainJob.fileName)
        // Before any work: an --out holding another run is refused (rank 0 looks, every rank stops).
        _ = try world.decidedByRoot { try directory.check(settings: job, resume: resume) { $0.ignoringRunLength } }
        // Every rank loads the same files; a bad one stops them all together, the cause printed once.
        let (loaded, source, referenceModel) = try world.allSucceed {
            var source: Samples?
            let loaded = try LoadedModel.load(model: job.model, tokenizer: job.data == nil ? nil : job.tokenizer,
                                              template: job.template ?? .plain, weights: job.settings.baseWeights ?? .fp32) { config, encoder, format in
                source = try samples(job, config: config, encoder: encoder, format: format, onBadRecord: onBadRecord, log: log)
            }
            let reference = try job.reference.map { try LoadedModel.load(model: $0, tokenizer: nil, template: .plain).transformer }
            return (loaded, source!, reference)
        }
        let settings = job.settings
        let (train, validation) = TrainingData.split(source.samples, validationFraction: settings.validationFraction, seed: settings.seed)
        log.info("\(train.count) training samples (\(train.reduce(0) { $0 + $1.lossTokens }) tokens with a loss), \(validation.count) held out; mask \(job.mask.rawValue)\(job.maskMode == .delete ? " (masked tokens deleted)" : "")")
        let account = TrainingAccount(source: job.scores ?? job.data?.path ?? "", records: source.records, trained: train.count,
                                      heldOut: validation.map(\.id), rejected: source.rejected)
        guard account.reconciles else {  // the same on every rank: they all stop here
            throw PipelineError.corruptRun(path: account.source, reason: "\(source.records) records read, but \(train.count) trained + "
                                           + "\(validation.count) held out + \(source.rejected.count) rejected")
        }
        _ = try world.decidedByRoot {
            try directory.record(job)
            try AtomicFile.writeJSON(account, to: (out as NSString).appendingPathComponent(TrainingAccount.fileName))
            return true
        }
        let trainer = try Trainer(model: loaded.transformer, settings: settings, world: world, log: log, out: out, reference: referenceModel,
                                  companions: CheckpointCompanions(baseModel: job.model, tokenizer: job.tokenizer))
        trainer.gradientObserver = hooks.gradient
        var losses = world.isRoot ? try LiveLosses(directory: out, tensorboard: reportTo == .tensorboard) : nil
        let records = try trainer.train(train, validation: validation, resume: resume) { record in
            losses?.record(record, log: log)
            hooks.afterStep?(record)
        }
        if let failure = losses?.failure { throw failure }
        if world.isRoot, timeline { try AtomicFile.writeJSONLines(records, to: (out as NSString).appendingPathComponent("timeline.jsonl")) }
        return records
    }

    /// The samples of a job, the records rejected on the way, and how many records were read.
    struct Samples {
        var samples: [TrainingSample]
        var rejected: [RejectedRecord]
        var records: Int
    }

    /// The training samples, checked against the model's vocabulary (its config.json) before
    /// any weight is read.
    static func samples(_ job: TrainJob, config: ModelConfig, encoder: TokenizerEncoder?, format: ChatFormat?, onBadRecord: BadRecordPolicy,
                        log: Logger) throws -> Samples {
        if let run = job.scores {
            let layout = RunLayout(run)
            // Random masking leaves template markup alone; it needs the run's tokenizer to know it.
            var isSpecial: (Int32) -> Bool = { _ in false }
            if job.mask == .random {
                let encoder = TokenizerEncoder(tokenizer: try Tokenizer.load(path: try ScoreSettings.read(layout).tokenizer))
                isSpecial = { encoder.isSpecial($0) }
            }
            let noise = try job.labels.map { try Detection.noiseMask(problems: try Detection.labels(path: $0), tokensFile: layout.tokens) }
            let samples = try TrainingData.load(run: layout, mask: job.mask, mode: job.maskMode ?? .loss, seed: job.settings.seed,
                                                isSpecial: isSpecial, noise: noise)
            try VocabularyFit.check(samples: samples, fromRun: run, model: config, at: job.model)
            // The run's manifest counted what it scored: every one of them must be here.
            let scored = try JSONFiles.read(Manifest.self, from: layout.manifest).totals.scored
            guard scored == samples.count else {
                throw PipelineError.corruptRun(path: layout.manifest, reason: "counts \(scored) scored samples, its chunks hold \(samples.count)")
            }
            return Samples(samples: samples, rejected: [], records: scored)
        }
        guard let spec = job.data, let encoder, let format else { throw PipelineError.invalidSetting(field: "data", reason: "give a scored run or a dataset") }
        let loaded = try TrainingData.load(dataset: spec, format: format, encoder: encoder, maxLength: job.maxLength ?? 1024,
                                           endOfText: config.eosTokenId.map { Int32($0) }, policy: onBadRecord)
        if !loaded.rejected.isEmpty {
            log.info("\(loaded.rejected.count) records rejected (listed in \(TrainingAccount.fileName)), first: \(loaded.rejected[0].id): \(loaded.rejected[0].reason)")
        }
        // Every record read is a sample or a rejection.
        return Samples(samples: loaded.samples, rejected: loaded.rejected, records: loaded.samples.count + loaded.rejected.count)
    }
}

/// losses.jsonl as training goes (rank 0): the first step of this process cuts the file back
/// to the steps before it (a resumed run's checkpoint; nothing for a new run), then every step
/// appends its line. A write that fails is reported once and thrown after training, when
/// every rank has left the collectives.
struct LiveLosses {
    let log: AppendLog<LossRecord>
    /// A new event file per process: TensorBoard joins a resumed run's files by step.
    let events: TensorBoardEvents?
    private var started = false
    private(set) var failure: Error?

    init(directory: String, tensorboard: Bool = false) throws {
        log = AppendLog(path: (directory as NSString).appendingPathComponent(LossRecord.fileName))
        events = tensorboard ? try TensorBoardEvents(directory: (directory as NSString).appendingPathComponent("tensorboard")) : nil
    }

    mutating func record(_ step: StepRecord, log logger: Logger) {
        guard failure == nil else { return }
        do {
            if !started {
                started = true
                try log.rewrite(log.records().filter { $0.step <= step.step })
            }
            let record = LossRecord(step, time: Date().timeIntervalSince1970)
            try log.append(record)
            try events?.add(step: record.step, scalars: [
                ("train/loss", record.loss), ("train/learning_rate", record.lr ?? .nan), ("train/grad_norm", record.gradNorm ?? .nan),
                ("train/tokens", record.tokens.map(Double.init) ?? .nan), ("eval/loss", record.validationLoss ?? .nan),
            ], wallTime: record.time ?? Date().timeIntervalSince1970)
        } catch {
            failure = error
            logger.warning("\(error); losses.jsonl stops here, training goes on and fails at its end")
        }
    }
}

extension LossRecord {
    /// Step numbers 1-based, as users count them.
    init(_ r: StepRecord, time: Double? = nil) {
        self.init(step: r.step + 1, loss: r.loss, tokens: r.tokens, lr: r.learningRate, gradNorm: r.gradientNorm, validationLoss: r.validationLoss,
                  time: time, compute: r.compute, exposedCommunication: r.exposedCommunication, communication: r.communication,
                  optimizer: r.optimizer)
    }
}

/// Where training reports its scalars besides losses.jsonl.
public enum ReportTarget: String, Codable, Sendable, CaseIterable { case none, tensorboard }
