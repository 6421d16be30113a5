import ArgumentParser
import Artifacts
import CommandOptions
import Cluster
import Foundation
import Kernels
import Model

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

struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Scoring and training tokens/s of a model (random weights of a shape, or a checkpoint), and MFU against the gemm ceiling.",
        discussion: """
            Scoring: forward, next-token log-probs at every position, attention received. Training: \
            forward, loss with 30% of positions masked, backward, AdamW. MFU divides the model's matmul \
            FLOP/s by a plain cblas_sgemm (n=1024) measured in the same run. Configurations: \
            gpt2-small-bench (8x256), gpt2-124M (4x256), llama-bench (8x256), or any config.json \
            (8x256 unless --batch/--length), e.g. configs/models/; or --model DIR, a checkpoint, \
            whose weights --weights mapped leaves in the file (the widening timed with the passes). \
            Under mpirun the ranks share the batch (at least one sequence each), each running its \
            slice: a timed section lasts until the slowest rank ends it, the training step sums \
            the gradients across ranks in blocking all-reduces of up to 256 MiB after the backward \
            (xtf train overlaps them with the backward), and the ceiling and the peak RSS are the \
            ranks' sums (every rank's cblas_sgemm sampled at once).
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: BenchOutput

    @Option(help: "gpt2-small-bench (the default), gpt2-124M, llama-bench, or a Hugging Face config.json (a real model's shapes, e.g. configs/models/qwen3-0.6b.json): random weights.")
    var config: String?

    @Option(help: "A model directory instead of --config: its own weights, loaded as --weights says.")
    var model: String?

    @Option(help: "With --model: fp32 (read into fp32) or mapped (left in the file, widened a layer at a time; needs --lora).")
    var weights: WeightStorage = .fp32

    @Option(help: "Sequences per batch, shared by the ranks (default: the configuration's).")
    var batch: Int?

    @Option(help: "Tokens per sequence (default: the configuration's).")
    var length: Int?

    @Option(help: "Train LoRA adapters (rank,alpha,modules, e.g. 8,32,q_proj+v_proj) on the frozen base instead of every weight.")
    var lora: String?

    @Option(help: "Timed scoring forwards (median reported).")
    var repetitions = 3

    @Option(help: "Timed training steps (median reported; RSS printed per step).")
    var steps = 3

    @Option(help: "OpenBLAS threads per rank (default: OpenBLAS's own setting; 1 under scripts/xtf-mpirun).")
    var threads: Int?

    @Option(help: "Rows per LM-head chunk (default: the model's).")
    var headChunk: Int?

    @Flag(help: "Print each repetition and step.")
    var verbose = false

    func validate() throws {
        guard lora.map({ LoRAConfig(parsing: $0) != nil }) ?? true else {
            throw ValidationError("--lora takes rank,alpha,modules (e.g. 8,32,q_proj+v_proj), got \(lora!)")
        }
        guard config == nil || model == nil else { throw ValidationError("--config and --model: give one (a shape with random weights, or a checkpoint)") }
        guard weights == .fp32 || model != nil else { throw ValidationError("--weights mapped needs --model (the weights are read from its files)") }
    }

    func run() throws {
        let context = try ClusterContext(global, label: "xtf.bench.model")
        let world = context.world
        if let threads { BLAS.setThreadCount(threads) }
        let name = model ?? config ?? "gpt2-small-bench"
        let named = ModelBenchmark.batchShape(name)
        let shape = (batch ?? named.batch, length ?? named.length)
        let peers: any BenchmarkPeers = world.size > 1 ? try CommunicatorPeers(world: world) : SingleProcess()
        let r = try ModelBenchmark.run(configName: name, checkpoint: model.map { URL(fileURLWithPath: $0) }, storage: weights,
                                       shape: shape, lora: lora.flatMap(LoRAConfig.init(parsing:)),
                                       scoringRepetitions: max(1, repetitions), trainingSteps: max(1, steps), headChunkRows: headChunk,
                                       peers: peers,
                                       progress: { if verbose && world.isRoot { print($0); fflush(nil) } })  // long runs: see each step as it ends
        guard world.isRoot else { return }
        print("config \(r.config): batch \(r.batch)x\(r.sequenceLength), \(r.parameters) parameters, "
              + (r.ranks > 1 ? "\(r.ranks) ranks of \(r.blasThreads) OpenBLAS thread(s)" : "\(r.blasThreads) OpenBLAS thread(s)")
              + (r.lora.map { ", LoRA \($0)" } ?? "") + (r.weights == .mapped ? ", mapped weights" : ""))
        print(String(format: "scoring   %9.1f tok/s  %7.1f GFLOP/s  MFU %5.1f%% of gemm ceiling", r.scoringTokensPerSecond, r.scoringGFLOPS, 100 * r.scoringMFU))
        print(String(format: "training  %9.1f tok/s  %7.1f GFLOP/s  MFU %5.1f%% of gemm ceiling", r.trainingTokensPerSecond, r.trainingGFLOPS, 100 * r.trainingMFU))
        let phases = r.trainingPhases
        print(String(format: "training step: passes %.3f s, gradients' sum %.3f s, AdamW on its slice and sharing it %.3f s (rank 0, medians)",
                     phases.passes, phases.gradientSum, phases.optimizer))
        print(String(format: "gemm ceiling (cblas_sgemm n=%d) %.1f GFLOP/s; peak RSS %.1f MiB" + (r.ranks > 1 ? " (ranks summed)" : "")
                     + "; activations and work buffers %.1f MiB" + (r.ranks > 1 ? " (rank 0)" : ""),
                     r.ceilingSize, r.gemmCeilingGFLOPS, r.peakRSSMiB, r.workingMemoryMiB))
        let rss = r.rssPerStepMiB
        if rss.count > 2 {
            print(String(format: "RSS after step 2: %.1f MiB, after last step: %.1f MiB (growth %.1f MiB)", rss[2], rss.last!, rss.last! - rss[2])
                  + (r.ranks > 1 ? " (rank 0)" : ""))
        }
        try output.write(r)
    }
}

