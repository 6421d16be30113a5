import Artifacts
import Foundation
import GroundTruth
import RunFiles
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
    /// What the run ran on (environment.json of `xtf run`: versions, hosts, ranks), as written.
    public let environment: String?
    /// settings.json and mask-settings.json of the scoring run, as written.
    public let scoreSettings: String?
    public let maskSettingsText: String?
    public let comparison: ArmComparison
    public let arms: [Arm]
    public let detection: DetectionReport?
    /// Files of the whole run with their checksums (OUT/manifest.json of `xtf run`, else the
    /// scoring run's outputs).
    public let files: [FileRecord]
    public let samples: SampleSelection

    /// One training arm's per-step log (arms/NAME/train/losses.jsonl).
    public struct Arm: Sendable {
        public let name: String
        public let steps: [LossRecord]
    }

    public init(root: String, maxSamples: Int) throws {
        let fm = FileManager.default
        func path(_ parts: String...) -> String { parts.reduce(root) { ($0 as NSString).appendingPathComponent($1) } }
        func text(_ path: String) -> String? { fm.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }
        func decode<T: Decodable>(_ type: T.Type, _ file: String) throws -> T {
            guard fm.fileExists(atPath: file) else { throw ReportError.missing(path: file) }
            return try JSONFiles.read(T.self, from: file)
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
        environment = text(path("environment.json"))
        scoreSettings = text(layout.settings)
        maskSettingsText = text(layout.maskSettings)
        let comparison = fm.fileExists(atPath: path(ArmComparison.fileName)) ? try decode(ArmComparison.self, path(ArmComparison.fileName)) : ArmComparison(rows: [])
        self.comparison = comparison
        detection = fm.fileExists(atPath: path("detection.json")) ? try decode(DetectionReport.self, path("detection.json")) : nil
        files = isRun && fm.fileExists(atPath: path("manifest.json")) ? try decode([FileRecord].self, path("manifest.json")) : manifest.outputs

        // Arms in the comparison's order, then any others found on disk.
        let onDisk = ((try? fm.contentsOfDirectory(atPath: path("arms"))) ?? []).sorted()
        let names = comparison.rows.map(\.arm).filter(onDisk.contains) + onDisk.filter { name in !comparison.rows.contains { $0.arm == name } }
        arms = try names.compactMap { name in
            let file = path("arms", name, "train", LossRecord.fileName)
            guard fm.fileExists(atPath: file) else { return nil }
            return Arm(name: name, steps: try JSONFiles.readLines(LossRecord.self, from: file))
        }
        samples = try SampleSelection(tokensFile: layout.path("tokens.jsonl"), maxSamples: maxSamples,
                                      settings: stats.report.settings)
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
        // Line boundaries with memchr: Data.split checks exclusivity per byte (seconds on GSM8K).
        let lineRanges: [Range<Int>] = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Range<Int>] in
            guard let base = raw.baseAddress else { return [] }
            var out: [Range<Int>] = [], start = 0
            while start < raw.count {
                var end = raw.count
                if let found = memchr(base + start, 10, raw.count - start) { end = base.distance(to: UnsafeRawPointer(found)) }
                if end > start { out.append(start..<end) }
                start = end + 1
            }
            return out
        }
        let lines = lineRanges.map { data[$0] }
        let decoder = JSONDecoder()
        func record(_ n: Int) throws -> TokenRecord {
            do { return try decoder.decode(TokenRecord.self, from: Data(lines[n])) } catch {
                throw ReportError.unreadable(path: tokensFile, reason: "line \(n + 1): \(error)")
            }
        }
        /// What pass 1 needs of a record (decoding the rest would double the time).
        struct FlagsAndRI: Decodable { let flags: [String]; let ri: [Float?] }

        func fence(_ r: FlagsAndRI) -> Double? {
            let ri = r.ri.map { $0 ?? .nan }
            let values = settings.riFence == .logIQR ? Rules.logRI(ri) : ri
            guard let bound = Rules.riLowerBound(values, k: settings.kIQR) else { return nil }
            return settings.riFence == .logIQR ? exp(bound) : bound
        }
        // Pass 1: every sample's mask ratio and fence.
        var ratios: [Double] = [], fences: [Double] = []
        ratios.reserveCapacity(lines.count)
        for n in lines.indices {
            let r: FlagsAndRI
            if let fast = Self.scanFlagsAndRI(lines[n]) { r = FlagsAndRI(flags: fast.flags, ri: fast.ri) } else {
                do { r = try decoder.decode(FlagsAndRI.self, from: Data(lines[n])) } catch {
                    throw ReportError.unreadable(path: tokensFile, reason: "line \(n + 1): \(error)")
                }
            }
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
            return Sample(index: n, record: r, maskRatio: ratios[n], riFence: fence(FlagsAndRI(flags: r.flags, ri: r.ri)))
        }
    }
}

extension SampleSelection {
    /// The flags and RI of a tokens.jsonl line as xtf writes it (sorted keys: `{"flags":[...]`
    /// first, `,"ri":[...]` later), read without a JSON decoder: JSONDecoder takes seconds on
    /// a dataset's worth of lines. nil when the line is not in that shape (then it is decoded).
    public static func scanFlagsAndRI(_ line: Data.SubSequence) -> (flags: [String], ri: [Float?])? {
        let bytes = Array(line)
        let head = Array(#"{"flags":["#.utf8)
        guard bytes.count > head.count, Array(bytes[0..<head.count]) == head else { return nil }
        var flags: [String] = [], i = head.count
        while i < bytes.count, bytes[i] != UInt8(ascii: "]") {
            guard bytes[i] == UInt8(ascii: "\"") else { return nil }
            var j = i + 1
            while j < bytes.count, bytes[j] != UInt8(ascii: "\"") {
                if bytes[j] == UInt8(ascii: "\\") { return nil }
                j += 1
            }
            guard j < bytes.count else { return nil }
            flags.append(String(decoding: bytes[(i + 1)..<j], as: UTF8.self))
            i = j + 1
            if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1 }
        }
        // `,"ri":[` cannot occur inside a JSON string (its quotes would be escaped).
        let key = Array(#","ri":["#.utf8)
        var start: Int?
        var k = i
        while k + key.count <= bytes.count {
            if bytes[k] == key[0] {
                var m = 1
                while m < key.count, bytes[k + m] == key[m] { m += 1 }
                if m == key.count { start = k + key.count; break }
            }
            k += 1
        }
        guard let start else { return nil }
        var ri: [Float?] = []
        ri.reserveCapacity(flags.count)
        let ok: Bool = bytes.withUnsafeBufferPointer { buffer in
            var k = start
            while k < buffer.count, buffer[k] != UInt8(ascii: "]") {
                if buffer[k] == UInt8(ascii: "n") { ri.append(nil); k += 4 } else {
                    // strtof stops at the "," or "]" after the number.
                    var end: UnsafeMutablePointer<CChar>?
                    let p = UnsafeRawPointer(buffer.baseAddress! + k).assumingMemoryBound(to: CChar.self)
                    let v = strtof(p, &end)
                    guard let end, end > UnsafeMutablePointer(mutating: p) else { return false }
                    ri.append(v)
                    k += end - UnsafeMutablePointer(mutating: p)
                }
                if k < buffer.count, buffer[k] == UInt8(ascii: ",") { k += 1 }
            }
            return k < buffer.count
        }
        guard ok else { return nil }
        guard ri.count == flags.count else { return nil }
        return (flags, ri)
    }
}

public enum ReportError: Error, CustomStringConvertible {
    case missing(path: String)
    case unreadable(path: String, reason: String)
    /// The file or directory is there but does not hold what was asked for.
    case notFound(path: String, what: String)

    public var description: String {
        switch self {
        case let .missing(path): return "\(path): missing (is this a run directory of `xtf run` or `xtf score`, and did it finish?)"
        case let .unreadable(path, reason): return "\(path): cannot be read: \(reason)"
        case let .notFound(path, what): return "\(path): \(what)"
        }
    }
}
