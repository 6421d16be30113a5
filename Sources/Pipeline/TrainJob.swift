import Data
import Foundation
import Model
import Training

/// What a training run's outputs depend on, saved as OUT/train-settings.json so that
/// `--resume` continues only the same run. Paths are absolute: the same files from any cwd.
public struct TrainJob: Codable, Equatable, Sendable {
    public var model: String
    /// A run directory of `xtf score` (its token ids and masks), or ...
    public var scores: String?
    /// ... a dataset read directly (normal fine-tuning, every response token).
    public var data: DatasetSpec?
    public var template: PromptTemplate?
    public var tokenizer: String?
    public var maxLength: Int?
    public var mask: LossMask
    /// nil: `loss` (train-settings.json files written before the option lack it).
    public var maskMode: MaskMode?
    /// The reference model of the SLM baseline.
    public var reference: String?
    /// The ground-truth problems whose labelled noise the oracle mask masks.
    public var labels: String?
    public var settings: TrainSettings

    /// Training on a scored run's samples with one of its masks.
    public static func fromScores(_ run: String, model: String, mask: LossMask, reference: String?, settings: TrainSettings) -> TrainJob {
        TrainJob(model: absolute(model), scores: absolute(run), mask: mask, reference: reference.map(absolute), settings: settings)
    }

    /// Training on every response token of a dataset.
    public static func fromDataset(_ spec: DatasetSpec, template: PromptTemplate, tokenizer: String?, maxLength: Int, model: String,
                                   mask: LossMask, reference: String?, settings: TrainSettings) -> TrainJob {
        var spec = spec
        spec.path = absolute(spec.path)
        return TrainJob(model: absolute(model), data: spec, template: ChatFormat.concrete(template, tokenizerPath: tokenizer ?? model),
                        tokenizer: absolute(tokenizer ?? model),
                        maxLength: maxLength, mask: mask, reference: reference.map(absolute), settings: settings)
    }

    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    /// Refuses a job no run can do, naming the option.
    public func validate() throws {
        try settings.validate()
        if data != nil, mask != .none, mask != .slm {
            throw PipelineError.invalidSetting(field: "mask", reason: "a dataset read directly trains on every response token: "
                                               + "use mask none, or train on a scored run for mask \(mask.rawValue)")
        }
        guard (mask == .oracle) == (labels != nil) else {
            throw PipelineError.invalidSetting(field: "labels", reason: "mask oracle needs the labelled problems (a generated train.jsonl), and only it uses them")
        }
        if mask == .oracle, scores == nil {
            throw PipelineError.invalidSetting(field: "mask", reason: "oracle trains on a scored run of the labelled problems")
        }
        if maskMode == .delete, ![.xtf, .random, .oracle].contains(mask) {
            throw PipelineError.invalidSetting(field: "mask-mode", reason: "delete cuts out the tokens of mask xtf, random or oracle; mask \(mask.rawValue) picks none")
        }
        guard (mask == .slm) == (reference != nil) else {
            throw PipelineError.invalidSetting(field: "reference", reason: "goes with mask slm, and mask slm needs it")
        }
        guard (mask == .slm) == (settings.slmKeepFraction != nil) else {
            throw PipelineError.invalidSetting(field: "slm-keep", reason: "goes with mask slm, and mask slm needs it")
        }
    }

    /// Without what a resumed run may change (how long it runs, how often it saves).
    public var ignoringRunLength: TrainJob {
        var job = self
        job.settings = settings.ignoringRunLength
        return job
    }

    public static let fileName = "train-settings.json"
}
