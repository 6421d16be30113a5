import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where generated code runs (HumanEval): inside bubblewrap, which sees only the system's
/// /usr and its own folder, both read-only, a fresh /proc and /dev, and a small /tmp in
/// memory; no network, no host sockets, no /etc or home; its own pid namespace, so killing
/// it at the timeout kills every process it started, orphans included. It runs as an
/// unprivileged user (nobody, when xtf is root) under limits on address space, CPU time,
/// threads, file size and open files. The address-space limit is per process, so the total
/// is bounded only by the thread allowance times it (no cgroup here). Without bubblewrap, evaluation
/// stops unless the user accepts running the code unsandboxed.
public struct CodeSandbox: Sendable {
    public enum Kind: String, Codable, Sendable { case bubblewrap, none }

    public let kind: Kind
    public var limits = Limits()

    /// `make(allowUnsandboxed:)` chooses; tests name the kind.
    public init(kind: Kind) { self.kind = kind }

    public struct Limits: Sendable {
        public init() {}
        public var addressSpaceBytes = 1 << 30
        public var fileSizeBytes = 16 << 20
        /// The size of each writable folder in memory (/tmp, /dev/shm).
        public var temporaryBytes = 16 << 20
        /// Processes (threads: the kernel counts those) the sandboxed user may have beyond those
        /// it already has. A HumanEval program needs one.
        public var processes = 8
        public var openFiles = 256
    }

    /// The system's Python: the sandbox binds only /usr, so a Python elsewhere (pyenv, a venv) is not seen.
    static let python = "/usr/bin/python3"
    static let nobody: UInt32 = 65534

    /// bubblewrap when it works here; otherwise `none` if `allowUnsandboxed`, else an error
    /// saying how to get one.
    public static func make(allowUnsandboxed: Bool) throws -> CodeSandbox {
        if let reason = bubblewrapProblem {
            guard allowUnsandboxed else { throw EvaluationError.noSandbox(reason: reason) }
            return CodeSandbox(kind: .none)
        }
        return CodeSandbox(kind: .bubblewrap)
    }

    /// Why bubblewrap cannot run code here, or nil when it can (checked once).
    public static let bubblewrapProblem: String? = {
        for tool in ["/usr/bin/bwrap", "/usr/bin/prlimit", "/usr/bin/setpriv", python] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (apt install bubblewrap util-linux python3)"
        }
        let probe = CodeSandbox(kind: .bubblewrap)
        do {
            let outcome = try probe.run(["-c", "pass"], folder: FileManager.default.temporaryDirectory, timeout: 30)
            return outcome == .passed ? nil : "bubblewrap could not start a process here (user namespaces disabled?)"
        } catch {
            return "bubblewrap could not start: \(error)"
        }
    }()

    public enum Outcome: Equatable, Sendable { case passed, failed, timedOut }

    /// Runs a Python program in a new folder of its own; `.passed` when it exits 0 within
    /// `timeout` seconds. `label` is put in the program's environment (XTF_SANDBOX_RUN), so
    /// its processes can be found.
    public func runPython(_ program: String, timeout: Double, label: String = UUID().uuidString) throws -> Outcome {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("xtf-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try program.write(to: folder.appendingPathComponent("program.py"), atomically: true, encoding: .utf8)
        if kind == .bubblewrap, getuid() == 0 { chown(folder.path, Self.nobody, Self.nobody) }
        return try run(["-I", kind == .bubblewrap ? "/sandbox/program.py" : folder.appendingPathComponent("program.py").path],
                       folder: folder, timeout: timeout, label: label)
    }

    /// The command line: [setpriv to nobody when root] prlimit ... bwrap ... python3 ARGS.
    func command(_ arguments: [String], folder: URL, timeout: Double, label: String) -> [String] {
        guard kind == .bubblewrap else { return ["/usr/bin/env", "python3"] + arguments }
        let root = getuid() == 0
        var line: [String] = []
        if root { line += ["/usr/bin/setpriv", "--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", "--inh-caps=-all"] }
        // RLIMIT_NPROC counts every thread of the user, so allow the ones it has now and N more.
        // Counted for each program, not once: the user's threads (and the finished sandboxes
        // not yet reaped) change while an evaluation runs.
        let processes = Self.threadCount(uid: root ? Self.nobody : getuid()) + limits.processes
        line += ["/usr/bin/prlimit", "--as=\(limits.addressSpaceBytes)", "--cpu=\(Int(timeout.rounded(.up)) + 1)",
                 "--nproc=\(processes)", "--fsize=\(limits.fileSizeBytes)", "--nofile=\(limits.openFiles)", "--core=0", "--"]
        line += ["/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session",
                 "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                 "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
                 // /tmp and /dev/shm in memory, each bounded (a count of small files would not be).
                 "--proc", "/proc", "--dev", "/dev", "--size", String(limits.temporaryBytes), "--tmpfs", "/tmp",
                 "--size", String(limits.temporaryBytes), "--tmpfs", "/dev/shm",
                 "--ro-bind", folder.path, "/sandbox", "--chdir", "/sandbox",
                 "--clearenv", "--setenv", "PATH", "/usr/bin", "--setenv", "HOME", "/tmp", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
                 "--setenv", "XTF_SANDBOX_RUN", label,
                 Self.python]
        return line + arguments
    }

    func run(_ arguments: [String], folder: URL, timeout: Double, label: String = UUID().uuidString) throws -> Outcome {
        let line = command(arguments, folder: folder, timeout: timeout, label: label)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: line[0])
        p.arguments = Array(line.dropFirst())
        p.currentDirectoryURL = folder
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(5_000) }
        guard p.isRunning else { return p.terminationStatus == 0 && p.terminationReason == .exit ? .passed : .failed }
        // The sandbox's first process dies, and with it its pid namespace: every process the
        // program started, whatever session or group it moved to.
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        return .timedOut
    }

    /// The threads of the user's processes (what RLIMIT_NPROC counts).
    static func threadCount(uid: UInt32) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var count = 0
        for entry in entries where entry.allSatisfy(\.isNumber) {
            guard let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8) else { continue }
            let fields = status.split(separator: "\n")
            func value(_ key: String) -> Substring? {
                fields.first { $0.hasPrefix(key) }?.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first
            }
            if value("Uid:") == Substring(String(uid)) { count += Int(value("Threads:") ?? "1") ?? 1 }
        }
        return count
    }
}
