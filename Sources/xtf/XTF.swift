import ArgumentParser
import CommandOptions
import Experiment

/// `xtf`: explainable token-level noise filtering and masked fine-tuning across MPI ranks.
struct XTF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xtf",
        abstract: "Find token-level noise in fine-tuning data and fine-tune on what remains, across MPI ranks.",
        discussion: "Launch under mpirun (see scripts/xtf-mpirun) for several ranks; without mpirun xtf runs as one rank.",
        version: Build.version,
        subcommands: [Run.self, Score.self, Mask.self, Train.self, Eval.self, Export.self, Info.self, Tokenize.self, ModelCommand.self,
                      GroundTruthCommand.self, Inspect.self, ReportCommand.self, Bench.self]
    )
}
