import Artifacts
import Foundation

/// The kinds of run an output directory can hold, each known by files its command writes.
public enum RunKind: String, CaseIterable, Sendable {
    case scoring = "an xtf score run"
    case training = "an xtf train run"
    case job = "an xtf run directory"

    /// Whether a directory entry called `name` belongs to this kind of run.
    func marks(_ name: String) -> Bool {
        switch self {
        case .scoring: return ["settings.json", "progress.jsonl", "scores"].contains(name)
        case .training: return ["train-settings.json", "losses.jsonl"].contains(name) || name.hasPrefix("checkpoint-")
        case .job: return ["run.json", "arms"].contains(name)
        }
    }
}

/// An output directory (--out) and the file that records which run it belongs to. A command
/// writes into it only when it is new, or holds a run of the same kind that `--resume`
/// continues with the same settings: two runs' outputs are never mixed. A refusal names the
/// directory and what differs.
public struct OutputDirectory: Sendable {
    public let path: String
    public let kind: RunKind
    /// Where the run's settings are saved (inside `path`).
    public let settingsFile: String

    public init(_ path: String, kind: RunKind, settingsFile name: String) {
        self.path = path
        self.kind = kind
        settingsFile = (path as NSString).appendingPathComponent(name)
    }

    /// The entries of the directory that belong to runs of `kind`.
    func entries(of kind: RunKind) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter(kind.marks).sorted()
    }

    /// Takes the directory's lock for the rest of this process: a second writer, in this
    /// directory at the same time, is refused naming the one that has it.
    public func lock() throws {
        try Self.lock(path, purpose: "writing \(kind.rawValue)")
    }

    /// Takes `folder`'s lock for the rest of this process (any folder xtf writes into, such
    /// as `xtf eval`'s), refusing it in the project's words while another process has it.
    public static func lock(_ folder: String, purpose: String) throws {
        do { try DirectoryLock.acquire(folder, purpose: purpose) } catch let held as DirectoryLock.Held {
            throw PipelineError.runMismatch(path: folder, reason: "in use by another xtf process (\(held.holder)); one writer at a time: wait for it, or choose another --out")
        }
    }

    /// Deletes the temporary files (AtomicFile's `NAME.tmp-PID-N`) a killed writer left anywhere
    /// under the directory. Only with the lock held: then no writer is making any of them.
    public func removeOrphanedTemporaryFiles() throws {
        let fm = FileManager.default
        guard let names = fm.enumerator(atPath: path) else { return }
        var orphans: [String] = []
        for case let name as String in names where (name as NSString).lastPathComponent.contains(".tmp-") { orphans.append(name) }
        for name in orphans { try fm.removeItem(atPath: (path as NSString).appendingPathComponent(name)) }
    }

    /// Refuses an --out that is a symbolic link (the run would be written wherever it points)
    /// or that lies inside another run's directory (a run's files are its record; `xtf run`
    /// writes its stages inside its own directory, whose lock this process holds).
    public func refuseSymlinkAndNesting() throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) != nil {
            throw PipelineError.runMismatch(path: path, reason: "is a symbolic link: give the directory it points to as --out")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw PipelineError.runMismatch(path: path, reason: "is a file, not a directory: --out names the run's directory")
        }
        var ancestors: [URL] = []
        var ancestor = url.resolvingSymlinksInPath().deletingLastPathComponent()
        while ancestor.path != "/" && !ancestor.path.isEmpty {
            ancestors.append(ancestor)
            ancestor = ancestor.deletingLastPathComponent()
        }
        // Inside a run this process is writing: its own stages.
        if ancestors.contains(where: { DirectoryLock.holds($0.path) }) { return }
        if let run = ancestors.first(where: Self.holdsRun) {
            throw PipelineError.runMismatch(path: path, reason: "is inside the xtf run \(run.path): choose an --out outside it")
        }
    }

    /// Whether `folder` holds an xtf run, known by the files its command writes (not by a lock
    /// file: `xtf eval` locks any folder it writes into).
    static func holdsRun(_ folder: URL) -> Bool {
        let names = Set((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        return names.contains("run.json") || names.contains("train-settings.json")
            || (names.contains("settings.json") && (names.contains("scores") || names.contains("progress.jsonl")))
    }

    /// The sub-folders this kind of run writes into.
    public var writtenFolders: [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        switch kind {
        case .scoring: return ["scores", "masks", "parts"]
        case .training: return entries.filter { $0.hasPrefix("checkpoint-") } + ["tensorboard"]
        case .job: return ["arms", "score"]
        }
    }

    /// Refuses sub-folders that are symbolic links among `names`: the run would write wherever
    /// they point (a run directory holds its own files).
    public func refuseSymlinkedFolders(_ names: [String]) throws {
        for name in names {
            let sub = (path as NSString).appendingPathComponent(name)
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: sub) {
                throw PipelineError.runMismatch(path: sub, reason: "is a symbolic link (to \(target)): a run writes only into folders of its own")
            }
        }
    }

    /// Refuses a directory holding the outputs of another kind of run.
    public func refuseOtherKinds() throws {
        for other in RunKind.allCases where other != kind {
            let found = entries(of: other)
            guard found.isEmpty else {
                throw PipelineError.runMismatch(path: path, reason: "holds \(other.rawValue) (\(Self.list(found))), not \(kind.rawValue): choose another --out")
            }
        }
    }

    /// Checks that a run with `settings` may write here and returns whether it continues one:
    /// a directory without outputs is new; one with this kind's outputs needs `resume`, and
    /// its saved settings must equal these once `comparable` drops what a resume may change.
    public func check<S: Codable & Equatable>(settings: S, resume: Bool, comparable: (S) -> S = { $0 }) throws -> Bool {
        try refuseSymlinkAndNesting()
        try lock()
        try refuseSymlinkedFolders(writtenFolders)
        // A writer killed before its first file was complete left only temporary files.
        try removeOrphanedTemporaryFiles()
        try refuseOtherKinds()
        let own = entries(of: kind)
        if own.isEmpty {
            // A new run writes only into a new or empty folder: never over the user's files.
            let other = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0 != DirectoryLock.fileName }.sorted()
            guard other.isEmpty else {
                throw PipelineError.runMismatch(path: path, reason: "holds files that are not an xtf run (\(Self.list(other))): choose a new or empty --out")
            }
            return false
        }
        guard resume else {
            throw PipelineError.runMismatch(path: path, reason: "already holds \(kind.rawValue) (\(Self.list(own))); pass --resume to continue it, or choose another --out")
        }
        // Without the settings file (outputs of an older xtf) there is nothing to compare.
        guard FileManager.default.fileExists(atPath: settingsFile) else { return true }
        let saved: S
        do { saved = try JSONFiles.read(S.self, from: settingsFile) } catch ArtifactError.unreadable(_, _, let reason) {
            throw PipelineError.corruptRun(path: settingsFile, reason: "cannot be read: \(reason)")
        }
        let differences = settingsDifferences(comparable(saved), comparable(settings))
        guard differences.isEmpty else {
            throw PipelineError.runMismatch(path: settingsFile, reason: "was written by another run (\(differences.joined(separator: "; "))); --resume continues only the same run: choose another --out")
        }
        return true
    }

    /// Saves the settings of the run now writing here.
    public func record<S: Encodable>(_ settings: S) throws {
        try AtomicFile.writeJSON(settings, to: settingsFile)
    }

    static func list(_ names: [String]) -> String {
        names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", ..." : "")
    }
}

/// What differs between two values of one Codable type, as `key: was X, now Y` with nested
/// keys joined by dots (under `prefix`), in key order; empty when they encode alike.
public func settingsDifferences<T: Encodable>(_ saved: T, _ current: T, prefix: String = "") -> [String] {
    settingsChanges(saved, current, prefix: prefix).map { "\($0.key): was \($0.was), now \($0.now)" }
}

/// The differences of `settingsDifferences`, each as its key and the two values as JSON.
public func settingsChanges<T: Encodable>(_ saved: T, _ current: T, prefix: String = "") -> [(key: String, was: String, now: String)] {
    func flat(_ value: T) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ v: Any, _ key: String) {
            if let object = v as? [String: Any] {
                for (k, child) in object { walk(child, key.isEmpty ? k : "\(key).\(k)") }
            } else {
                let data = try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
                out[key] = data.map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
            }
        }
        if let data = try? JSONEncoder().encode(value), let object = try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) {
            walk(object, prefix)
        }
        return out
    }
    let a = flat(saved), b = flat(current)
    return Set(a.keys).union(b.keys).sorted().compactMap { key in
        a[key] == b[key] ? nil : (key, a[key] ?? "unset", b[key] ?? "unset")
    }
}
