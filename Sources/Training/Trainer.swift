import Cluster
import Foundation
import Logging
import Model
import Randomness

/// A sample as training sees it: token ids, and per position the label, Hugging Face
/// style: labels[t] is ids[t] when position t carries a loss (predicted from t-1), -100
/// otherwise (prompt tokens, masked tokens).
public struct TrainingSample: Sendable, Equatable {
    public let id: String
    public let ids: [Int32]
    public let labels: [Int32]

    public init(id: String, ids: [Int32], labels: [Int32]) throws {
        guard ids.count == labels.count else {
            throw TrainingError.invalidSample(id: id, reason: "\(ids.count) input_ids but \(labels.count) labels")
        }
        self.id = id; self.ids = ids; self.labels = labels
    }

    /// Next-token targets per position (-1 = no loss) and their weights (1 or 0).
    var targets: [Int32] { ids.indices.map { t in t + 1 < labels.count && labels[t + 1] >= 0 ? labels[t + 1] : -1 } }
    public var lossTokens: Int { labels.dropFirst().filter { $0 >= 0 }.count }
}

/// One optimiser step's record: the loss as defined in docs/METHOD.md (sum over all
/// unmasked tokens of the global batch / their global count) and where the time went.
public struct StepRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var loss: Double
    public var tokens: Int
    /// Tokens the model read in the step (all ranks), with or without a loss.
    public var inputTokens: Int
    public var learningRate: Double
    public var gradientNorm: Double
    public var validationLoss: Double?
    /// Seconds: forward+backward, communication not hidden behind it, and the optimiser (this
    /// rank's slice updated, then every slice shared).
    public var compute: Double
    public var exposedCommunication: Double
    public var communication: Double
    public var optimizer: Double
}

/// Data-parallel masked fine-tuning. Every rank holds the model and the sample list; step s
/// uses the same global batch whatever -np is (a seeded permutation per epoch), each rank a
/// share of its tokens (`BatchSplit`). Gradients are summed over the ranks in buckets,
/// with the unmasked-token count and the loss sum in the same collective, then divided by
/// the GLOBAL token count, clipped by the global norm, and applied with AdamW, each rank
/// updating its own slice of the parameters (`OptimizerShards`) and then sharing it.
public final class Trainer {
    public let model: Transformer
    public let settings: TrainSettings
    public let world: Communicator
    public let log: Logger
    public let checkpoints: CheckpointStore
    let optimizer: AdamW
    /// Which rank owns the moments and the update of which slice of the trainable parameters.
    let shards: OptimizerShards
    /// SLM (RHO-1): the reference model whose per-token loss the current one is compared with.
    let reference: Transformer?
    /// Sees each step's gradient after the all-reduce, scaling and clipping (tests compare it
    /// with a single-process computation).
    public var gradientObserver: ((Int, UnsafeBufferPointer<Float>) throws -> Void)?

    public init(model: Transformer, settings: TrainSettings, world: Communicator, log: Logger, out: String,
                reference: Transformer? = nil, companions: CheckpointCompanions? = nil) throws {
        try settings.validate()
        guard (reference == nil) == (settings.slmKeepFraction == nil) else {
            throw TrainingError.invalidSetting(field: "slm", reason: "SLM needs both a reference model and a keep fraction")
        }
        self.reference = reference
        self.model = model; self.settings = settings; self.world = world; self.log = log
        if let lora = settings.lora { try model.enableLoRA(lora, seed: settings.seed) }
        shards = OptimizerShards(count: model.trainableParameters.count, ranks: world.size)
        optimizer = AdamW(parameterCount: model.trainableParameters.count, learningRate: Float(settings.learningRate),
                          beta1: Float(settings.beta1), beta2: Float(settings.beta2), epsilon: Float(settings.epsilon),
                          weightDecay: Float(settings.weightDecay),
                          decayed: settings.decayedRanges(in: model.trainableParameters.layout), shard: shards.ranges[world.rank])
        checkpoints = CheckpointStore(directory: out, companions: companions)
    }

    /// Trains on `samples` (validating on `validation`), resuming from the newest complete
    /// checkpoint when asked. Collective. Returns every step's record.
    @discardableResult
    public func train(_ samples: [TrainingSample], validation: [TrainingSample] = [], resume: Bool = false,
                      timeline: ((StepRecord) -> Void)? = nil) throws -> [StepRecord] {
        guard !samples.isEmpty else { throw TrainingError.invalidSetting(field: "data", reason: "no training samples") }
        let stepsPerEpoch = (samples.count + settings.globalBatchSize - 1) / settings.globalBatchSize
        // Correct on any -np (the loss is divided by the global token count), but wasteful.
        let busy = min(settings.globalBatchSize, samples.count)
        if busy < world.size && world.isRoot {
            log.warning("only \(busy) of the \(world.size) ranks get samples in a step (global batch \(settings.globalBatchSize), \(samples.count) samples); the others wait")
        }
        let total = settings.maxSteps ?? settings.epochs * stepsPerEpoch
        var state = TrainerState()
        if resume, let saved = try checkpoints.newest() {
            // Each rank reads its own slice of the moments, so a bad one fails one rank: all stop together.
            state = try world.allSucceed { try checkpoints.load(saved, into: model, optimizer: optimizer, settings: settings) }
            log.info("resuming from \(saved) at step \(state.step) of \(total)")
        }
        let parameters = model.trainableParameters, gradients = model.trainableGradients
        let reducer = try GradientReducer(world: world, gradients: gradients.buffer, bucketBytes: settings.bucketBytes, extras: 3)
        let layers = LayerRanges(gradients.layout, layers: model.config.layers)
        defer { reducer.close() }
        var order: [Int] = [], orderEpoch = -1
        var records: [StepRecord] = []
        let progress = ProgressLine(stage: "train", unit: "steps", total: total, alreadyDone: state.step, rank: world.rank)
        defer { progress.finish() }
        var inputTokens = 0
        while state.step < total && !state.stopped {
            let step = state.step
            let epoch = step / stepsPerEpoch, k = step % stepsPerEpoch
            if epoch != orderEpoch { order = Self.permutation(samples.count, seed: settings.seed, epoch: epoch); orderEpoch = epoch }
            let batch = order[(k * settings.globalBatchSize)..<min(samples.count, (k + 1) * settings.globalBatchSize)]
            var mine = BatchSplit.mine(batch.map { samples[$0] }, tokens: \.ids.count, rank: world.rank, ranks: world.size)
            if let reference { mine = try selectByExcessLoss(mine, reference: reference) }

            // Forward and backward of this rank's slice, in micro-batches of packed sequences.
            let computeStart = Communicator.wallTime()
            gradients.zero()
            reducer.beginStep()
            var tokens = 0, lossSum: Float = 0
            let passes = Self.microBatches(mine, tokens: settings.microBatchTokens).filter { $0.contains { $0.lossTokens > 0 } }
            for (i, micro) in passes.enumerated() {
                let targets = micro.map(\.targets)
                // The last pass's gradients are final layer by layer: reduce them as they come.
                if i == passes.count - 1 { model.layerBackwardDone = { [layers] l in reducer.markReady(layers.ready(after: l)) } }
                defer { model.layerBackwardDone = nil }
                lossSum += try model.accumulateGradients(micro.map(\.ids), targets: targets,
                                                         weights: targets.map { $0.map { $0 >= 0 ? 1 : 0 } })
                tokens += micro.reduce(0) { $0 + $1.lossTokens }
            }
            if tokens > 0 { reducer.markReady(layers.first) }
            // The count and loss sum ride in the last bucket, which waits for them.
            reducer.setExtras([Float(tokens), lossSum, Float(mine.reduce(0) { $0 + $1.ids.count })])
            let compute = Communicator.wallTime() - computeStart
            let (sums, timing) = try reducer.finish()

            // The update: each rank its own slice, then every rank gets the others' slices.
            let optimizerStart = Communicator.wallTime()
            let globalTokens = Int(sums[0])
            let lr = settings.learningRate(at: step, of: total)
            var norm = 0.0
            if globalTokens > 0 {
                var scale = 1 / Float(globalTokens)
                norm = Self.scaledNorm(UnsafeBufferPointer(gradients.buffer), scale: scale)
                var clip = Self.clipFactor(norm: norm, maxNorm: settings.maxGradNorm)
                // The summed loss and the norm of the summed gradient are the same on every
                // rank, so every rank stops here together, before the update.
                if !sums[1].isFinite || !norm.isFinite {
                    try stopEveryRank(nonFiniteAt: step, localLoss: lossSum, localGradient: reducer.localGradientWasNonFinite)
                }
                if let gradientObserver {
                    // The observer sees the gradient the update uses, so it is written out.
                    for i in gradients.buffer.indices { gradients.buffer[i] = (gradients.buffer[i] * scale) * clip }
                    (scale, clip) = (1, 1)
                    try gradientObserver(step, UnsafeBufferPointer(gradients.buffer))
                }
                optimizer.learningRate = Float(lr)
                optimizer.step(parameters: parameters.buffer, gradients: UnsafeBufferPointer(gradients.buffer), scale: scale, clip: clip)
                try world.allgather(inPlace: parameters.buffer, slices: shards.ranges)
            } else {
                log.warning("step \(step): the global batch has no unmasked token; no update")
            }
            var record = StepRecord(step: step, loss: globalTokens > 0 ? Double(sums[1]) / Double(globalTokens) : 0,
                                    tokens: globalTokens, inputTokens: Int(sums[2]), learningRate: lr, gradientNorm: norm, validationLoss: nil,
                                    compute: compute, exposedCommunication: timing.exposed,
                                    communication: timing.communication, optimizer: Communicator.wallTime() - optimizerStart)
            state.step += 1
            if settings.evaluateEvery > 0, !validation.isEmpty, state.step % settings.evaluateEvery == 0 || state.step == total {
                let v = try validationLoss(validation)
                record.validationLoss = v
                state.observe(validation: v, patience: settings.earlyStoppingPatience)
                if state.stopped { log.info("early stopping at step \(state.step): validation loss has not improved for \(settings.earlyStoppingPatience) validations") }
            }
            state.losses.append(record.loss)
            state.tokens.append(record.tokens)
            records.append(record)
            timeline?(record)
            let validationText = record.validationLoss.map { " val \(String(format: "%.5f", $0))" } ?? ""
            inputTokens += record.inputTokens
            progress.update(done: state.step, tokens: inputTokens,
                            metrics: ["loss": record.loss, "lr": record.learningRate, "grad_norm": record.gradientNorm])
            log.debug("step \(state.step)/\(total) loss \(String(format: "%.5f", record.loss)) tokens \(globalTokens) lr \(String(format: "%.3g", lr))\(validationText)")
            if (settings.checkpointEvery > 0 && state.step % settings.checkpointEvery == 0) || state.step == total || state.stopped {
                try checkpoints.save(model: model, optimizer: optimizer, shards: shards, state: state, settings: settings, world: world)
            }
        }
        return records
    }

    /// Ends training on every rank after a step (0-based) whose loss or gradient is not finite:
    /// gathers which ranks' own loss or gradient was not finite, and rank 0 names them with the
    /// newest complete checkpoint. Collective; throws on every rank, so none is left waiting.
    func stopEveryRank(nonFiniteAt step: Int, localLoss: Float, localGradient: Bool) throws -> Never {
        let flags = try world.allgather([localLoss.isFinite ? 0 : 1, localGradient ? 1 : 0] as [Int32])
        func ranks(_ k: Int) -> [Int] { (0..<world.size).filter { flags[2 * $0 + k] != 0 } }
        _ = try world.decidedByRoot { () -> Bool in
            throw TrainingError.nonFinite(step: step + 1, lossRanks: ranks(0), gradientRanks: ranks(1),
                                          lastCheckpoint: try checkpoints.newest())
        }
        preconditionFailure("decidedByRoot returns only when its body does not throw")
    }

    /// SLM (RHO-1): keeps, over the whole global batch, the `slmKeepFraction` of tokens with
    /// the largest excess loss L_current - L_reference; the others lose their label. The
    /// excess values of every rank are gathered (a few thousand floats), so the cut is global.
    /// Collective.
    func selectByExcessLoss(_ samples: [TrainingSample], reference: Transformer) throws -> [TrainingSample] {
        var excess: [[Float]] = []
        for micro in Self.microBatches(samples, tokens: settings.microBatchTokens) {
            let request = ForwardRequest(targets: micro.map(\.targets))
            let current = try model.forward(micro.map(\.ids), request).targetLogProbs
            let base = try reference.forward(micro.map(\.ids), request).targetLogProbs
            for (b, s) in micro.enumerated() {
                excess.append(s.targets.indices.map { s.targets[$0] >= 0 ? base[b][$0] - current[b][$0] : -.infinity })
            }
        }
        let all = try world.allgatherv(excess.flatMap { $0.filter(\.isFinite) }).flatMap { $0 }
        guard !all.isEmpty, let fraction = settings.slmKeepFraction else { return samples }
        let keep = max(1, Int((Double(all.count) * fraction).rounded(.up)))
        let threshold = all.sorted(by: >)[keep - 1]
        return try zip(samples, excess).map { s, e in
            var labels = s.labels
            for t in e.indices where e[t].isFinite && e[t] < threshold { labels[t + 1] = -100 }
            return try TrainingSample(id: s.id, ids: s.ids, labels: labels)
        }
    }

    /// Mean loss over the unmasked tokens of `samples`, sharded over the ranks. Collective.
    public func validationLoss(_ samples: [TrainingSample]) throws -> Double {
        let mine = BatchSplit.mine(samples, tokens: \.ids.count, rank: world.rank, ranks: world.size)
        var sums: [Double] = [0, 0]
        for micro in Self.microBatches(mine, tokens: settings.microBatchTokens) {
            let result = try model.forward(micro.map(\.ids), ForwardRequest(targets: micro.map(\.targets)))
            for (b, s) in micro.enumerated() {
                for (t, target) in s.targets.enumerated() where target >= 0 {
                    sums[0] -= Double(result.targetLogProbs[b][t]); sums[1] += 1
                }
            }
        }
        try world.allreduce(&sums, op: .sum)
        return sums[1] > 0 ? sums[0] / sums[1] : 0
    }

    /// The norm of the gradient scaled by `scale` (each element rounded to Float, then summed
    /// in Double): read only, the update applies scale and clip in its own pass.
    static func scaledNorm(_ g: UnsafeBufferPointer<Float>, scale: Float) -> Double {
        var sumSquares = 0.0
        for x in g {
            let scaled = x * scale
            sumSquares += Double(scaled) * Double(scaled)
        }
        return sumSquares.squareRoot()
    }

    /// The factor that clips a gradient of `norm` to `maxNorm` (1 when it is within it).
    static func clipFactor(norm: Double, maxNorm: Double) -> Float {
        maxNorm > 0 && norm > maxNorm ? Float(maxNorm / (norm + 1e-6)) : 1
    }

    /// The epoch's sample order: a Fisher-Yates shuffle seeded by (seed, epoch), so any rank
    /// count and any resume point sees the same order.
    static func permutation(_ n: Int, seed: UInt64, epoch: Int) -> [Int] {
        var rng = SeededRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch) &+ 1)
        var order = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        return order
    }

    /// Consecutive samples packed into passes of at most `tokens` tokens (a longer sample
    /// goes alone). Sequences are packed without padding; attention stays within each one.
    static func microBatches(_ samples: [TrainingSample], tokens: Int) -> [[TrainingSample]] {
        var out: [[TrainingSample]] = [], current: [TrainingSample] = [], used = 0
        for s in samples {
            if !current.isEmpty && used + s.ids.count > tokens { out.append(current); current = []; used = 0 }
            current.append(s); used += s.ids.count
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}

/// Where each transformer layer's parameters sit in the trainable buffer, so the backward
/// can hand finished layers to the reducer: every element is marked ready exactly once.
struct LayerRanges {
    /// Per layer, the span of its tensors (layers are contiguous in both the model's and the
    /// LoRA adapters' layouts).
    let blocks: [Range<Int>]
    let count: Int

    init(_ layout: ParameterLayout, layers: Int) {
        var lower = [Int](repeating: .max, count: layers), upper = [Int](repeating: 0, count: layers)
        for e in layout.entries {
            guard let l = Self.layer(of: e.name), l < layers else { continue }
            lower[l] = min(lower[l], e.offset); upper[l] = max(upper[l], e.offset + e.count)
        }
        blocks = (0..<layers).map { lower[$0] <= upper[$0] ? lower[$0]..<upper[$0] : 0..<0 }
        count = layout.count
    }

    /// The layer index in an HF tensor name: "...h.3...." (GPT-2) or "...layers.3...." (Llama).
    static func layer(of name: String) -> Int? {
        let parts = name.split(separator: ".")
        for (i, p) in parts.enumerated().dropLast() where p == "h" || p == "layers" {
            if let l = Int(parts[i + 1]) { return l }
        }
        return nil
    }

    /// What becomes final when layer l's backward is done: the layer, and for the last layer
    /// also everything after it (final norm, an untied head).
    func ready(after l: Int) -> Range<Int> {
        l == blocks.count - 1 ? blocks[l].lowerBound..<count : blocks[l]
    }

    /// What is final only when the whole backward is done: everything before layer 0 (the
    /// embeddings, which a tied head also writes).
    var first: Range<Int> { 0..<(blocks.first?.lowerBound ?? count) }
}

/// What a checkpoint carries besides the parameters and the optimiser moments.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Steps done.
    public var step = 0
    public var losses: [Double] = []
    /// Tokens with a loss, per step (all ranks).
    public var tokens: [Int] = []
    public var bestValidation: Double?
    public var validationsWithoutImprovement = 0
    public var stopped = false

    mutating func observe(validation: Double, patience: Int) {
        if bestValidation.map({ validation < $0 }) ?? true {
            bestValidation = validation; validationsWithoutImprovement = 0
        } else {
            validationsWithoutImprovement += 1
            if patience > 0 && validationsWithoutImprovement >= patience { stopped = true }
        }
    }
}
