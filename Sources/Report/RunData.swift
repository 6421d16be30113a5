import Foundation
import GroundTruth
import Pipeline
import Scoring

/// What the report shows, read from a run directory: an `xtf run` directory (run.json,
/// score/, arms/, report.json) or a scoring run (`xtf score --out`). Only the files that
/// exist are read; stats.json and manifest.json of the scoring run are required.
public struct RunData {
    public let root: String
    public let scoreDirectory: String
    public let stats: RunStats
    public let manifest: Manifest
    /// The resolved configuration of an `xtf run` (run.json), as written.
    public let runConfiguration: String?
    /// settings.json and mask-settings.json of the scoring run, as written.
    public let scoreSettings: String?
    public let maskSettingsText: String?
    public let comparison: [ComparisonRow]
    public let arms: [Arm]
    public let detection: DetectionReport?
    /// Files of the whole run with their checksums (OUT/manifest.json of `xtf run`, else the
    /// scoring run's outputs).
    public let files: [FileRecord]
    public let samples: SampleSelection

    /// A row of report.json: one trained arm, or the base model ("base").
    public struct ComparisonRow: Codable, Sendable {
        public var arm: String
        public var mask: String
        public var steps: Int
        public var tokens: Int
        public var finalLoss: Double?
        public var metricName: String?
        public var metric: Double?
    }

    /// One training arm's per-step log (arms/NAME/train/losses.jsonl).
    public struct Arm: Sendable {
        public let name: String
        public let steps: [Step]
    }

    public struct Step: Sendable {
        public let step: Double
        public let loss: Double
        public let validationLoss: Double?
        /// Seconds; nil in logs written before they were recorded.
        public let compute: Double?
        public let exposedCommunication: Double?
        public let communication: Double?
        public let optimizer: Double?
    }

    public init(root: String, maxSamples: Int) throws {
        let fm = FileManager.default
        func path(_ parts: String...) -> String { parts.reduce(root) { ($0 as NSString).appendingPathComponent($1) } }
        func text(_ path: String) -> String? { fm.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }
        func decode<T: Decodable>(_ type: T.Type, _ file: String) throws -> T {
            guard let data = fm.contents(atPath: file) else { throw ReportError.missing(path: file) }
            do { return try JSONDecoder().decode(T.self, from: data) } catch { throw ReportError.unreadable(path: file, reason: "\(error)") }
        }

        self.root = root
        let isRun = fm.fileExists(atPath: path("run.json"))
        scoreDirectory = isRun ? path("score") : root
        let layout = RunLayout(scoreDirectory)
        guard fm.fileExists(atPath: layout.stats) else {
            throw ReportError.missing(path: layout.stats)
        }
        stats = try decode(RunStats.self, layout.stats)
        manifest = try decode(Manifest.self, layout.manifest)
        runConfiguration = isRun ? text(path("run.json")) : nil
        scoreSettings = text(layout.settings)
        maskSettingsText = text(layout.maskSettings)
        let comparison = fm.fileExists(atPath: path("report.json")) ? try decode([ComparisonRow].self, path("report.json")) : []
        self.comparison = comparison
        detection = fm.fileExists(atPath: path("detection.json")) ? try decode(DetectionReport.self, path("detection.json")) : nil
        files = isRun && fm.fileExists(atPath: path("manifest.json")) ? try decode([FileRecord].self, path("manifest.json")) : manifest.outputs

        // Arms in the comparison's order, then any others found on disk.
        let onDisk = ((try? fm.contentsOfDirectory(atPath: path("arms"))) ?? []).sorted()
        let names = comparison.map(\.arm).filter(onDisk.contains) + onDisk.filter { name in !comparison.contains { $0.arm == name } }
        arms = try names.compactMap { name in
            let file = path("arms", name, "train", "losses.jsonl")
            guard fm.fileExists(atPath: file) else { return nil }
            return Arm(name: name, steps: try Self.steps(file))
        }
        samples = try SampleSelection(tokensFile: layout.path("tokens.jsonl"), maxSamples: maxSamples,
                                      settings: stats.report.settings)
    }

    static func steps(_ file: String) throws -> [Step] {
        guard let data = FileManager.default.contents(atPath: file) else { throw ReportError.missing(path: file) }
        var steps: [Step] = []
        for (n, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let step = (o["step"] as? NSNumber)?.doubleValue, let loss = (o["loss"] as? NSNumber)?.doubleValue else {
                throw ReportError.unreadable(path: file, reason: "line \(n + 1): expected {\"step\", \"loss\", ...}")
            }
            func value(_ key: String) -> Double? { (o[key] as? NSNumber)?.doubleValue }
            steps.append(Step(step: step, loss: loss, validationLoss: value("validation_loss"), compute: value("compute"),
                              exposedCommunication: value("exposed_communication"), communication: value("communication"),
                              optimizer: value("optimizer")))
        }
        return steps
    }
}

/// The samples the browser holds. A large run is not inlined whole: the browser gets the
/// most masked half of `maxSamples` and an evenly spaced sample of the rest, and says so.
public struct SampleSelection {
    public struct Sample {
        public let index: Int
        public let record: TokenRecord
        public let maskRatio: Double
        /// The sample's RI fence (Q1 - k IQR, on RI or log RI as the settings say); nil when
        /// it has too few RI values.
        public let riFence: Double?
    }

    public let total: Int
    public let chosen: [Sample]
    /// Median over all samples of the per-sample RI fence (on the RI scale), for the histogram.
    public let medianRIFence: Double?

    init(tokensFile: String, maxSamples: Int, settings: MaskSettings) throws {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: tokensFile), options: .alwaysMapped) else {
            throw ReportError.missing(path: tokensFile)
        }
        let lines = data.split(separator: UInt8(ascii: "\n"))
        let decoder = JSONDecoder()
        func record(_ n: Int) throws -> TokenRecord {
            do { return try decoder.decode(TokenRecord.self, from: Data(lines[n])) } catch {
                throw ReportError.unreadable(path: tokensFile, reason: "line \(n + 1): \(error)")
            }
        }
        func fence(_ r: TokenRecord) -> Double? {
            let ri = r.ri.map { $0 ?? .nan }
            let values = settings.riFence == .logIQR ? Rules.logRI(ri) : ri
            guard let bound = Rules.riLowerBound(values, k: settings.kIQR) else { return nil }
            return settings.riFence == .logIQR ? exp(bound) : bound
        }
        // Pass 1: every sample's mask ratio and fence.
        var ratios: [Double] = [], fences: [Double] = []
        ratios.reserveCapacity(lines.count)
        for n in lines.indices {
            let r = try record(n)
            ratios.append(r.flags.isEmpty ? 0 : Double(r.flags.filter { !$0.isEmpty }.count) / Double(r.flags.count))
            if let f = fence(r) { fences.append(f) }
        }
        total = lines.count
        fences.sort()
        medianRIFence = fences.isEmpty ? nil : fences[fences.count / 2]
        // Which samples: all, or the most masked half and an even spread of the others.
        var picked: [Int]
        if lines.count <= maxSamples {
            picked = Array(lines.indices)
        } else {
            let top = Array(lines.indices.sorted { ratios[$0] > ratios[$1] || (ratios[$0] == ratios[$1] && $0 < $1) }.prefix(maxSamples / 2))
            let taken = Set(top)
            let rest = lines.indices.filter { !taken.contains($0) }
            let want = maxSamples - top.count
            let spread = (0..<want).map { rest[$0 * rest.count / want] }
            picked = (top + spread).sorted()
        }
        chosen = try picked.map { n in
            let r = try record(n)
            return Sample(index: n, record: r, maskRatio: ratios[n], riFence: fence(r))
        }
    }
}

public enum ReportError: Error, CustomStringConvertible {
    case missing(path: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missing(path): return "\(path): missing (is this a run directory of `xtf run` or `xtf score`, and did it finish?)"
        case let .unreadable(path, reason): return "\(path): cannot be read: \(reason)"
        }
    }
}
