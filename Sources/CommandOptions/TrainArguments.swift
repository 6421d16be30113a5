import ArgumentParser
import Artifacts
import Data
import Evaluation
import Experiment
import Foundation
import Pipeline
import Training

/// A dataset to fine-tune on directly (every response token), without a scored run.
public struct TrainDataArguments: ParsableArguments {
    @Option(help: "Dataset file (JSONL, or PubMedQA's ori_pqal.json).") public var data: String?
    @Option(help: "gsm8k | gsm8k-solution | pubmedqa | prompt-response | chat | alpaca | sharegpt | tokenized") public var format: DatasetFormat?
    @Option(help: "Prompt field for --format prompt-response.") public var promptField = "prompt"
    @Option(help: "Response field for --format prompt-response.") public var responseField = "response"
    @Option(help: "Optional system-prompt field for --format prompt-response.") public var systemField: String?
    @Option(help: "Chat template: auto (the model's own if its tokenizer folder has one, else plain) | model | plain | llama3 | qwen2 | mistral") public var template: PromptTemplate = .auto
    @Option(help: "Which assistant turns of a multi-turn record are responses (scored and trained): all (as TRL's assistant_only_loss and LLaMA-Factory) | last (the others are prompt).") public var assistantTurns: AssistantTurns = .all
    @Option(help: "tokenizer.json or its directory (default: the model directory).") public var tokenizer: String?
    @Option(help: "Longest sequence; longer responses are truncated.") public var maxLength = 1024
    @Option(help: "fail | skip bad records.") public var onBadRecord: BadRecordPolicy = .fail

    public init() {}
}

/// Optimiser and schedule.
public struct OptimizerArguments: ParsableArguments {
    @Option(help: "Peak learning rate.") public var lr = TrainSettings().learningRate
    @Option(help: "cosine | linear | constant decay after warm-up.") public var schedule = TrainSettings().schedule
    @Option(help: "Linear warm-up steps.") public var warmupSteps = TrainSettings().warmupSteps
    @Option(help: "Decoupled weight decay (not on norms and biases unless --decay-norms-and-biases).") public var weightDecay = TrainSettings().weightDecay
    @Flag(help: "Decay norm weights and biases too.") public var decayNormsAndBiases = false
    @Option(help: "Clip by the global gradient norm (0: off).") public var maxGradNorm = TrainSettings().maxGradNorm

    public init() {}
}

/// Batches, epochs and checkpoints.
public struct ScheduleArguments: ParsableArguments {
    @Option(help: "Samples per optimiser step over all ranks (the same batches whatever -np is).") public var globalBatch = TrainSettings().globalBatchSize
    @Option(help: "Tokens per forward/backward pass on a rank; more means gradient accumulation.") public var microBatchTokens = TrainSettings().microBatchTokens
    @Option(help: "Epochs.") public var epochs = TrainSettings().epochs
    @Option(help: "Stop after this many steps (overrides --epochs).") public var maxSteps: Int?
    @Option(help: "Seed (sample order, LoRA init, random masking, validation split).") public var seed = TrainSettings().seed
    @Option(help: "Checkpoint every N steps (0: only at the end).") public var checkpointEvery = TrainSettings().checkpointEvery
    @Option(help: "Fraction of samples held out for validation.") public var validationFraction = TrainSettings().validationFraction
    @Option(help: "Validate every N steps (0: never).") public var evaluateEvery = TrainSettings().evaluateEvery
    @Option(help: "Stop after N validations without improvement (0: never).") public var earlyStoppingPatience = TrainSettings().earlyStoppingPatience
    @Option(help: "Gradient all-reduce bucket size in bytes.") public var bucketBytes = TrainSettings().bucketBytes
    @Option(help: "Dtype of the saved weights: fp32 | bf16 (the optimiser moments stay fp32).") public var saveDtype: TrainSettings.SaveDType?

    public init() {}
}

/// Everything `xtf train` takes.
public struct TrainArguments: ParsableArguments {
    @Option(help: "Base model checkpoint directory.") public var model: String
    @Option(help: "A run directory written by `xtf score` (its masks and token ids).") public var scores: String?
    @Option(help: "xtf | none | random | slm | oracle: which response tokens carry a loss (with --data: none).") public var mask: LossMask = .xtf
    @Option(help: "For --mask slm: the reference model (RHO-1's) whose per-token loss is subtracted.") public var reference: String?
    @Option(help: "For --mask slm: fraction of each global batch's tokens kept, by excess loss.") public var slmKeep = TrainOptions.defaultSLMKeep
    @Option(help: "For --mask oracle: the generated train.jsonl whose labelled noise is masked (ground-truth data only).")
    public var labels: String?
    @Option(help: "loss (masked tokens stay in the input without a loss, as XTF does) | delete (masked tokens are cut out of the sequence).")
    public var maskMode: MaskMode = .loss
    @OptionGroup(title: "Data without scores (normal fine-tuning; instead of --scores)") public var data: TrainDataArguments
    @Option(help: "LoRA instead of full fine-tuning: rank,alpha,module[+module...] (e.g. 8,32,c_attn+c_proj).")
    public var lora: String?
    @Option(help: "With --lora, where the frozen base's weights live: fp32 | mapped (left in the checkpoint's memory-mapped file, shared by a node's ranks, widened a layer at a time).")
    public var weights: WeightStorage = .fp32
    @Option(help: "Output directory (checkpoints, losses.jsonl).") public var out: String
    @Flag(help: "Continue from the newest complete checkpoint in --out.") public var resume = false
    @Flag(help: "Write timeline.jsonl: per step compute, exposed communication, optimiser seconds.") public var timeline = false
    @Option(help: "none | tensorboard: also write each step's loss, learning rate, grad norm and tokens to OUT/tensorboard/ as it trains.")
    public var reportTo: ReportTarget = .none
    @OptionGroup(title: "Optimiser") public var optimizer: OptimizerArguments
    @OptionGroup(title: "Run") public var schedule: ScheduleArguments

    public init() {}

    /// The training job these flags describe (paths made absolute).
    public func job() throws -> TrainJob {
        var o = TrainOptions()
        o.mask = mask; o.reference = reference; o.slmKeep = slmKeep; o.lora = lora; o.weights = weights
        o.lr = optimizer.lr; o.schedule = optimizer.schedule; o.warmupSteps = optimizer.warmupSteps
        o.weightDecay = optimizer.weightDecay; o.decayNormsAndBiases = optimizer.decayNormsAndBiases; o.maxGradNorm = optimizer.maxGradNorm
        o.globalBatch = schedule.globalBatch; o.microBatchTokens = schedule.microBatchTokens; o.epochs = schedule.epochs
        o.maxSteps = schedule.maxSteps; o.seed = schedule.seed; o.checkpointEvery = schedule.checkpointEvery
        o.validationFraction = schedule.validationFraction; o.evaluateEvery = schedule.evaluateEvery
        o.earlyStoppingPatience = schedule.earlyStoppingPatience; o.bucketBytes = schedule.bucketBytes; o.saveDtype = schedule.saveDtype
        let settings = try usage { try o.settings() }
        guard let path = data.data else {
            guard let scores else { throw ValidationError("give --scores RUN_DIR, or --data FILE with --format") }
            var job = TrainJob.fromScores(scores, model: model, mask: mask, reference: reference, settings: settings)
            job.labels = labels.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            job.maskMode = maskMode == .loss ? nil : maskMode
            return job
        }
        guard scores == nil else { throw ValidationError("give --scores or --data, not both") }
        guard maskMode == .loss else { throw ValidationError("--mask-mode delete goes with --scores: --data trains on every response token") }
        guard let format = data.format else { throw ValidationError("--data needs --format") }
        guard mask == .none || mask == .slm else {
            throw ValidationError("--data trains on every response token: pass --mask none, or --scores RUN for --mask \(mask.rawValue)")
        }
        var spec = DatasetSpec(path: path, format: format)
        spec.promptField = data.promptField; spec.responseField = data.responseField; spec.systemField = data.systemField
        spec.assistantTurns = data.assistantTurns
        return TrainJob.fromDataset(spec, template: data.template, tokenizer: data.tokenizer, maxLength: data.maxLength, model: model,
                                    mask: mask, reference: reference, settings: settings)
    }

    public func validate() throws {
        guard (mask == .slm) == (reference != nil) else { throw ValidationError("--reference goes with --mask slm, and --mask slm needs it") }
    }
}

/// Everything `xtf eval` takes.
public struct EvalArguments: ParsableArguments {
    @Option(help: "Checkpoint directory (config.json, model.safetensors).") public var model: String
    @Option(help: "LoRA checkpoint (adapter_config.json + adapter_model.safetensors, PEFT layout) applied on --model.")
    public var adapter: String?
    @Option(help: "tokenizer.json or its directory (default: the model directory).") public var tokenizer: String?
    @Option(help: "gsm8k | pubmedqa | humaneval | perplexity") public var task: EvalTask
    @Option(help: "Data: GSM8K JSONL, ori_pqal.json, HumanEval.jsonl(.gz), or any dataset for perplexity.") public var data: String
    @Option(help: "Dataset layout for perplexity.") public var format: DatasetFormat = .gsm8k
    @Option(help: "Chat template: auto (the model's own if its tokenizer folder has one, else plain) | model | plain | llama3 | qwen2 | mistral") public var template: PromptTemplate = .auto
    @Option(help: "Longest generation.") public var maxNewTokens = EvalSettings.defaults.maxNewTokens
    @Option(help: "HumanEval: generations per problem.") public var samples = EvalSettings.defaults.samples
    @Option(parsing: .upToNextOption, help: "HumanEval: the k of pass@k.") public var k = EvalSettings.defaults.k
    @Option(help: "Sampling temperature (0: greedy).") public var temperature = EvalSettings.defaults.temperature
    @Option(help: "Seed for sampling.") public var seed = EvalSettings.defaults.seed
    @Option(help: "HumanEval: seconds a program may run.") public var timeout = EvalSettings.defaults.timeoutSeconds
    @Option(help: "Evaluate only the first N items.") public var limit: Int?
    @Option(help: "Prompts generated together.") public var batchSize = EvalSettings.defaults.batchSize
    @Option(help: "fail | skip: a record that cannot be read stops the evaluation naming it, or is skipped and listed in the result.")
    public var onBadRecord: BadRecordPolicy = .fail
    @Flag(help: "HumanEval: run the generated code without a sandbox when bubblewrap is missing (it can read and write your files and reach the network).")
    public var unsafeNoSandbox = false
    @Option(help: "Write the result as JSON here.") public var out: String?
    @Option(help: "GSM8K, PubMedQA: write every prompt, generation and grade here (JSONL, in data order).")
    public var generations: String?
    @Option(help: "fp32: every weight read into fp32 per rank. mapped: left in the checkpoint as stored (BF16, F16, F32), mapped and shared by the ranks of a node, each layer widened to fp32 as it runs (slower per generated token; for models whose fp32 copy does not fit).")
    public var weights: WeightStorage = .fp32

    public init() {}

    public func validate() throws {
        if generations != nil, ![.gsm8k, .pubmedqa].contains(task) {
            throw ValidationError("--generations: only gsm8k and pubmedqa are graded on generated answers")
        }
    }

    public func settings() throws -> EvalSettings {
        var o = EvalOptions()
        o.task = task; o.data = data; o.format = format; o.template = template; o.maxNewTokens = maxNewTokens; o.samples = samples
        o.k = k; o.temperature = temperature; o.seed = seed; o.timeout = timeout; o.limit = limit; o.batchSize = batchSize
        o.onBadRecord = onBadRecord == .fail ? nil : onBadRecord
        o.unsafeNoSandbox = unsafeNoSandbox ? true : nil
        o.weights = weights
        return try usage { try o.settings(section: "") }
    }
}
