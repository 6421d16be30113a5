import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// swift-log handler for a job of many ranks: normal output (info and below) from rank 0
/// only, so a 64-rank job prints one progress stream; warnings and errors from every rank,
/// prefixed with the rank that saw them. Everything goes to stderr; stdout is for results.
public struct RankLogHandler: LogHandler {
    /// text: one readable line per event; json: one JSON object per line, for machines.
    public enum Format: String, Sendable, CaseIterable { case text, json }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let rank: Int
    let size: Int
    let format: Format

    public init(label: String, rank: Int, size: Int, level: Logger.Level = .info, format: Format = .text) {
        self.label = label
        self.rank = rank
        self.size = size
        self.logLevel = level
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let isProblem = event.level >= .warning
        guard rank == 0 || isProblem else { return }
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        if format == .json {
            var object: [String: String] = ["level": event.level.rawValue, "rank": String(rank), "label": label, "message": "\(event.message)"]
            for (key, value) in merged { object[key] = "\(value)" }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let data = try? encoder.encode(object) { writeToStandardError(String(decoding: data, as: UTF8.self) + "\n") }
            return
        }
        var line = ""
        if isProblem { line += size > 1 ? "[rank \(rank)] \(event.level): " : "\(event.level): " }
        line += "\(event.message)"
        if !merged.isEmpty {
            line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        line += "\n"
        // One write call per line, so lines of different ranks do not interleave mid-line.
        writeToStandardError(line)
    }

    /// Installs the handler for the process (once, after the communicator is known).
    /// Installs the handler; later calls do nothing (swift-log allows one bootstrap per
    /// process, and `xtf run` runs several stages in one).
    public static func bootstrap(rank: Int, size: Int, level: Logger.Level, format: Format = .text) {
        bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in RankLogHandler(label: label, rank: rank, size: size, level: level, format: format) }
        }
    }

    private static let bootstrapped = Mutex(false)
}

/// Writes `text` to stderr in one write(2), so lines of concurrent ranks stay whole.
public func writeToStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}
