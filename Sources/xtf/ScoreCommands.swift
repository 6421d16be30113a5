import ArgumentParser
import CommandOptions
import Pipeline

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

    @OptionGroup var arguments: ScoreArguments
    @Option(help: "none | tensorboard: also write the scoring statistics (flagged fractions, score quantiles, overlaps, sensitivity) to OUT/tensorboard/.")
    var reportTo: ReportTarget = .none
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let settings = try arguments.settings(), rules = try arguments.masking.settings()
        let context = try ClusterContext(global, label: "xtf.score")
        let stats = try ScoreStage.run(settings, mask: rules, out: arguments.out, resume: arguments.resume, world: context.world, log: context.log)
        if context.world.isRoot {
            if reportTo == .tensorboard { try ScoringEvents.write(stats, run: arguments.out) }
            print(stats.summary)
        }
    }
}

/// `xtf mask`: new masks from stored scores, without scoring again.
struct Mask: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute masks, outputs and stats.json of a scored run with other rule settings.")

    @Argument(help: "Run directory written by `xtf score`.")
    var runDirectory: String

    @OptionGroup(title: "Masking") var masking: MaskArguments
    @Option(help: "none | tensorboard: also write the new statistics to RUN/tensorboard/ (an event file per masking).")
    var reportTo: ReportTarget = .none
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let rules = try masking.settings()
        let context = try ClusterContext(global, label: "xtf.mask")
        let stats = try MaskStage.run(directory: runDirectory, settings: rules, world: context.world, log: context.log)
        if context.world.isRoot {
            if reportTo == .tensorboard { try ScoringEvents.write(stats, run: runDirectory) }
            print(stats.summary)
        }
    }
}
