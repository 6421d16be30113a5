import ArgumentParser
import CommandOptions
import Cluster
import Foundation
import Kernels

/// `xtf bench ...`: speed measurements, each against a baseline measured in the same run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed: gemm against the plain cblas_sgemm ceiling, all-reduce bus bandwidth.",
        subcommands: [GemmBench.self, AllreduceBench.self, TokenizerBench.self, ModelBench.self])
}

/// Output shared by the benches: text on stdout, and optionally the numbers as JSON.
struct BenchOutput: ParsableArguments {
    @Option(help: "Also write the results as JSON to this file (rank 0).")
    var json: String?

    func write<T: Encodable>(_ value: T) throws {
        guard let json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: URL(fileURLWithPath: json), options: .atomic)
    }
}

struct GemmBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of Kernels.gemm on square matrices, as a fraction of a plain cblas_sgemm loop.",
        discussion: """
            Every rank runs the benchmark at the same time (as ranks do when they train); rank 0 \
            prints each rank's median. The ceiling is a plain cblas_sgemm call timed in the same \
            run, interleaved with the wrapper.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: BenchOutput

    @Option(parsing: .upToNextOption, help: "Matrix sizes n (n x n times n x n).")
    var sizes: [Int] = [128, 256, 512, 1024, 2048]

    @Option(help: "Timed repetitions per size (the median is reported).")
    var repetitions = 7

    @Option(help: "OpenBLAS threads per rank (default: OpenBLAS's own setting, OPENBLAS_NUM_THREADS).")
    var threads: Int?

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        guard sizes.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--sizes must be positive") }
    }

    struct RankResult: Codable {
        let rank: Int
        let blasThreads: Int
        let results: [GemmBenchmarkResult]
    }

    func run() throws {
        let context = try ClusterContext(global, label: "xtf.bench.gemm")
        let world = context.world
        if let threads { BLAS.setThreadCount(threads) }
        context.log.info("gemm: \(world.size) rank(s), \(BLAS.threadCount) OpenBLAS thread(s) each, \(repetitions) repetitions")
        try world.barrier()
        var results: [GemmBenchmarkResult] = []
        for n in sizes {
            results.append(GemmBenchmark.run(n: n, repetitions: repetitions))
            try world.barrier()  // start every size together, so ranks compete as in training
        }
        let mine = RankResult(rank: world.rank, blasThreads: BLAS.threadCount, results: results)
        guard let all = try world.gather(value: mine) else { return }
        print("     n  rank  ceiling GFLOP/s  wrapper GFLOP/s  wrapper/ceiling")
        for (i, n) in sizes.enumerated() {
            for r in all {
                let row = r.results[i]
                print(String(format: "%6d  %4d  %15.1f  %15.1f  %14.1f%%", n, r.rank,
                             row.ceilingGFLOPS, row.wrapperGFLOPS, 100 * row.fractionOfCeiling))
            }
        }
        try output.write(all)
    }
}

struct AllreduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Bus bandwidth of an in-place Float sum all-reduce across the ranks.",
        discussion: """
            Each repetition starts after a barrier; its time is the slowest rank's. Bus bandwidth \
            is bytes x 2(n-1)/n / time (the ring all-reduce's traffic per link, as NCCL reports it); \
            with one rank nothing crosses a link and only the time is meaningful.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: BenchOutput

    @Option(parsing: .upToNextOption, help: "Buffer sizes in MiB of Float.")
    var megabytes: [Int] = [1, 4, 16, 64]

    @Option(help: "Timed repetitions per size (the median is reported).")
    var repetitions = 20

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        guard megabytes.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--megabytes must be positive") }
    }

    struct Result: Codable {
        let megabytes: Int
        let ranks: Int
        let medianSeconds: Double
        let busGBps: Double
        let algorithmGBps: Double
    }

    func run() throws {
        let context = try ClusterContext(global, label: "xtf.bench.allreduce")
        let world = context.world
        context.log.info("allreduce: \(world.size) rank(s), \(repetitions) repetitions per size")
        var results: [Result] = []
        for mb in megabytes {
            let count = mb * 1024 * 1024 / MemoryLayout<Float>.size
            var buffer = [Float](repeating: 0, count: count)
            var times: [Double] = []
            try buffer.withUnsafeMutableBufferPointer { buf in
                try world.allreduce(buf, op: .sum)  // warm-up: connections, registration
                for _ in 0..<repetitions {
                    try world.barrier()
                    let start = Communicator.wallTime()
                    try world.allreduce(buf, op: .sum)
                    let elapsed = Communicator.wallTime() - start
                    times.append(try world.allreduce(elapsed, op: .max))
                }
            }
            let seconds = median(times)
            let bytes = Double(count * MemoryLayout<Float>.size)
            let n = Double(world.size)
            results.append(Result(megabytes: mb, ranks: world.size, medianSeconds: seconds,
                                  busGBps: bytes * 2 * (n - 1) / n / seconds / 1e9,
                                  algorithmGBps: bytes / seconds / 1e9))
        }
        guard world.isRoot else { return }
        print("  MiB  ranks   median ms   bus GB/s   alg GB/s")
        for r in results {
            print(String(format: "%5d  %5d  %10.3f  %9.2f  %9.2f", r.megabytes, r.ranks,
                         r.medianSeconds * 1e3, r.busGBps, r.algorithmGBps))
        }
        try output.write(results)
    }
}
