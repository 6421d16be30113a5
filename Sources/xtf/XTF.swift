import ArgumentParser
import Cluster
import Logging

/// `xtf`: explainable token-level noise filtering and masked fine-tuning across MPI ranks.
struct XTF: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "xtf",
        abstract: "Find token-level noise in fine-tuning data and fine-tune on what remains, across MPI ranks.",
        discussion: "Launch under mpirun (see scripts/xtf-mpirun) for several ranks; without mpirun xtf runs as one rank.",
        version: version,
        subcommands: [Run.self, Score.self, Mask.self, Train.self, Eval.self, Info.self, Tokenize.self, ModelCommand.self, GroundTruthCommand.self, Inspect.self, Bench.self, SelfTest.self]
    )
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The world communicator with logging installed: what every distributed command starts from.
struct ClusterContext {
    let world: Communicator
    let log: Logger

    init(_ options: GlobalOptions, label: String) throws {
        world = try Communicator.world()
        RankLogHandler.bootstrap(rank: world.rank, size: world.size, level: options.logLevel)
        log = Logger(label: label)
    }
}

/// Debug or release, as compiled.
var buildConfiguration: String {
    #if DEBUG
    return "debug"
    #else
    return "release"
    #endif
}
