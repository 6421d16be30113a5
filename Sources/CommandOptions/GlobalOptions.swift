import ArgumentParser
import Cluster
import Foundation
import Logging

/// Options every command shares.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: Logger.Level = .info

    @Option(help: "text, or json: log events and progress as one JSON object per line.")
    public var logFormat: RankLogHandler.Format = .text

    @Flag(help: "No progress lines and no informational messages: warnings and errors only.")
    public var quiet = false

    public init() {}
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension RankLogHandler.Format: ExpressibleByArgument {}

/// The world communicator with logging installed: what every distributed command starts from.
public struct ClusterContext {
    public let world: Communicator
    public let log: Logger
    let options: GlobalOptions

    public init(_ options: GlobalOptions, label: String) throws {
        self.options = options
        world = try Communicator.world()
        RankLogHandler.bootstrap(rank: world.rank, size: world.size, level: options.quiet ? max(options.logLevel, .warning) : options.logLevel,
                                 format: options.logFormat)
        ProgressLine.style.withLock { $0 = .choose(quiet: options.quiet, json: options.logFormat == .json) }
        log = Logger(label: label)
        // Until a stage's progress begins: loading the model, the tokenizer, the data.
        RankStatus.record(rank: world.rank, stage: "\(label.replacingOccurrences(of: ".", with: " ")) (setting up)")
    }

    /// Says on rank 0 which stage of a command starts (a `stage` event in JSON); nothing when quiet.
    public func announce(_ command: String, _ text: String) {
        guard world.isRoot, !options.quiet else { return }
        if options.logFormat == .json {
            let message = String(decoding: (try? JSONEncoder().encode(text)) ?? Data(), as: UTF8.self)
            writeToStandardError("{\"event\":\"stage\",\"message\":\(message)}\n")
        } else {
            writeToStandardError("\(command): \(text)\n")
        }
    }
}
