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
        subcommands: [Run.self, Score.self, Mask.self, Train.self, Eval.self, Info.self, Tokenize.self, ModelCommand.self, GroundTruthCommand.self, Inspect.self, ReportCommand.self, Bench.self, SelfTest.self]
    )
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "text, or json: log events and progress as one JSON object per line.")
    var logFormat: RankLogHandler.Format = .text

    @Flag(help: "No progress lines and no informational messages: warnings and errors only.")
    var quiet = false

    /// The same options as arguments, for the commands `xtf run` invokes.
    var arguments: [String] { ["--log-level", logLevel.rawValue, "--log-format", logFormat.rawValue] + (quiet ? ["--quiet"] : []) }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension RankLogHandler.Format: ExpressibleByArgument {}

/// The world communicator with logging installed: what every distributed command starts from.
struct ClusterContext {
    let world: Communicator
    let log: Logger

    init(_ options: GlobalOptions, label: String) throws {
        world = try Communicator.world()
        RankLogHandler.bootstrap(rank: world.rank, size: world.size, level: options.quiet ? max(options.logLevel, .warning) : options.logLevel,
                                 format: options.logFormat)
        ProgressLine.style.withLock { $0 = .choose(quiet: options.quiet, json: options.logFormat == .json) }
        log = Logger(label: label)
        // Until a stage's progress begins: loading the model, the tokenizer, the data.
        RankStatus.record(rank: world.rank, stage: "\(label.replacingOccurrences(of: ".", with: " ")) (setting up)")
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
