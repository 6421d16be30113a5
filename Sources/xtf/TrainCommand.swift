import ArgumentParser
import Artifacts
import Data
import Foundation
import Model
import Pipeline
import Tokenizer
import Training

/// A dataset to fine-tune on directly (every response token), without a scored run.
struct TrainDataOptions: ParsableArguments {
    @Option(help: "Dataset file (JSONL, or PubMedQA's ori_pqal.json).") var data: String?
    @Option(help: "gsm8k | pubmedqa | prompt-response | chat") var format: DatasetFormat?
    @Option(help: "Prompt field for --format prompt-response.") var promptField = "prompt"
    @Option(help: "Response field for --format prompt-response.") var responseField = "response"
    @Option(help: "Optional system-prompt field for --format prompt-response.") var systemField: String?
    @Option(help: "Prompt template: plain | llama3 | qwen2 | mistral") var template: PromptTemplate = .plain
    @Option(help: "tokenizer.json or its directory (default: the model directory).") var tokenizer: String?
    @Option(help: "Longest sequence; longer responses are truncated.") var maxLength = 1024
    @Option(help: "fail | skip bad records.") var onBadRecord: BadRecordPolicy = .fail
}

/// Optimiser and schedule.
struct OptimizerOptions: ParsableArguments {
    @Option(help: "Peak learning rate.") var lr = 1e-4
    @Option(help: "cosine | linear | constant decay after warm-up.") var schedule: LearningRateSchedule = .cosine
    @Option(help: "Linear warm-up steps.") var warmupSteps = 0
    @Option(help: "Decoupled weight decay (not on norms and biases unless --decay-norms-and-biases).") var weightDecay = 0.01
    @Flag(help: "Decay norm weights and biases too.") var decayNormsAndBiases = false
    @Option(help: "Clip by the global gradient norm (0: off).") var maxGradNorm = 1.0
}

/// Batches, epochs and checkpoints.
struct RunOptions: ParsableArguments {
    @Option(help: "Samples per optimiser step over all ranks (the same batches whatever -np is).") var globalBatch = 8
    @Option(help: "Tokens per forward/backward pass on a rank; more means gradient accumulation.") var microBatchTokens = 2048
    @Option(help: "Epochs.") var epochs = 1
    @Option(help: "Stop after this many steps (overrides --epochs).") var maxSteps: Int?
    @Option(help: "Seed (sample order, LoRA init, random masking, validation split).") var seed: UInt64 = 0
    @Option(help: "Checkpoint every N steps (0: only at the end).") var checkpointEvery = 0
    @Option(help: "Fraction of samples held out for validation.") var validationFraction = 0.0
    @Option(help: "Validate every N steps (0: never).") var evaluateEvery = 0
    @Option(help: "Stop after N validations without improvement (0: never).") var earlyStoppingPatience = 0
    @Option(help: "Gradient all-reduce bucket size in bytes.") var bucketBytes = 4 << 20
}

extension LearningRateSchedule: ExpressibleByArgument {}
extension LossMask: ExpressibleByArgument {}

/// `xtf train`: masked data-parallel fine-tuning.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune on what XTF keeps (or a baseline mask), data-parallel over the ranks.",
        discussion: """
            The loss of a step is the sum of unmasked token losses over the whole global batch \
            divided by their global count. Checkpoints go to --out/checkpoint-<step>/ (Hugging \
            Face or PEFT layout); --resume continues from the newest complete one, under any -np.
            """)

    @Option(help: "Base model checkpoint directory.") var model: String
    @Option(help: "A run directory written by `xtf score` (its masks and token ids).") var scores: String?
    @Option(help: "xtf | none | random | slm: which response tokens carry a loss (with --data: none).") var mask: LossMask = .xtf
    @Option(help: "For --mask slm: the reference model (RHO-1's) whose per-token loss is subtracted.") var reference: String?
    @Option(help: "For --mask slm: fraction of each global batch's tokens kept, by excess loss.") var slmKeep = 0.6
    @OptionGroup(title: "Data without scores (normal fine-tuning; instead of --scores)") var data: TrainDataOptions
    @Option(help: "LoRA instead of full fine-tuning: rank,alpha,module[+module...] (e.g. 8,32,c_attn+c_proj).")
    var lora: String?
    @Option(help: "Output directory (checkpoints, losses.jsonl).") var out: String
    @Flag(help: "Continue from the newest complete checkpoint in --out.") var resume = false
    @Flag(help: "Write timeline.jsonl: per step compute, exposed communication, optimiser seconds.") var timeline = false
    @Option(help: ArgumentHelp("Kill this process with SIGKILL after this step (resume tests).", visibility: .hidden))
    var killAtStep: Int?
    @Option(help: ArgumentHelp("Write the first step's gradient (after the all-reduce) to this safetensors file.", visibility: .hidden))
    var dumpGradient: String?
    @OptionGroup(title: "Optimiser") var optimizer: OptimizerOptions
    @OptionGroup(title: "Run") var runOptions: RunOptions
    @OptionGroup var global: GlobalOptions

    func settings() throws -> TrainSettings {
        var s = TrainSettings()
        s.learningRate = optimizer.lr; s.schedule = optimizer.schedule; s.warmupSteps = optimizer.warmupSteps
        s.weightDecay = optimizer.weightDecay; s.decayNormsAndBiases = optimizer.decayNormsAndBiases
        s.maxGradNorm = optimizer.maxGradNorm
        s.globalBatchSize = runOptions.globalBatch; s.microBatchTokens = runOptions.microBatchTokens; s.epochs = runOptions.epochs
        s.maxSteps = runOptions.maxSteps; s.seed = runOptions.seed; s.checkpointEvery = runOptions.checkpointEvery
        s.validationFraction = runOptions.validationFraction; s.evaluateEvery = runOptions.evaluateEvery
        s.earlyStoppingPatience = runOptions.earlyStoppingPatience; s.bucketBytes = runOptions.bucketBytes
        if let lora {
            let parts = lora.split(separator: ",")
            guard parts.count == 3, let r = Int(parts[0]), let alpha = Float(parts[1]) else {
                throw ValidationError("--lora takes rank,alpha,modules (e.g. 8,32,q_proj+v_proj)")
            }
            s.lora = LoRAConfig(rank: r, alpha: alpha, targetModules: parts[2].split(separator: "+").map(String.init))
        }
        if mask == .slm { s.slmKeepFraction = slmKeep }
        try s.validate()
        return s
    }

    /// What a training run's outputs depend on, saved as --out/train-settings.json so that
    /// --resume continues only the same run (paths made absolute: the same files from any cwd).
    struct Recipe: Codable, Equatable {
        var model: String
        var scores: String?
        var data: DatasetSpec?
        var template: PromptTemplate?
        var tokenizer: String?
        var maxLength: Int?
        var mask: LossMask
        var reference: String?
        var settings: TrainSettings

        init(model: String, mask: LossMask, reference: String?, settings: TrainSettings) {
            self.model = model; self.mask = mask; self.reference = reference; self.settings = settings
        }

        /// Without what a resumed run may change (how long it runs, how often it saves).
        var ignoringRunLength: Recipe {
            var r = self
            r.settings = settings.ignoringRunLength
            return r
        }
    }

    /// Where the samples come from: a scored run, or a dataset read directly.
    enum Source {
        case scores(String)
        case dataset(DatasetSpec)
    }

    func source() throws -> Source {
        guard let path = data.data else {
            guard let scores else { throw ValidationError("give --scores RUN_DIR, or --data FILE with --format") }
            return .scores(scores)
        }
        guard scores == nil else { throw ValidationError("give --scores or --data, not both") }
        guard let format = data.format else { throw ValidationError("--data needs --format") }
        guard mask == .none || mask == .slm else { throw ValidationError("--data trains on every response token: pass --mask none, or --scores RUN for --mask \(mask.rawValue)") }
        var spec = DatasetSpec(path: path, format: format)
        spec.promptField = data.promptField; spec.responseField = data.responseField; spec.systemField = data.systemField
        return .dataset(spec)
    }

    func recipe(_ settings: TrainSettings, _ source: Source) -> Recipe {
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
        var recipe = Recipe(model: absolute(model), mask: mask, reference: reference.map(absolute), settings: settings)
        switch source {
        case let .scores(run): recipe.scores = absolute(run)
        case var .dataset(spec):
            spec.path = absolute(spec.path)
            recipe.data = spec; recipe.template = data.template; recipe.tokenizer = absolute(data.tokenizer ?? model)
            recipe.maxLength = data.maxLength
        }
        return recipe
    }

    /// The training samples, checked against the model's vocabulary (its config.json) before
    /// any weight is read.
    /// The samples, the records rejected on the way, and how many records were read.
    func samples(_ source: Source, config: ModelConfig, context: ClusterContext) throws -> (samples: [TrainingSample], rejected: [RejectedRecord], records: Int) {
        switch source {
        case let .scores(run):
            let layout = RunLayout(run)
            let samples = try TrainingData.load(run: layout, mask: mask, seed: runOptions.seed)
            try VocabularyFit.check(samples: samples, fromRun: run, model: config, at: model)
            // The run's manifest counted what it scored: every one of them must be here.
            let scored = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: layout.manifest))).totals.scored
            guard scored == samples.count else {
                throw PipelineError.corruptRun(path: layout.manifest, reason: "counts \(scored) scored samples, its chunks hold \(samples.count)")
            }
            return (samples, [], scored)
        case let .dataset(spec):
            let tokenizerPath = data.tokenizer ?? model
            let encoder = TokenizerEncoder(tokenizer: try Tokenizer.load(path: tokenizerPath))
            try VocabularyFit.check(tokenizer: encoder, at: tokenizerPath, template: data.template, model: config, at: model)
            let loaded = try TrainingData.load(dataset: spec, template: data.template, encoder: encoder, maxLength: data.maxLength,
                                               endOfText: config.eosTokenId.map { Int32($0) }, policy: data.onBadRecord)
            if !loaded.rejected.isEmpty {
                context.log.info("\(loaded.rejected.count) records rejected (listed in \(TrainingAccount.fileName)), first: \(loaded.rejected[0].id): \(loaded.rejected[0].reason)")
            }
            // Every record read is a sample or a rejection.
            return (loaded.samples, loaded.rejected, loaded.samples.count + loaded.rejected.count)
        }
    }

    func run() throws {
        let context = try ClusterContext(global, label: "xtf.train")
        let settings = try settings()
        let source = try source()
        guard (mask == .slm) == (reference != nil) else { throw ValidationError("--reference goes with --mask slm, and --mask slm needs it") }
        let recipe = recipe(settings, source)
        let directory = OutputDirectory(out, kind: .training, settingsFile: "train-settings.json")
        // Before any work: an --out holding another run is refused (rank 0 looks, every rank stops).
        _ = try context.world.decidedByRoot { try directory.check(settings: recipe, resume: resume) { $0.ignoringRunLength } }
        // Every rank loads the same files; a bad one stops them all together, the cause printed once.
        let (transformer, (all, rejected, recordsRead), referenceModel) = try context.world.allSucceed {
            let modelDirectory = URL(fileURLWithPath: model)
            let samples = try samples(source, config: try ModelConfig(directory: modelDirectory), context: context)
            return (try Transformer.load(directory: modelDirectory), samples,
                    try reference.map { try Transformer.load(directory: URL(fileURLWithPath: $0)) })
        }
        let (train, validation) = TrainingData.split(all, validationFraction: settings.validationFraction, seed: settings.seed)
        context.log.info("\(train.count) training samples (\(train.reduce(0) { $0 + $1.lossTokens }) tokens with a loss), \(validation.count) held out; mask \(mask.rawValue)")
        let account = TrainingAccount(source: recipe.scores ?? recipe.data?.path ?? "", records: recordsRead, trained: train.count,
                                      heldOut: validation.map(\.id), rejected: rejected)
        guard account.reconciles else {  // the same on every rank: they all stop here
            throw ValidationError("\(recordsRead) records read, but \(train.count) trained + \(validation.count) held out + \(rejected.count) rejected")
        }
        _ = try context.world.decidedByRoot {
            try directory.record(recipe)
            try AtomicFile.writeJSON(account, to: (out as NSString).appendingPathComponent(TrainingAccount.fileName))
            return true
        }
        let trainer = try Trainer(model: transformer, settings: settings, world: context.world, log: context.log, out: out,
                                  reference: referenceModel)
        if let dumpGradient, context.world.isRoot {
            trainer.gradientObserver = { step, gradient in
                guard step == 0 else { return }
                var file = SafetensorsWriter()
                file.add("gradient", shape: [gradient.count], floats: gradient)
                try file.write(to: dumpGradient)
            }
        }
        let records = try trainer.train(train, validation: validation, resume: resume) { record in
            if record.step + 1 == killAtStep && context.world.isRoot { kill(getpid(), SIGKILL) }
        }
        if context.world.isRoot {
            // Per step (1-based): the loss, its token count, and where the seconds went (the report's charts).
            try AtomicFile.write(try jsonLines(records.map { r in
                var line = ["step": Double(r.step + 1), "loss": r.loss, "tokens": Double(r.tokens), "lr": r.learningRate,
                            "compute": r.compute, "exposed_communication": r.exposedCommunication,
                            "communication": r.communication, "optimizer": r.optimizer]
                if let v = r.validationLoss { line["validation_loss"] = v }
                return line
            }),
                                 to: (out as NSString).appendingPathComponent("losses.jsonl"))
            if timeline {
                try AtomicFile.write(try jsonLines(records), to: (out as NSString).appendingPathComponent("timeline.jsonl"))
            }
            if let last = records.last { print("trained \(records.count) steps; last loss \(String(format: "%.5f", last.loss))") }
        }
    }
}
