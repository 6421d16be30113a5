import Artifacts
import Cluster
import Logging
import Scoring
import Tokenizer

/// `xtf score` as a function: every response token of the dataset scored by the frozen base
/// model into a run directory, then masked with the rules' settings. Collective: every rank
/// calls it with the same arguments.
public enum ScoreStage {
    /// `scorer` wraps the model's scorer (tests put a fault or an observer around it).
    public static func run(_ settings: ScoreSettings, mask: MaskSettings, out: String, resume: Bool, world: Communicator, log: Logger,
                           scorer wrap: (BaseModel) -> BaseModel = { $0 }) throws -> RunStats {
        try settings.validate()
        try mask.validate()
        if mask.knScore == .promptGain, mask.isActive(.kn), settings.promptFreePCP != true {
            throw PipelineError.invalidSetting(field: "kn-score", reason: "prompt-gain needs the PCP without the prompt: add --prompt-free-pcp")
        }
        // Every rank loads the model; a bad file stops them all together, the cause printed once.
        let loaded = try world.allSucceed {
            try LoadedModel.load(model: settings.model, tokenizer: settings.tokenizer, template: settings.template, weights: settings.weights ?? .fp32)
        }
        let encoder = loaded.encoder!
        let layout = RunLayout(out)
        try ScoreJob(settings: settings, layout: layout, world: world, model: wrap(ModelScorer(model: loaded.transformer)),
                     encoder: encoder, format: loaded.format!, log: log).run(resume: resume)
        return try MaskJob(layout: layout, world: world, settings: mask, encoder: encoder, log: log).run()
    }
}

/// `xtf mask` as a function: new masks, outputs and stats.json of a scored run from its stored
/// scores, with other rule settings. Collective.
public enum MaskStage {
    public static func run(directory: String, settings: MaskSettings, world: Communicator, log: Logger) throws -> RunStats {
        try settings.validate()
        let layout = RunLayout(directory)
        let saved = try ScoreSettings.read(layout)
        let encoder = TokenizerEncoder(tokenizer: try Tokenizer.load(path: saved.tokenizer))
        return try MaskJob(layout: layout, world: world, settings: settings, encoder: encoder, log: log).run()
    }
}
