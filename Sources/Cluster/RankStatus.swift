import Foundation

/// Where this rank is in the job, for the launcher's message when a rank dies. A rank
/// killed by a signal (the OOM killer, a node failure, `kill -9`) cannot say anything
/// itself, and mpirun only knows its number; so with `XTF_STATUS_DIR` set (scripts/xtf-mpirun
/// sets it) every rank keeps `DIR/rank-N`, a few `key value` lines naming its host, pid,
/// stage and progress, replaced whole (write and rename) as the stage advances. Without the
/// variable nothing is written. A directory the rank cannot write to (another host without
/// a shared file system) is not an error: the status is a courtesy, never a reason to fail.
public enum RankStatus {
    static let directory: String? = ProcessInfo.processInfo.environment["XTF_STATUS_DIR"].flatMap { $0.isEmpty ? nil : $0 }

    /// Records that `rank` is in `stage` (e.g. "score", "train"), with `done` of `total` `unit`s.
    public static func record(rank: Int, stage: String, done: Int? = nil, total: Int? = nil, unit: String? = nil) {
        guard let directory else { return }
        var lines = ["rank \(rank)", "host \(ProcessInfo.processInfo.hostName)", "pid \(getpid())", "stage \(stage)"]
        if let done, let total { lines.append("progress \(done)/\(total)" + (unit.map { " \($0)" } ?? "")) }
        let text = lines.joined(separator: "\n") + "\n"
        try? Data(text.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent("rank-\(rank)"), options: .atomic)
    }
}
