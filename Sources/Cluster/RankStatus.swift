import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where this rank is in the job, for the launcher's message when a rank dies. A rank
/// killed by a signal (the OOM killer, a node failure, `kill -9`) cannot say anything
/// itself, and mpirun only knows its number; so with `XTF_STATUS_DIR` set (scripts/xtf-mpirun
/// sets it) every rank keeps `DIR/rank-N`, a few `key value` lines naming its host, pid,
/// stage and progress, replaced whole (write, then rename) when the stage changes and at most
/// every half second as it advances. No fsync: the status is a courtesy that must cost
/// nothing (a shared file system included), and a directory the rank cannot write to
/// (another host without a shared file system) is not an error.
public enum RankStatus {
    static let directory: String? = ProcessInfo.processInfo.environment["XTF_STATUS_DIR"].flatMap { $0.isEmpty ? nil : $0 }
    static let interval = 0.5
    private struct Last { var stage = ""; var written = -Double.infinity }
    private static let last = Mutex(Last())

    /// Records that `rank` is in `stage` (e.g. "score", "train"), with `done` of `total` `unit`s.
    public static func record(rank: Int, stage: String, done: Int? = nil, total: Int? = nil, unit: String? = nil) {
        guard let directory else { return }
        let now = Communicator.wallTime()
        let due = last.withLock { l in
            guard l.stage != stage || now - l.written >= interval || (done != nil && done == total) else { return false }
            l = Last(stage: stage, written: now)
            return true
        }
        guard due else { return }
        var lines = ["rank \(rank)", "host \(ProcessInfo.processInfo.hostName)", "pid \(getpid())", "stage \(stage)"]
        if let done, let total { lines.append("progress \(done)/\(total)" + (unit.map { " \($0)" } ?? "")) }
        let path = (directory as NSString).appendingPathComponent("rank-\(rank)")
        guard FileManager.default.createFile(atPath: path + ".tmp", contents: Data((lines.joined(separator: "\n") + "\n").utf8)) else { return }
        rename(path + ".tmp", path)
    }
}
