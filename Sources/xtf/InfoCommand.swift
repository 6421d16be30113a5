import ArgumentParser
import Cluster
import Foundation
import Kernels

/// `xtf info`: what this job runs on. Every rank reports its own facts; rank 0 prints them once.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print ranks, hosts, MPI library and thread level, OpenBLAS core and threads, build.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    struct RankFacts: Codable {
        let rank: Int
        let host: String
        let pid: Int32
        let blasThreads: Int
        let cpus: String
    }

    struct Report: Codable {
        let xtfVersion: String
        let build: String
        let mpiLibrary: String
        let mpiStandard: String
        let threadLevelRequested: String
        let threadLevelProvided: String
        let openblasConfig: String
        let openblasCore: String
        let openblasParallelism: String
        let ranks: [RankFacts]
    }

    /// What this job runs on: versions, and each rank's host, pid, BLAS threads and CPUs.
    /// Collective; the report on rank 0, nil elsewhere.
    static func gather(_ world: Communicator) throws -> Report? {
        let facts = RankFacts(rank: world.rank, host: world.hostName, pid: getpid(),
                              blasThreads: BLAS.threadCount, cpus: allowedCPUs())
        guard let ranks = try world.gather(value: facts) else { return nil }
        return Report(
            xtfVersion: XTF.version, build: buildConfiguration,
            mpiLibrary: MPIRuntime.libraryVersion, mpiStandard: MPIRuntime.standardVersion,
            threadLevelRequested: ThreadLevel.multiple.description,
            threadLevelProvided: MPIRuntime.threadLevel.description,
            openblasConfig: BLAS.buildConfig.trimmingCharacters(in: .whitespaces),
            openblasCore: BLAS.coreName, openblasParallelism: BLAS.parallelism, ranks: ranks)
    }

    func run() throws {
        let context = try ClusterContext(global, label: "xtf.info")
        guard let report = try Self.gather(context.world) else { return }
        let ranks = report.ranks
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let hosts = Set(ranks.map(\.host))
        print("xtf \(report.xtfVersion) (\(report.build) build)")
        print("world:    \(ranks.count) rank(s) on \(hosts.count) host(s): \(hosts.sorted().joined(separator: ", "))")
        print("MPI:      \(report.mpiLibrary) (MPI \(report.mpiStandard)); thread level \(report.threadLevelProvided) (asked \(report.threadLevelRequested))")
        print("OpenBLAS: \(report.openblasConfig); core \(report.openblasCore); \(report.openblasParallelism)")
        print("rank  host                  pid      blas-threads  cpus")
        for r in ranks {
            print(pad(String(r.rank), 6) + pad(r.host, 22) + pad(String(r.pid), 9) + pad(String(r.blasThreads), 14) + r.cpus)
        }
    }
}

/// The CPUs this process may run on, as Linux lists them (mpirun binds each rank to a core).
func allowedCPUs() -> String {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return "?" }
    let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
    return line.map { $0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces) } ?? "?"
}

/// Left-aligns `text` in a column of `width` characters.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
