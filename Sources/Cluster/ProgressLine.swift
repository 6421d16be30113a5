import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How long jobs report progress on rank 0's stderr (process-wide, set once from the
/// command line like logging): a line redrawn in place on a terminal, a plain line every
/// `interval` seconds otherwise (mpirun's output is a pipe), one JSON object per line for
/// machines, or nothing (`--quiet`).
public enum ProgressStyle: Sendable, Equatable {
    case off
    case redraw
    case lines(interval: Double)
    case json(interval: Double)

    /// The style for a process: --quiet wins; JSON when logs are JSON; else a terminal redraws.
    public static func choose(quiet: Bool, json: Bool, interval: Double = 10) -> ProgressStyle {
        if quiet { return .off }
        if json { return .json(interval: interval) }
        return isatty(STDERR_FILENO) != 0 ? .redraw : .lines(interval: interval)
    }
}

/// One stage's progress: done/total, tokens per second, elapsed time and time left. Rank 0
/// prints; every rank keeps its RankStatus. Thread-safe (the scoring coordinator
/// reports from its own thread).
public final class ProgressLine: Sendable {
    public static let style = Mutex<ProgressStyle>(.lines(interval: 10))

    let stage: String
    let unit: String
    let total: Int
    /// Units done before this process started (a resumed run): not counted in the rate.
    let alreadyDone: Int
    let enabled: Bool
    let rank: Int
    let style: ProgressStyle
    let started: Double
    private struct State { var lastPrint = -Double.infinity; var done = 0; var printedRedraw = false }
    private let state = Mutex(State())

    /// - Parameters:
    ///   - stage: what runs ("score", "train", "eval").
    ///   - total: how many `unit`s the stage does in all.
    ///   - alreadyDone: how many of them a resumed run finished before.
    public init(stage: String, unit: String, total: Int, alreadyDone: Int = 0, rank: Int) {
        self.stage = stage
        self.unit = unit
        self.total = total
        self.alreadyDone = alreadyDone
        self.style = Self.style.withLock { $0 }
        self.enabled = rank == 0 && style != .off
        self.started = Communicator.wallTime()
        self.rank = rank
        RankStatus.record(rank: rank, stage: stage, done: alreadyDone, total: total, unit: unit)
    }

    /// `done` units finished so far, `tokens` processed so far; `detail` is appended to a text
    /// line; `metrics` (loss, lr, ...) are numbers in a JSON line and "name value" in text.
    public func update(done: Int, tokens: Int, detail: String? = nil, metrics: KeyValuePairs<String, Double> = [:]) {
        RankStatus.record(rank: rank, stage: stage, done: done, total: total, unit: unit)
        guard enabled else { return }
        let now = Communicator.wallTime()
        let text: String? = state.withLock { s in
            s.done = done
            let final = done >= total
            switch style {
            case .off: return nil
            case .redraw:
                guard final || now - s.lastPrint >= 0.1 else { return nil }
                s.lastPrint = now; s.printedRedraw = true
                return "\r\u{1B}[2K" + line(done: done, tokens: tokens, elapsed: now - started, detail: Self.text(detail, metrics)) + (final ? "\n" : "")
            case let .lines(interval):
                guard final || now - s.lastPrint >= interval else { return nil }
                s.lastPrint = now
                return line(done: done, tokens: tokens, elapsed: now - started, detail: Self.text(detail, metrics)) + "\n"
            case let .json(interval):
                guard final || now - s.lastPrint >= interval else { return nil }
                s.lastPrint = now
                return json(done: done, tokens: tokens, elapsed: now - started, detail: detail, metrics: metrics) + "\n"
            }
        }
        if let text { writeToStandardError(text) }
    }

    /// `detail`, or the metrics as "name value" (formatted only when a line is printed).
    static func text(_ detail: String?, _ metrics: KeyValuePairs<String, Double>) -> String? {
        detail ?? (metrics.isEmpty ? nil : metrics.map { "\($0.key) \(String(format: "%.4g", $0.value))" }.joined(separator: ", "))
    }

    /// Ends a redrawn line that did not reach its total (a stage stopped early).
    public func finish() {
        guard enabled else { return }
        let open = state.withLock { s in s.printedRedraw && s.done < total }
        if open { writeToStandardError("\n") }
    }

    func rates(done: Int, tokens: Int, elapsed: Double) -> (tokensPerSecond: Double, left: Double?) {
        let perSecond = elapsed > 0 ? Double(tokens) / elapsed : 0
        let fresh = done - alreadyDone
        let left = fresh > 0 && done < total ? elapsed / Double(fresh) * Double(total - done) : (done >= total ? 0 : nil)
        return (perSecond, left)
    }

    func line(done: Int, tokens: Int, elapsed: Double, detail: String?) -> String {
        let (perSecond, left) = rates(done: done, tokens: tokens, elapsed: elapsed)
        let percent = total > 0 ? 100 * Double(done) / Double(total) : 100
        var text = "\(stage): \(done)/\(total) \(unit) (\(String(format: "%.0f", percent))%)"
        if let detail { text += ", \(detail)" }
        text += ", \(String(format: "%.0f", perSecond)) tokens/s, \(Self.duration(elapsed)) elapsed"
        if let left { text += done >= total ? "" : ", ~\(Self.duration(left)) left" }
        return text
    }

    func json(done: Int, tokens: Int, elapsed: Double, detail: String?, metrics: KeyValuePairs<String, Double> = [:]) -> String {
        let (perSecond, left) = rates(done: done, tokens: tokens, elapsed: elapsed)
        var fields = ["\"event\":\"progress\"", "\"stage\":\"\(stage)\"", "\"unit\":\"\(unit)\"", "\"done\":\(done)", "\"total\":\(total)",
                      "\"tokens\":\(tokens)", "\"tokens_per_s\":\(String(format: "%.1f", perSecond))",
                      "\"elapsed_s\":\(String(format: "%.1f", elapsed))"]
        if let left { fields.append("\"left_s\":\(String(format: "%.1f", left))") }
        if let detail, let quoted = try? JSONEncoder().encode(detail) { fields.append("\"detail\":" + String(decoding: quoted, as: UTF8.self)) }
        for (name, value) in metrics { fields.append("\"\(name)\":" + (value.isFinite ? "\(value)" : "null")) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// "45 s", "3m05s", "2h07m".
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}
