import ArgumentParser
import Artifacts
import Foundation
import Pipeline
import Report
import Scoring

/// `xtf inspect`: one sample's response tokens with their scores and flags, in the terminal.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a sample's response tokens with their three scores and the rules that flagged them.",
        discussion: """
            RUN_DIR is a masked run (`xtf score`/`xtf mask`) or an `xtf run` directory (its score/ \
            stage). The text comes first, each flagged token marked (in colour on a terminal, else \
            as [token]{rules}), then one row per token: PCP (KN flags PCP > tau), RI, TR, flags.
            """)

    @Argument(help: "Run directory.") var runDirectory: String
    @Option(help: "Sample id as in tokens.jsonl (\"train.jsonl:12\"), or its line number in the data (12).") var sample: String
    @Option(help: "Colour: auto (on a terminal), always, never.") var color: ColorChoice = .auto

    enum ColorChoice: String, ExpressibleByArgument { case auto, always, never }

    func run() throws {
        let layout = try Self.layout(runDirectory)
        guard let record = try Self.find(sample, in: layout.tokens) else {
            throw ReportError.notFound(path: layout.tokens, what: "no sample \"\(sample)\"")
        }
        let settings = try? JSONFiles.read(MaskSettings.self, from: layout.maskSettings)
        let useColor = color == .always || (color == .auto && isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
        print(Self.render(record, settings: settings, color: useColor), terminator: "")
    }

    /// The run whose tokens.jsonl to read: RUN_DIR itself, or RUN_DIR/score for `xtf run`.
    static func layout(_ directory: String) throws -> RunLayout {
        if let layout = RunLayout.scoringRun(in: directory, holding: \.tokens) { return layout }
        throw ReportError.notFound(path: directory, what: "no tokens.jsonl here or in score/ (mask the run first: `xtf mask`)")
    }

    /// Scans tokens.jsonl for the sample (decoding only the matching line).
    static func find(_ wanted: String, in path: String) throws -> TokenRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportError.missing(path: path) }
        let byLine = Int(wanted) != nil
        for (n, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            // The id can come after long arrays (keys are sorted): look at the whole line.
            let probe = String(decoding: line, as: UTF8.self)
            guard byLine ? probe.contains(":\(wanted)\"") : probe.contains("\"\(wanted)\"") else { continue }
            do {
                let record = try JSONDecoder().decode(TokenRecord.self, from: Data(line))
                if record.id == wanted || (byLine && record.id.hasSuffix(":\(wanted)")) { return record }
            } catch {
                throw ReportError.unreadable(path: path, reason: "line \(n + 1): not a tokens.jsonl record (\(JSONFiles.describe(error))); a run cut short? mask it again with `xtf mask`")
            }
        }
        return nil
    }

    static func render(_ record: TokenRecord, settings: MaskSettings?, color: Bool) -> String {
        let flagged = record.flags.filter { !$0.isEmpty }.count
        var counts: [String: Int] = [:]
        for flag in record.flags where !flag.isEmpty { for rule in flag.split(separator: "+") { counts[String(rule), default: 0] += 1 } }
        var out = "\(record.id): \(record.tokens.count) response tokens, \(flagged) masked"
        if !counts.isEmpty { out += " (" + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")" }
        if let settings {
            out += String(format: "; tau-kn %.2f, k-iqr %.2f", settings.tauKN, settings.kIQR)
            if settings.riFence == .logIQR { out += " on log RI" }
        }
        out += "\n\n"
        // The text: control characters are shown escaped in tokens.jsonl; print "\n" as a line break.
        for (token, flag) in zip(record.tokens, record.flags) {
            let text = token.replacingOccurrences(of: "\\n", with: "\n")
            if flag.isEmpty { out += text }
            else if color { out += "\u{1B}[\(Self.colour(flag))m\(text)\u{1B}[0m" }
            else { out += "[\(text)]{\(flag)}" }
        }
        out += "\n\n" + "   #  token            PCP        RI        TR  flags\n"
        func number(_ v: Float?) -> String { v.map { String(format: "%9.4f", $0) } ?? "        -" }
        for i in record.tokens.indices {
            let shown = String(reflecting: record.tokens[i]).dropFirst().dropLast()
            out += String(format: "%4d  ", i) + String(shown).padding(toLength: 14, withPad: " ", startingAt: 0)
                + " \(number(record.pcp[i])) \(number(record.ri[i])) \(number(record.tr[i]))  \(record.flags[i])\n"
        }
        if color { out += "\ncolours: \u{1B}[\(colour("ri"))mri\u{1B}[0m \u{1B}[\(colour("kn"))mkn\u{1B}[0m \u{1B}[\(colour("tr"))mtr\u{1B}[0m \u{1B}[\(colour("kn+tr"))mseveral\u{1B}[0m\n" }
        return out
    }

    /// ANSI colours: one per rule, and one for tokens several rules flagged.
    static func colour(_ flag: String) -> String {
        switch flag {
        case "ri": return "1;35"
        case "kn": return "1;34"
        case "tr": return "1;33"
        default: return "1;31"
        }
    }
}
