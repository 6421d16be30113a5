import Artifacts
import Data
import Evaluation
import Foundation
import Model
import Pipeline
import Scoring
import Training

// Each stage's options as a run file and the command line name them (the flag names,
// `max-length`, `tau-kn`, ...), and the one conversion from them to the stage's settings
// type. `xtf run` decodes them from YAML; the commands fill them from their flags. An
// option left out takes the settings type's default.

/// A stage's option that is not valid, named as the user wrote it.
public struct OptionError: Error, CustomStringConvertible, Equatable {
    public let option: String
    public let reason: String

    public init(_ option: String, _ reason: String) { self.option = option; self.reason = reason }

    public var description: String { "\(option): \(reason)" }
}

/// How a dataset's records become prompt and response (`xtf score`, and `xtf train --data`).
public struct DataOptions: Codable, Equatable, Sendable {
    public var data: String?
    public var format: DatasetFormat?
    public var promptField: String?
    public var responseField: String?
    public var systemField: String?
    public var template: PromptTemplate?
    public var assistantTurns: AssistantTurns?
    public var onBadRecord: BadRecordPolicy?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case data, format, template
        case promptField = "prompt-field", responseField = "response-field", systemField = "system-field", onBadRecord = "on-bad-record"
        case assistantTurns = "assistant-turns"
    }

    /// The dataset, or an error naming what is missing.
    public func spec(section: String) throws -> DatasetSpec {
        guard let data else { throw OptionError("\(section).data", "missing: the dataset file") }
        guard let format else { throw OptionError("\(section).format", "missing: gsm8k | gsm8k-solution | pubmedqa | prompt-response | chat | alpaca | sharegpt") }
        var spec = DatasetSpec(path: data, format: format)
        if let promptField { spec.promptField = promptField }
        if let responseField { spec.responseField = responseField }
        spec.systemField = systemField
        if let assistantTurns { spec.assistantTurns = assistantTurns }
        return spec
    }
}

/// `xtf score`'s scoring options.
public struct ScoreOptions: Codable, Equatable, Sendable {
    public var dataset = DataOptions()
    public var task: Task?
    public var domainWords: [String]?
    public var domainWordList: DomainWordList?
    public var domainWordForm: DomainWordForm?
    public var trDomain: TRDomain?
    public var riLayers: RIVariant?
    public var uniformRelative: Bool?
    public var promptFreePCP: Bool?
    public var recordsPerChunk: Int?
    public var batchSize: Int?
    public var batchTokens: Int?
    public var maxLength: Int?
    public var weights: WeightStorage?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case task, weights
        case domainWords = "domain-words", domainWordList = "domain-word-list", domainWordForm = "domain-word-form", trDomain = "tr-domain", riLayers = "ri-layers"
        case uniformRelative = "uniform-relative", recordsPerChunk = "records-per-chunk", batchSize = "batch-size"
        case batchTokens = "batch-tokens", maxLength = "max-length", promptFreePCP = "prompt-free-pcp"
    }

    public static let keys = CodingKeys.allCases.map(\.rawValue) + DataOptions.CodingKeys.allCases.map(\.rawValue)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dataset = try DataOptions(from: decoder)
        task = try c.decodeIfPresent(Task.self, forKey: .task)
        domainWords = try c.decodeIfPresent([String].self, forKey: .domainWords)
        domainWordList = try c.decodeIfPresent(DomainWordList.self, forKey: .domainWordList)
        domainWordForm = try c.decodeIfPresent(DomainWordForm.self, forKey: .domainWordForm)
        trDomain = try c.decodeIfPresent(TRDomain.self, forKey: .trDomain)
        riLayers = try c.decodeIfPresent(RIVariant.self, forKey: .riLayers)
        uniformRelative = try c.decodeIfPresent(Bool.self, forKey: .uniformRelative)
        promptFreePCP = try c.decodeIfPresent(Bool.self, forKey: .promptFreePCP)
        recordsPerChunk = try c.decodeIfPresent(Int.self, forKey: .recordsPerChunk)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize)
        batchTokens = try c.decodeIfPresent(Int.self, forKey: .batchTokens)
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength)
        weights = try c.decodeIfPresent(WeightStorage.self, forKey: .weights)
    }

    public func encode(to encoder: Encoder) throws {
        try dataset.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(task, forKey: .task); try c.encodeIfPresent(domainWords, forKey: .domainWords)
        try c.encodeIfPresent(domainWordForm, forKey: .domainWordForm); try c.encodeIfPresent(trDomain, forKey: .trDomain)
        try c.encodeIfPresent(riLayers, forKey: .riLayers); try c.encodeIfPresent(uniformRelative, forKey: .uniformRelative)
        try c.encodeIfPresent(recordsPerChunk, forKey: .recordsPerChunk); try c.encodeIfPresent(batchSize, forKey: .batchSize)
        try c.encodeIfPresent(batchTokens, forKey: .batchTokens); try c.encodeIfPresent(maxLength, forKey: .maxLength)
        try c.encodeIfPresent(promptFreePCP, forKey: .promptFreePCP); try c.encodeIfPresent(domainWordList, forKey: .domainWordList)
        try c.encodeIfPresent(weights, forKey: .weights)
    }

    public func settings(model: String, tokenizer: String, section: String = "score") throws -> ScoreSettings {
        guard let task else { throw OptionError("\(section).task", "missing: math | code | medicine") }
        if let words = domainWords, !words.isEmpty, domainWordList != nil {
            throw OptionError("\(section).domain-word-list", "chooses a built-in list; domain-words gives the words themselves: use one")
        }
        let d = ScoreSettings(model: model, tokenizer: tokenizer, data: try dataset.spec(section: section), task: task)
        var s = ScoreSettings(
            model: model, tokenizer: tokenizer, data: d.data, template: ChatFormat.concrete(dataset.template ?? d.template, tokenizerPath: tokenizer), task: task,
            domainWords: domainWords.flatMap { $0.isEmpty ? nil : $0 } ?? task.domainWords(domainWordList ?? .xtf), domainWordForm: domainWordForm ?? .inText, trDomain: trDomain ?? .mean,
            riVariant: riLayers ?? d.riVariant, uniformRelative: uniformRelative ?? d.uniformRelative, promptFreePCP: promptFreePCP ?? false,
            recordsPerChunk: recordsPerChunk ?? d.recordsPerChunk, batchSize: batchSize ?? d.batchSize,
            batchTokens: batchTokens ?? d.batchTokens, maxLength: maxLength ?? d.maxLength, onBadRecord: dataset.onBadRecord ?? d.onBadRecord)
        s.weights = weights == .mapped ? .mapped : nil  // fp32 is written as nothing: settings files stay as they were
        try s.validate()
        return s
    }
}

/// The masking rules' options (`xtf mask`, and `xtf score`'s masking).
public struct MaskOptions: Codable, Equatable, Sendable {
    /// The named rule set the other options start from (default: the paper's rules).
    public var preset: MaskPreset?
    public var kIQR: Double?
    public var riFence: RIFence?
    public var tauKN: Double?
    public var otsuClasses: Int?
    /// 1-based, as users count classes (C1 is the lowest TR).
    public var flagClasses: [Int]?
    /// ri kn tr.
    public var caps: [Double]?
    /// Comma-separated: ri,kn,tr.
    public var attributes: String?
    public var trClassRule: TRClassRule?
    public var trWeight: Double?
    public var knCapCount: CapCount?
    public var knScore: KNScore?
    public var knGainBelow: Double?
    public var coverageGuard: Double?
    public var spanClosure: Double?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case preset, caps, attributes
        case kIQR = "k-iqr", riFence = "ri-fence", tauKN = "tau-kn", otsuClasses = "otsu-classes", flagClasses = "flag-classes"
        case trClassRule = "tr-class-rule", trWeight = "tr-weight", knCapCount = "kn-cap-count", knScore = "kn-score", knGainBelow = "kn-gain-below"
        case coverageGuard = "coverage-guard", spanClosure = "span-closure"
    }

    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public var isEmpty: Bool { self == MaskOptions() }

    public func settings() throws -> MaskSettings {
        let d = (preset ?? .paper).settings
        var caps = d.caps
        if let given = self.caps {
            guard given.count == 3 else { throw OptionError("caps", "takes three values: ri kn tr, got \(given.count)") }
            caps = Caps(ri: given[0], kn: given[1], tr: given[2])
        }
        var used = d.attributes
        if let attributes {
            var list: [Attribute] = []
            for name in attributes.split(separator: ",") {
                guard let a = Attribute(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw OptionError("attributes", "unknown attribute \"\(name)\" (ri, kn, tr)")
                }
                list.append(a)
            }
            used = Flags(list)
        }
        if flagClasses != nil, (trClassRule ?? d.trClassRule) == .official {
            throw OptionError("flag-classes", "goes with tr-class-rule fixed: the official rule chooses the classes from the data")
        }
        if let flagClasses, let bad = flagClasses.first(where: { !(1...(otsuClasses ?? d.otsuClasses)).contains($0) }) {
            throw OptionError("flag-classes", "classes are numbered 1 (lowest TR) to otsu-classes (\(otsuClasses ?? d.otsuClasses)), got \(bad)")
        }
        let s = MaskSettings(kIQR: kIQR ?? d.kIQR, riFence: riFence ?? d.riFence, tauKN: tauKN ?? d.tauKN, otsuClasses: otsuClasses ?? d.otsuClasses,
                             flagClasses: flagClasses.map { $0.map { $0 - 1 } } ?? d.flagClasses, caps: caps, attributes: used,
                             trClassRule: trClassRule ?? d.trClassRule, trWeight: trWeight ?? d.trWeight,
                             knCapCount: knCapCount ?? d.knCapCount, knScore: knScore ?? d.knScore, knGainBelow: knGainBelow ?? d.knGainBelow,
                             coverageGuard: coverageGuard ?? d.coverageGuard, spanClosure: spanClosure ?? d.spanClosure)
        try s.validate()
        return s
    }
}

/// `xtf train`'s options (what every arm of `xtf run` trains with, over the common ones).
public struct TrainOptions: Codable, Equatable, Sendable {
    public var mask: LossMask?
    public var maskMode: MaskMode?
    public var reference: String?
    /// `xtf run` only: a dataset this arm trains on directly, instead of the scored run (the
    /// CLEAN arm: the same problems with their noise cut out), read with the scoring's format.
    public var data: String?
    public var slmKeep: Double?
    /// rank,alpha,module[+module...]
    public var lora: String?
    public var weights: WeightStorage?
    public var timeline: Bool?
    public var reportTo: ReportTarget?
    public var lr: Double?
    public var schedule: LearningRateSchedule?
    public var warmupSteps: Int?
    public var weightDecay: Double?
    public var decayNormsAndBiases: Bool?
    public var maxGradNorm: Double?
    public var globalBatch: Int?
    public var microBatchTokens: Int?
    public var epochs: Int?
    public var maxSteps: Int?
    public var seed: UInt64?
    public var checkpointEvery: Int?
    public var validationFraction: Double?
    public var evaluateEvery: Int?
    public var earlyStoppingPatience: Int?
    public var bucketBytes: Int?
    public var saveDtype: TrainSettings.SaveDType?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case mask, reference, data, lora, weights, timeline, lr, schedule, epochs, seed
        case slmKeep = "slm-keep", warmupSteps = "warmup-steps", weightDecay = "weight-decay", maskMode = "mask-mode"
        case decayNormsAndBiases = "decay-norms-and-biases", maxGradNorm = "max-grad-norm", globalBatch = "global-batch"
        case microBatchTokens = "micro-batch-tokens", maxSteps = "max-steps", checkpointEvery = "checkpoint-every"
        case validationFraction = "validation-fraction", evaluateEvery = "evaluate-every"
        case earlyStoppingPatience = "early-stopping-patience", bucketBytes = "bucket-bytes", saveDtype = "save-dtype"
        case reportTo = "report-to"
    }

    public static let keys = CodingKeys.allCases.map(\.rawValue)

    /// The mask, default xtf.
    public var lossMask: LossMask { mask ?? .xtf }

    /// The share of each global batch's tokens the SLM baseline keeps, unless set.
    public static let defaultSLMKeep = 0.6

    public func settings() throws -> TrainSettings {
        var s = TrainSettings()
        if let lr { s.learningRate = lr }
        if let schedule { s.schedule = schedule }
        if let warmupSteps { s.warmupSteps = warmupSteps }
        if let weightDecay { s.weightDecay = weightDecay }
        if let decayNormsAndBiases { s.decayNormsAndBiases = decayNormsAndBiases }
        if let maxGradNorm { s.maxGradNorm = maxGradNorm }
        if let globalBatch { s.globalBatchSize = globalBatch }
        if let microBatchTokens { s.microBatchTokens = microBatchTokens }
        if let epochs { s.epochs = epochs }
        s.maxSteps = maxSteps
        if let seed { s.seed = seed }
        if let checkpointEvery { s.checkpointEvery = checkpointEvery }
        if let validationFraction { s.validationFraction = validationFraction }
        if let evaluateEvery { s.evaluateEvery = evaluateEvery }
        if let earlyStoppingPatience { s.earlyStoppingPatience = earlyStoppingPatience }
        if let bucketBytes { s.bucketBytes = bucketBytes }
        s.saveDType = saveDtype
        if let lora {
            guard let parsed = LoRAConfig(parsing: lora) else {
                throw OptionError("lora", "takes rank,alpha,modules (e.g. 8,32,q_proj+v_proj), got \(lora)")
            }
            s.lora = parsed
        }
        s.baseWeights = weights == .mapped ? .mapped : nil
        if lossMask == .slm { s.slmKeepFraction = slmKeep ?? Self.defaultSLMKeep }
        try s.validate()
        return s
    }
}

extension EvalSettings {
    /// The defaults of everything but the task and the data.
    public static var defaults: EvalSettings { EvalSettings(task: .gsm8k, data: "") }
}

/// `xtf eval`'s options.
public struct EvalOptions: Codable, Equatable, Sendable {
    public var task: EvalTask?
    public var data: String?
    public var format: DatasetFormat?
    public var template: PromptTemplate?
    public var maxNewTokens: Int?
    public var samples: Int?
    public var k: [Int]?
    public var temperature: Double?
    public var seed: UInt64?
    public var timeout: Double?
    public var limit: Int?
    public var batchSize: Int?
    public var onBadRecord: BadRecordPolicy?
    public var unsafeNoSandbox: Bool?
    public var weights: WeightStorage?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case task, data, format, template, samples, k, temperature, seed, timeout, limit, weights
        case maxNewTokens = "max-new-tokens", batchSize = "batch-size", onBadRecord = "on-bad-record", unsafeNoSandbox = "unsafe-no-sandbox"
    }

    public static let keys = CodingKeys.allCases.map(\.rawValue)

    public func settings(section: String = "eval") throws -> EvalSettings {
        guard let task else { throw OptionError("\(section).task", "missing: gsm8k | pubmedqa | humaneval | perplexity") }
        guard let data else { throw OptionError("\(section).data", "missing: the evaluation data") }
        var s = EvalSettings(task: task, data: data)
        if let format { s.format = format }
        if let template { s.template = template }
        if let maxNewTokens { s.maxNewTokens = maxNewTokens }
        if let samples { s.samples = samples }
        if let k { s.k = k }
        if let temperature { s.temperature = temperature }
        if let seed { s.seed = seed }
        if let timeout { s.timeoutSeconds = timeout }
        s.limit = limit
        if let batchSize { s.batchSize = batchSize }
        s.onBadRecord = onBadRecord
        s.unsafeNoSandbox = unsafeNoSandbox == true
        s.weights = weights == .mapped ? .mapped : nil  // fp32 is written as nothing: settings files stay as they were
        do { try s.validate() } catch let EvaluationError.invalidSetting(field, reason) {
            throw OptionError(section.isEmpty ? field : "\(section).\(field)", reason)
        }
        return s
    }
}
