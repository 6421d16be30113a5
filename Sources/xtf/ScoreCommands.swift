import ArgumentParser
import Data
import Foundation
import Model
import Pipeline
import Scoring
import Tokenizer

/// The base model and its tokenizer.
struct ModelOptions: ParsableArguments {
    @Option(help: "Hugging Face checkpoint directory of the frozen base model.")
    var model: String

    @Option(help: "tokenizer.json or a directory with it (default: the model directory).")
    var tokenizer: String?

    var tokenizerPath: String { tokenizer ?? model }
}

/// Which dataset to read and how to turn its records into prompt and response.
struct DataOptions: ParsableArguments {
    @Option(help: "Dataset file: JSONL, or PubMedQA's ori_pqal.json.")
    var data: String

    @Option(help: "gsm8k | pubmedqa | prompt-response | chat")
    var format: DatasetFormat

    @Option(help: "Prompt field for --format prompt-response.")
    var promptField = "prompt"

    @Option(help: "Response field for --format prompt-response.")
    var responseField = "response"

    @Option(help: "Optional system-prompt field for --format prompt-response.")
    var systemField: String?

    @Option(help: "Prompt template: plain | llama3 | qwen2 | mistral")
    var template: PromptTemplate = .plain

    @Option(help: "fail: stop at the first bad record, naming file and line; skip: list it in the manifest and go on.")
    var onBadRecord: BadRecordPolicy = .fail

    var spec: DatasetSpec {
        var s = DatasetSpec(path: data, format: format)
        s.promptField = promptField; s.responseField = responseField; s.systemField = systemField
        return s
    }
}

/// How the three attributes are scored.
struct ScoringOptions: ParsableArguments {
    @Option(help: "math | code | medicine: picks TR's default domain words.")
    var task: Task

    @Option(parsing: .upToNextOption, help: "TR domain words (default: the task's).")
    var domainWords: [String] = []

    @Option(help: "How a domain word is tokenized: in-text (as inside a sentence, after a space, the form responses use) | bare (the word alone).")
    var domainWordForm: DomainWordForm = .inText

    @Option(help: "What TR is the cosine to: mean (of the domain words' states, the paper) | nearest (the closest domain word).")
    var trDomain: TRDomain = .mean

    @Option(help: "RI layers: last-layer | all-layers")
    var riLayers: RIVariant = .lastLayer

    @Flag(help: "RI relative to uniform attention (A[q,p] x (q+1)).")
    var uniformRelative = false

    @Option(help: "Records per work unit handed out by the coordinator.")
    var recordsPerChunk = 64

    @Option(help: "Sequences per forward pass.")
    var batchSize = 8

    @Option(help: "Tokens per forward pass (sequences are packed, not padded).")
    var batchTokens = 4096

    @Option(help: "Longest sequence scored (at most the model's context); longer responses are truncated and counted.")
    var maxLength = 1024
}

/// The masking rules' knobs (docs/XTF-METHOD.md).
struct MaskOptions: ParsableArguments {
    @Option(name: .customLong("k-iqr"), help: "RI flags ri < Q1 - k (Q3 - Q1), per sample.")
    var kIQR: Double = 1.5

    @Option(help: "What the RI fence is computed on: iqr (RI, the paper) | log-iqr (log RI, for a right-skewed RI that the paper's fence cannot reach).")
    var riFence: RIFence = .iqr

    @Option(name: .customLong("tau-kn"), help: "KN flags PCP > tau.")
    var tauKN: Double = 0.95

    @Option(help: "Multi-Otsu classes K over the dataset-wide TR histogram.")
    var otsuClasses = 5

    @Option(parsing: .upToNextOption, help: "Flagged TR classes, 1-based (C1 is the lowest; the paper flags C2).")
    var flagClasses: [Int] = [2]

    @Option(parsing: .upToNextOption, help: "Per-sample caps: ri kn tr (fractions of the response; 0 disables).")
    var caps: [Double] = [0.05, 0.10, 0.05]

    @Option(help: "Attributes in use, comma-separated: ri,kn,tr")
    var attributes = "ri,kn,tr"

    func settings() throws -> MaskSettings {
        guard caps.count == 3 else { throw ValidationError("--caps takes three values: ri kn tr") }
        var used: [Attribute] = []
        for name in attributes.split(separator: ",") {
            guard let a = Attribute(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--attributes: unknown attribute \"\(name)\" (ri, kn, tr)")
            }
            used.append(a)
        }
        let s = MaskSettings(kIQR: kIQR, riFence: riFence, tauKN: tauKN, otsuClasses: otsuClasses, flagClasses: flagClasses.map { $0 - 1 },
                             caps: Caps(ri: caps[0], kn: caps[1], tr: caps[2]), attributes: Flags(used))
        try s.validate()
        return s
    }
}

extension DatasetFormat: ExpressibleByArgument {}
extension RIFence: ExpressibleByArgument {}
extension DomainWordForm: ExpressibleByArgument {}
extension TRDomain: ExpressibleByArgument {}
extension PromptTemplate: ExpressibleByArgument {}
extension BadRecordPolicy: ExpressibleByArgument {}
extension Task: ExpressibleByArgument {}
extension RIVariant: ExpressibleByArgument {}

/// `xtf score`: scores every response token, then masks (as `xtf mask` would).
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score every response token with the frozen base model, then mask (under mpirun: all ranks).",
        discussion: """
            Rank 0 hands out chunks of records to whichever rank asks next and scores too. \
            Writes to --out: scores/ (per chunk: safetensors + record index), masks/, masked.jsonl \
            (input_ids + labels, -100 where no loss), tokens.jsonl (per sample: token text, \
            pcp/ri/tr, flags), stats.json, manifest.json. A run cut short continues with --resume.
            """)

    @OptionGroup(title: "Model") var modelOptions: ModelOptions
    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @OptionGroup(title: "Scoring") var scoring: ScoringOptions
    @OptionGroup(title: "Masking") var masking: MaskOptions
    @OptionGroup var global: GlobalOptions

    @Option(help: "Run directory.")
    var out: String

    @Flag(help: "Continue the run in --out, skipping finished chunks.")
    var resume = false

    @Option(help: .hidden) // for the resume tests: SIGKILL this rank before its (N+1)-th batch
    var killBeforeBatch: Int?

    func run() throws {
        let context = try ClusterContext(global, label: "xtf.score")
        let maskSettings = try masking.settings()
        let settings = ScoreSettings(
            model: modelOptions.model, tokenizer: modelOptions.tokenizerPath, data: dataOptions.spec,
            template: dataOptions.template, task: scoring.task,
            domainWords: scoring.domainWords.isEmpty ? nil : scoring.domainWords, domainWordForm: scoring.domainWordForm, trDomain: scoring.trDomain,
            riVariant: scoring.riLayers, uniformRelative: scoring.uniformRelative,
            recordsPerChunk: scoring.recordsPerChunk, batchSize: scoring.batchSize, batchTokens: scoring.batchTokens,
            maxLength: scoring.maxLength, onBadRecord: dataOptions.onBadRecord)
        try settings.validate()
        // Every rank loads both; a bad file stops them all together, the cause printed once.
        let (encoder, model) = try context.world.allSucceed {
            let encoder = TokenizerEncoder(tokenizer: try Tokenizer.load(path: settings.tokenizer))
            // Before the weights are read: config.json says what the tokenizer must fit.
            let modelDirectory = URL(fileURLWithPath: settings.model)
            try VocabularyFit.check(tokenizer: encoder, at: settings.tokenizer, template: settings.template,
                                    model: try ModelConfig(directory: modelDirectory), at: settings.model)
            return (encoder, try Transformer.load(directory: modelDirectory))
        }
        let layout = RunLayout(out)
        var scorer: BaseModel = ModelScorer(model: model)
        if let killBeforeBatch { scorer = KilledBeforeBatch(scorer, batch: killBeforeBatch) }
        try ScoreJob(settings: settings, layout: layout, world: context.world, model: scorer,
                     encoder: encoder, log: context.log).run(resume: resume)
        let stats = try MaskJob(layout: layout, world: context.world, settings: maskSettings, encoder: encoder,
                                log: context.log).run()
        if context.world.isRoot { print(stats.summary) }
    }
}

/// A crash in the middle of scoring, for the resume tests: SIGKILL, as from the OOM killer.
private final class KilledBeforeBatch: BaseModel {
    let inner: BaseModel
    var batchesLeft: Int

    init(_ inner: BaseModel, batch: Int) { self.inner = inner; batchesLeft = batch }

    var contextLength: Int { inner.contextLength }
    var endOfText: Int32? { inner.endOfText }

    func score(_ batch: [TokenizedSample], layers: RIVariant, uniformRelative: Bool) throws -> [ResponseScores] {
        if batchesLeft == 0 { kill(getpid(), SIGKILL) }
        batchesLeft -= 1
        return try inner.score(batch, layers: layers, uniformRelative: uniformRelative)
    }

    func meanFinalHidden(_ sequences: [[Int32]]) throws -> [[Float]] { try inner.meanFinalHidden(sequences) }
}

/// `xtf mask`: new masks from stored scores, without scoring again.
struct Mask: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute masks, outputs and stats.json of a scored run with other rule settings.")

    @Argument(help: "Run directory written by `xtf score`.")
    var runDirectory: String

    @OptionGroup(title: "Masking") var masking: MaskOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try ClusterContext(global, label: "xtf.mask")
        let layout = RunLayout(runDirectory)
        let saved = try JSONDecoder().decode(ScoreSettings.self, from: Data(contentsOf: URL(fileURLWithPath: layout.settings)))
        let encoder = TokenizerEncoder(tokenizer: try Tokenizer.load(path: saved.tokenizer))
        let stats = try MaskJob(layout: layout, world: context.world, settings: try masking.settings(), encoder: encoder,
                                log: context.log).run()
        if context.world.isRoot { print(stats.summary) }
    }
}
