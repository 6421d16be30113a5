import ArgumentParser
import Artifacts
import Data
import Evaluation
import Experiment
import Pipeline
import Scoring
import Training

// The stages' options as flags. Each group fills the stage's options type of the Experiment
// module, which alone turns them into settings, so a flag and the run file's key of the same
// name mean the same thing. Defaults are read from the settings types where they have one
// without a dataset (masking, training, evaluation).

extension DatasetFormat: ExpressibleByArgument {}
extension AssistantTurns: ExpressibleByArgument {}
extension WeightStorage: ExpressibleByArgument {}
extension RIFence: ExpressibleByArgument {}
extension TRClassRule: ExpressibleByArgument {}
extension TrainSettings.SaveDType: ExpressibleByArgument {}
extension ReportTarget: ExpressibleByArgument {}
extension CapCount: ExpressibleByArgument {}
extension KNScore: ExpressibleByArgument {}
extension MaskPreset: ExpressibleByArgument {}
extension DomainWordList: ExpressibleByArgument {}
extension DomainWordForm: ExpressibleByArgument {}
extension TRDomain: ExpressibleByArgument {}
extension PromptTemplate: ExpressibleByArgument {}
extension BadRecordPolicy: ExpressibleByArgument {}
extension Task: ExpressibleByArgument {}
extension RIVariant: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension LossMask: ExpressibleByArgument {}
extension MaskMode: ExpressibleByArgument {}
extension EvalTask: ExpressibleByArgument {}

/// An option the stage refused, as a command-line mistake (with the usage text).
func usage<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as OptionError { throw ValidationError("--\(error.option): \(error.reason)") }
}

/// The base model and its tokenizer.
public struct ModelArguments: ParsableArguments {
    @Option(help: "Hugging Face checkpoint directory of the frozen base model.")
    public var model: String

    @Option(help: "tokenizer.json or a directory with it (default: the model directory).")
    public var tokenizer: String?

    public var tokenizerPath: String { tokenizer ?? model }

    public init() {}
}

/// Which dataset to read and how to turn its records into prompt and response.
public struct DataArguments: ParsableArguments {
    @Option(help: "Dataset file: JSONL, or PubMedQA's ori_pqal.json.")
    public var data: String

    @Option(help: "gsm8k | gsm8k-solution | pubmedqa | prompt-response | chat | alpaca | sharegpt | tokenized")
    public var format: DatasetFormat

    @Option(help: "Prompt field for --format prompt-response.")
    public var promptField = "prompt"

    @Option(help: "Response field for --format prompt-response.")
    public var responseField = "response"

    @Option(help: "Optional system-prompt field for --format prompt-response.")
    public var systemField: String?

    @Option(help: "Chat template: auto (the model's own if its tokenizer folder has one, else plain) | model | plain | llama3 | qwen2 | mistral")
    public var template: PromptTemplate = .auto

    @Option(help: "Which assistant turns of a multi-turn record are responses (scored and trained): all (as TRL's assistant_only_loss and LLaMA-Factory) | last (the others are prompt).")
    public var assistantTurns: AssistantTurns = .all

    @Option(help: "fail: stop at the first bad record, naming file and line; skip: list it in the manifest and go on.")
    public var onBadRecord: BadRecordPolicy = .fail

    public init() {}

    var options: DataOptions {
        var o = DataOptions()
        o.data = data; o.format = format; o.promptField = promptField; o.responseField = responseField
        o.systemField = systemField; o.template = template; o.onBadRecord = onBadRecord; o.assistantTurns = assistantTurns
        return o
    }
}

/// How the three attributes are scored.
public struct ScoringArguments: ParsableArguments {
    @Option(help: "math | code | medicine: picks TR's default domain words.")
    public var task: Task

    @Option(parsing: .upToNextOption, help: "TR domain words (default: the task's list, see --domain-word-list).")
    public var domainWords: [String] = []

    @Option(help: "The task's built-in domain words when --domain-words is not given: xtf | official (the official code's lists).")
    public var domainWordList: DomainWordList = .xtf

    @Option(help: "How a domain word is tokenized: in-text (as inside a sentence, after a space, the form responses use) | bare (the word alone).")
    public var domainWordForm: DomainWordForm = .inText

    @Option(help: "What TR is the cosine to: mean (of the domain words' states, the paper) | nearest (the closest domain word).")
    public var trDomain: TRDomain = .mean

    @Option(help: "RI layers: last-layer | all-layers")
    public var riLayers: RIVariant = .lastLayer

    @Flag(help: "RI relative to uniform attention (A[q,p] x (q+1)).")
    public var uniformRelative = false

    @Flag(help: "Also score each response without its prompt (after an end-of-text token), for KN's prompt gain (--kn-score prompt-gain). About 1.5x the scoring time.")
    public var promptFreePcp = false

    @Option(help: "Records per work unit handed out by the coordinator (default: 64, fewer for a file under 1,024 records so that it makes about 16 chunks).")
    public var recordsPerChunk: Int?

    @Option(help: "Sequences per forward pass.")
    public var batchSize = 8

    @Option(help: "Tokens per forward pass (sequences are packed, not padded).")
    public var batchTokens = 4096

    @Option(help: "Longest sequence scored (at most the model's context); longer responses are truncated and counted.")
    public var maxLength = 1024

    @Option(help: "Where the base model's weights live: fp32 (read into each rank) | mapped (left in the checkpoint's memory-mapped file, BF16/F16 as stored, shared by a node's ranks, widened a layer at a time).")
    public var weights: WeightStorage = .fp32

    public init() {}
}

/// The masking rules' knobs (docs/METHOD.md). Each is optional: what is not given comes from
/// --preset (the paper's rules unless another is named).
public struct MaskArguments: ParsableArguments {
    private static let paper = MaskPreset.paper.settings

    @Option(help: "Named rules the other masking options start from: paper (the paper's rules, the default) | xtf-plus (KN alone, cap 0.3, span closure 0.5; docs/METHOD.md). Each option below given beside it replaces one value; the values in brackets are the paper's.")
    public var preset: MaskPreset?

    @Option(name: .customLong("k-iqr"), parsing: .unconditional, help: "RI flags ri < Q1 - k (Q3 - Q1), per sample. (paper: \(paper.kIQR))")
    public var kIQR: Double?

    @Option(help: "What the RI fence is computed on: iqr (RI, the paper) | log-iqr (log RI, for a right-skewed RI that the paper's fence cannot reach). (paper: \(paper.riFence.rawValue))")
    public var riFence: RIFence?

    @Option(name: .customLong("tau-kn"), parsing: .unconditional, help: "KN flags PCP > tau. (paper: \(paper.tauKN))")
    public var tauKN: Double?

    @Option(help: "Multi-Otsu classes K over the dataset-wide TR histogram. (paper: \(paper.otsuClasses))")
    public var otsuClasses: Int?

    @Option(parsing: .upToNextOption, help: "Flagged TR classes, 1-based (C1 is the lowest; the paper flags C2). (paper: \(paper.flagClasses.map { String($0 + 1) }.joined(separator: " ")))")
    public var flagClasses: [Int] = []

    @Option(parsing: .upToNextOption, help: "Per-sample caps: ri kn tr (fractions of the response; 0 disables). (paper: \(paper.caps.ri) \(paper.caps.kn) \(paper.caps.tr))")
    public var caps: [Double] = []

    @Option(help: "Attributes in use, comma-separated: ri,kn,tr (paper: ri,kn,tr)")
    public var attributes: String?

    @Option(help: "How TR's flagged classes are chosen: fixed (--flag-classes) | official (the official code's cumulative-share rule with --tr-weight). (paper: \(paper.trClassRule.rawValue))")
    public var trClassRule: TRClassRule?

    @Option(parsing: .unconditional, help: "TR weight of the official class rule. (paper: \(paper.trWeight))")
    public var trWeight: Double?

    @Option(help: "KN's cap count: floor (floor(c n), as RI and TR) | official (n - 1 - int(n (1 - c))). (paper: \(paper.knCapCount.rawValue))")
    public var knCapCount: CapCount?

    @Option(help: "What KN's rule looks at: pcp (PCP > --tau-kn, the paper) | prompt-gain (what the prompt adds to the token's log probability < --kn-gain-below nats; needs scores made with --prompt-free-pcp). (paper: \(paper.knScore.rawValue))")
    public var knScore: KNScore?

    @Option(parsing: .unconditional, help: "With --kn-score prompt-gain: KN flags a prompt gain below this many nats. (paper: \(paper.knGainBelow))")
    public var knGainBelow: Double?

    @Option(parsing: .unconditional, help: "Never mask a token id that the rules mask in more than this share of its occurrences (dataset-wide). Off in the paper's rules; 1 turns it off.")
    public var coverageGuard: Double?

    @Option(parsing: .unconditional, help: "Mask a whole clause (up to a '.', '!', '?', ';' or line break) when at least this share of it is masked. Off in the paper's rules; 1 turns it off (xtf-plus: 0.5).")
    public var spanClosure: Double?

    public init() {}

    public func settings() throws -> MaskSettings {
        var o = MaskOptions()
        o.preset = preset
        o.kIQR = kIQR; o.riFence = riFence; o.tauKN = tauKN; o.otsuClasses = otsuClasses
        o.flagClasses = flagClasses.isEmpty ? nil : flagClasses
        o.caps = caps.isEmpty ? nil : caps; o.attributes = attributes
        o.trClassRule = trClassRule; o.trWeight = trWeight; o.knCapCount = knCapCount; o.knScore = knScore; o.knGainBelow = knGainBelow
        o.coverageGuard = coverageGuard; o.spanClosure = spanClosure
        return try usage { try o.settings() }
    }
}

/// Everything `xtf score` takes.
public struct ScoreArguments: ParsableArguments {
    @OptionGroup(title: "Model") public var model: ModelArguments
    @OptionGroup(title: "Data") public var data: DataArguments
    @OptionGroup(title: "Scoring") public var scoring: ScoringArguments
    @OptionGroup(title: "Masking") public var masking: MaskArguments

    @Option(help: "Run directory.")
    public var out: String

    @Flag(help: "Continue the run in --out, skipping finished chunks.")
    public var resume = false

    public init() {}

    public func settings() throws -> ScoreSettings {
        var o = ScoreOptions()
        o.dataset = data.options
        o.task = scoring.task; o.domainWords = scoring.domainWords; o.domainWordList = scoring.domainWordList == .xtf ? nil : scoring.domainWordList; o.domainWordForm = scoring.domainWordForm
        o.trDomain = scoring.trDomain; o.riLayers = scoring.riLayers; o.uniformRelative = scoring.uniformRelative; o.promptFreePCP = scoring.promptFreePcp ? true : nil
        o.recordsPerChunk = scoring.recordsPerChunk; o.batchSize = scoring.batchSize; o.batchTokens = scoring.batchTokens
        o.maxLength = scoring.maxLength; o.weights = scoring.weights == .fp32 ? nil : scoring.weights
        return try usage { try o.settings(model: model.model, tokenizer: model.tokenizerPath) }
    }
}
