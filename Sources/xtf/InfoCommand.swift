import ArgumentParser
import CommandOptions
import Cluster
import Foundation
import Experiment

/// `xtf info`: what this job runs on. Every rank reports its own facts; rank 0 prints them once.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print ranks, hosts, MPI library and thread level, OpenBLAS core and threads, build.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let context = try ClusterContext(global, label: "xtf.info")
        guard let report = try RunEnvironment.gather(context.world) else { return }
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

/// Left-aligns `text` in a column of `width` characters.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
