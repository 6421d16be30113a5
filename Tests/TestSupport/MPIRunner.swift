import Foundation
import XCTest

/// Launches the built `xtf` (or the test bench, `xtf-testbench`, with the test-only commands)
/// under mpirun (through scripts/xtf-mpirun, the launcher users run) with a cleaned
/// environment and a timeout, as the multi-rank tests need.
public enum MPIRunner {
    public struct Result {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// The xtf binary of the same build as this test bundle (or $XTF_BIN).
    public static let xtfBinary: URL = {
        if let path = ProcessInfo.processInfo.environment["XTF_BIN"] { return URL(fileURLWithPath: path) }
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundleDir.appendingPathComponent("xtf")
    }()

    /// The test bench of the same build: collectives, the stand-in pipeline, killed runs.
    public static let testbenchBinary: URL = xtfBinary.deletingLastPathComponent().appendingPathComponent("xtf-testbench")

    /// The environment for a child mpirun: this process's, minus what a process that ran MPI
    /// itself carries (OMPI_/PMIX_/ORTE_/OPAL_), which would make mpirun's children fail silently.
    public static var cleanEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "ORTE_", "OPAL_"].contains { key.hasPrefix($0) }
        }
    }

    /// How ranks are placed: all on this host (shared memory), or one per network-namespace
    /// host of cluster/netns-hosts.sh, talking over TCP.
    public enum Placement: Sendable {
        case localHost
        case namespaceHosts

        var launcher: String {
            self == .localHost ? "scripts/xtf-mpirun" : "cluster/netns-run.sh"
        }
    }

    /// Why namespace hosts cannot be made here, or nil when they can (root and iproute2).
    public static let namespaceHostsUnavailable: String? = {
        guard getuid() == 0 else { return "creating network namespaces needs root" }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip") else {
            return "iproute2's ip command is not installed"
        }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/bin/sh")
        probe.arguments = ["-c", "ip netns add xtf-probe && ip netns del xtf-probe"]
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch { return "cannot run ip: \(error)" }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? nil : "ip netns add failed (no permission to create namespaces here)"
    }()

    /// Runs `xtf arguments...` (or `binary arguments...`) on `ranks` ranks; kills the job after `timeout` seconds.
    /// `environment` is added to the job's; `whileRunning` is called every 20 ms until the job
    /// ends (to watch its files, or to kill one of its ranks).
    public static func run(ranks: Int, _ arguments: [String], placement: Placement = .localHost,
                           timeout: TimeInterval = 180, environment extra: [String: String] = [:],
                           whileRunning: (() -> Void)? = nil, binary: URL = xtfBinary,
                           file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            XCTFail("\(binary.lastPathComponent) is not built at \(binary.path)", file: file, line: line)
            return Result(status: -1, stdout: "", stderr: "")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("xtf-mpirun-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)

        let process = Process()
        process.executableURL = TestPaths.packageRoot.appendingPathComponent(placement.launcher)
        process.arguments = ["-np", String(ranks)] + arguments
        var environment = cleanEnvironment
        environment["XTF_BIN"] = binary.path
        environment.merge(extra) { $1 }
        process.environment = environment
        // Files, not pipes: a chatty job cannot block on a full pipe while we wait.
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()

        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline {
            whileRunning?()
            usleep(20_000)
        }
        if process.isRunning {
            process.terminate()
            usleep(500_000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            XCTFail("mpirun -np \(ranks) \(arguments.joined(separator: " ")) timed out after \(Int(timeout)) s",
                    file: file, line: line)
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
