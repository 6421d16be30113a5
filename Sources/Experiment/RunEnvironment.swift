import Cluster
import Foundation
import Kernels

/// What a job runs on: versions, and each rank's host, pid, BLAS threads and CPUs
/// (`xtf info`, and environment.json of `xtf run`).
public struct RunEnvironment: Codable, Sendable {
    public struct RankFacts: Codable, Sendable {
        public let rank: Int
        public let host: String
        public let pid: Int32
        public let blasThreads: Int
        public let cpus: String
    }

    public let xtfVersion: String
    public let build: String
    public let mpiLibrary: String
    public let mpiStandard: String
    public let threadLevelRequested: String
    public let threadLevelProvided: String
    public let openblasConfig: String
    public let openblasCore: String
    public let openblasParallelism: String
    public let ranks: [RankFacts]

    /// What this job runs on: versions, and each rank's host, pid, BLAS threads and CPUs.
    /// Collective; the report on rank 0, nil elsewhere.
    public static func gather(_ world: Communicator) throws -> RunEnvironment? {
        let facts = RankFacts(rank: world.rank, host: world.hostName, pid: getpid(),
                              blasThreads: BLAS.threadCount, cpus: allowedCPUs())
        guard let ranks = try world.gather(value: facts) else { return nil }
        return RunEnvironment(
            xtfVersion: Build.version, build: Build.configuration,
            mpiLibrary: MPIRuntime.libraryVersion, mpiStandard: MPIRuntime.standardVersion,
            threadLevelRequested: ThreadLevel.multiple.description,
            threadLevelProvided: MPIRuntime.threadLevel.description,
            openblasConfig: BLAS.buildConfig.trimmingCharacters(in: .whitespaces),
            openblasCore: BLAS.coreName, openblasParallelism: BLAS.parallelism, ranks: ranks)
    }
}

/// The CPUs this process may run on, as Linux lists them (mpirun binds each rank to a core).
func allowedCPUs() -> String {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return "?" }
    let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
    return line.map { $0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces) } ?? "?"
}

