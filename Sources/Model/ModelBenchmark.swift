import Artifacts
import Foundation
import Kernels
import Randomness

/// `xtf bench model`: scoring and training throughput of a random-weight model, as a fraction
/// of the gemm ceiling measured in the same run. With several ranks, rates and seconds are the
/// whole batch's (a timed section lasts until the slowest rank ends it), ceilings and peak
/// memory the ranks' sums; what is one rank's says so.
public struct ModelBenchmarkResult: Codable, Sendable {
    public var config: String
    /// LoRA rank,alpha,modules of the training steps (nil: full fine-tuning).
    public var lora: String?
    /// `mapped` when a checkpoint's weights were widened a layer at a time (nil: fp32).
    public var weights: WeightStorage?
    public var batch: Int
    public var sequenceLength: Int
    /// Ranks the batch was shared by (each ran its slice of the sequences).
    public var ranks: Int
    /// OpenBLAS threads of each rank.
    public var blasThreads: Int
    public var parameters: Int
    public var scoringTokensPerSecond: Double
    public var trainingTokensPerSecond: Double
    /// Model FLOPs (matmuls incl. attention, PaLM convention) per second.
    public var scoringGFLOPS: Double
    public var trainingGFLOPS: Double
    /// Plain cblas_sgemm GFLOP/s at n = ceilingSize, summed over the ranks (sampled by all at
    /// once): median of samples taken between the timed runs.
    public var gemmCeilingGFLOPS: Double
    public var ceilingSize: Int
    public var scoringMFU: Double { scoringGFLOPS / gemmCeilingGFLOPS }
    public var trainingMFU: Double { trainingGFLOPS / gemmCeilingGFLOPS }
    /// Peak resident set size, summed over the ranks.
    public var peakRSSMiB: Double
    /// Rank 0's activation arenas and work buffers after the last training step
    /// (`Transformer.workingMemoryBytes`): the part of its memory that grows with its share of
    /// the batch and the sequence length, beside the weights, gradients and AdamW's moments.
    public var workingMemoryMiB: Double
    /// Rank 0's resident memory after each training step (flat after step 2 when nothing leaks).
    public var rssPerStepMiB: [Double]
    /// The whole batch's loss at each training step, the untimed warm-up (step 0) first: the
    /// same for any number of ranks, up to the order of the gradients' sums.
    public var trainingLosses: [Double]
    public var scoringSeconds: [Double]
    public var trainingSeconds: [Double]
    /// Rank 0's seconds per timed training step in its three phases (medians).
    public var trainingPhases: TrainingPhases
}

/// Where a training step's time goes on one rank.
public struct TrainingPhases: Codable, Sendable {
    /// Zeroing the gradients, forward and backward.
    public var passes: Double
    /// The gradients' sum across ranks: blocking all-reduces after the backward (`xtf train`
    /// overlaps them with the backward in buckets), waiting for the slowest rank included.
    public var gradientSum: Double
    /// AdamW.
    public var optimizer: Double
}

public enum ModelBenchmark {
    /// Batch shape of each named configuration (config files: 8 x 256).
    public static func batchShape(_ name: String) -> (batch: Int, length: Int) {
        name == "gpt2-124M" ? (4, 256) : (8, 256)
    }

    /// Matmul FLOPs of a forward per token (2 per multiply-add): the linear layers plus QK^T
    /// and PV over the full T x T (PaLM's MFU convention); the head counted separately.
    public static func forwardFLOPsPerToken(_ c: ModelConfig, length: Int) -> Double {
        let linear = Double(c.hiddenSize * c.qkvDim + c.qDim * c.hiddenSize + c.hiddenSize * c.upDim + c.intermediateSize * c.hiddenSize)
        return Double(c.layers) * (2 * linear + 4 * Double(length) * Double(c.qDim))
    }

    /// `configName`: a benchmark name or a config.json (`ModelConfig.named`), random weights;
    /// or `checkpoint`, a model directory loaded with its weights as `storage` says (mapped:
    /// widened a layer at a time, as `xtf score --weights mapped` runs). `shape` overrides the
    /// batch and length; with `lora` the training steps train adapters on a frozen base.
    public static func run(configName: String, checkpoint: URL? = nil, storage: WeightStorage = .fp32,
                           shape: (batch: Int, length: Int)? = nil, lora: LoRAConfig? = nil,
                           scoringRepetitions: Int = 3, trainingSteps: Int = 3,
                           maskedFraction: Double = 0.3, headChunkRows: Int? = nil, peers: any BenchmarkPeers = SingleProcess(),
                           progress: (String) -> Void = { _ in }) throws -> ModelBenchmarkResult {
        // Checked, then loaded, on every rank; a refusal on any ends all of them with its error.
        // Two steps, so no rank reads the free memory after another has taken its share.
        let (config, B, T) = try peers.allSucceed { () throws -> (ModelConfig, Int, Int) in
            let config = try checkpoint.map { try ModelConfig(directory: $0) } ?? ModelConfig.named(configName)
            guard storage == .fp32 || lora != nil else {
                throw ModelError.invalidValue(key: "weights", detail: "mapped weights are frozen: the training steps need LoRA adapters")
            }
            guard storage == .fp32 || checkpoint != nil else {
                throw ModelError.invalidValue(key: "weights", detail: "mapped weights are read from a checkpoint: give its directory")
            }
            let (B, T) = shape ?? batchShape(configName)
            guard B >= 1, T >= 2, T <= config.maxPositions else {
                throw ModelError.invalidValue(key: "shape", detail: "batch \(B) x length \(T): need batch >= 1 and 2 <= length <= \(config.maxPositions)")
            }
            guard B >= peers.count else {
                throw ModelError.invalidValue(key: "batch", detail: "batch \(B) over \(peers.count) ranks: each rank needs at least one sequence")
            }
            // fp32 weights, and for full fine-tuning their gradients and AdamW's two moments: refuse
            // what cannot fit before allocating it (the allocator's failure is a crash).
            let architecture = ArchitectureLayout(config)
            let parameterCount = architecture.layout.count
            // Every rank on a host holds its own copy.
            let needed = Double(parameterCount) * 4 * (lora == nil ? 4 : 1) * Double(peers.countOnThisHost)
            if storage == .fp32, let available = availableMemoryBytes(), needed > available {
                let what = (lora == nil ? "weights, gradients and two AdamW moments" : "weights")
                    + (peers.countOnThisHost > 1 ? ", for each of \(peers.countOnThisHost) ranks on this host" : "")
                throw ModelError.invalidValue(key: "config", detail: "\(parameterCount) parameters need "
                    + String(format: "%.1f GiB in fp32 (\(what)); %.1f GiB are available", needed / 1_073_741_824, available / 1_073_741_824))
            }
            // Modules the adapters would not find, before the scoring repetitions rather than after.
            if let lora { _ = try LoRAAdapters.targetedModules(lora, in: architecture) }
            return (config, B, T)
        }
        let model = try peers.allSucceed {
            try checkpoint.map { try Transformer.load(directory: $0, weights: storage) } ?? Transformer(config: config, seed: 1)
        }
        if let headChunkRows { model.headChunkRows = headChunkRows }
        var rng = SeededRandom(seed: 2)
        let sequences = (0..<B).map { _ in (0..<T).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) } }
        let nextTargets = ForwardRequest.nextTokenTargets(sequences)
        let tokens = Double(B * T)
        // Every rank draws the whole batch (same seeds) and runs its contiguous slice of it.
        let mine = (B * peers.rank / peers.count)..<(B * (peers.rank + 1) / peers.count)
        let local = Array(sequences[mine]), localTargets = Array(nextTargets[mine])
        /// Seconds of `body` on the slowest rank, all ranks starting together.
        func timed(_ body: () throws -> Void) throws -> Double {
            try peers.barrier()
            let t0 = monotonicSeconds()
            try body()
            return try peers.maximum(monotonicSeconds() - t0)
        }

        // Scoring: next-token log-probs at every position and attention received (last layer).
        let scoreRequest = ForwardRequest(targets: localTargets, attentionReceived: AttentionReceivedRequest(layers: .last))
        _ = try model.forward(local, scoreRequest)  // warm-up: arenas, page faults
        // The ceiling is sampled after every timed rep and step, so load from other processes
        // on a shared machine hits the model and the ceiling alike.
        let ceilingSize = 1024
        var ceilings: [Double] = []
        // The ranks sample it at once, as they run the model.
        func sampleCeiling() throws {
            ceilings.append(try peers.sum(GemmBenchmark.run(n: ceilingSize, repetitions: 1, minSeconds: 0.1).ceilingGFLOPS))
        }
        var scoring: [Double] = []
        for i in 0..<scoringRepetitions {
            scoring.append(try timed { _ = try model.forward(local, scoreRequest) })
            try sampleCeiling()
            progress(String(format: "scoring rep %d: %.3f s", i + 1, scoring.last!))
        }

        // Training: 30% of positions masked, mean loss over the whole batch's rest (each rank's
        // weights divided by the global count), backward, gradients summed over ranks, AdamW.
        var weights = sequences.map { $0.map { _ in Float(rng.uniform() < Float(maskedFraction) ? 0 : 1) } }
        for b in 0..<B { weights[b][T - 1] = 0 }
        let unmasked = Float(weights.joined().reduce(0, +))
        weights = weights.map { $0.map { $0 / unmasked } }
        if let lora { try model.enableLoRA(lora, seed: 3) } else { model.enableGradients() }
        // Each rank updates its own slice of the parameters and shares it, as the trainer does.
        let shards = OptimizerShards(count: model.trainableParameters.count, ranks: peers.count)
        let optimizer = AdamW(parameterCount: model.trainableParameters.count, shard: shards.ranges[peers.rank])
        let localWeights = Array(weights[mine])
        var training: [Double] = [], rss: [Double] = [], losses: [Double] = [], phases: [TrainingPhases] = []
        for step in 0...trainingSteps {  // step 0 is the warm-up
            var partial: Float = 0
            var phase = TrainingPhases(passes: 0, gradientSum: 0, optimizer: 0)
            let dt = try timed {
                var t = monotonicSeconds()
                func lap() -> Double { let now = monotonicSeconds(); defer { t = now }; return now - t }
                model.zeroGradients()
                partial = try model.accumulateGradients(local, targets: localTargets, weights: localWeights)
                phase.passes = lap()
                try peers.sum(model.trainableGradients.buffer)
                phase.gradientSum = lap()
                optimizer.step(model.trainableParameters, model.trainableGradients)
                try peers.allgather(inPlace: model.trainableParameters.buffer, slices: shards.ranges)
                phase.optimizer = lap()
            }
            if step > 0 { phases.append(phase) }
            let loss = try peers.sum(Double(partial))
            losses.append(loss)
            rss.append(currentRSSMiB())
            if step > 0 { training.append(dt); try sampleCeiling() }
            progress(String(format: "training step %d: %.3f s, loss %.4f, rss %.1f MiB", step, dt, loss, rss.last!))
        }

        let ceiling = median(ceilings)
        let perToken = forwardFLOPsPerToken(config, length: T)
        let head = 2 * Double(config.hiddenSize * config.vocabSize)
        let scoredRows = Double(B * (T - 1))
        let trainedRows = Double(weights.joined().filter { $0 != 0 }.count)
        let scoreFLOPs = perToken * tokens + head * scoredRows
        // Full fine-tuning: forward + backward for inputs and weights (x3). LoRA: the frozen base's
        // weight gradients are not computed (x2, adapters' own matmuls left out).
        let trainFLOPs = (lora == nil ? 3 : 2) * (perToken * tokens + head * trainedRows)
        let scoreTime = median(scoring), trainTime = median(training)
        return ModelBenchmarkResult(
            config: configName, lora: lora.map { "\($0.rank),\(Int($0.alpha)),\($0.targetModules.joined(separator: "+"))" }, weights: storage == .mapped ? .mapped : nil, batch: B, sequenceLength: T, ranks: peers.count, blasThreads: BLAS.threadCount, parameters: model.parameters.count,
            scoringTokensPerSecond: tokens / scoreTime, trainingTokensPerSecond: tokens / trainTime,
            scoringGFLOPS: scoreFLOPs / scoreTime / 1e9, trainingGFLOPS: trainFLOPs / trainTime / 1e9,
            gemmCeilingGFLOPS: ceiling, ceilingSize: ceilingSize, peakRSSMiB: try peers.sum(peakRSSMiB()),
            workingMemoryMiB: Double(model.workingMemoryBytes) / 1_048_576, rssPerStepMiB: rss,
            trainingLosses: losses, scoringSeconds: scoring, trainingSeconds: training,
            trainingPhases: TrainingPhases(passes: median(phases.map(\.passes)), gradientSum: median(phases.map(\.gradientSum)),
                                           optimizer: median(phases.map(\.optimizer))))
    }

    /// MemAvailable of /proc/meminfo in bytes (nil where there is none).
    static func availableMemoryBytes() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kib * 1024
    }

    /// Resident set size now (from /proc/self/statm).
    public static func currentRSSMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return .nan }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return .nan }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    /// Peak resident set size of the process (getrusage, KiB on Linux).
    public static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
