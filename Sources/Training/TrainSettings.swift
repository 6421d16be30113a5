import Artifacts
import Model

/// How the learning rate moves over the run: linear warm-up from 0, then the decay.
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable {
    case cosine, linear, constant
}

/// Everything that decides a training run's parameters. Saved with every checkpoint;
/// `--resume` refuses a checkpoint written with other settings.
public struct TrainSettings: Codable, Equatable, Sendable {
    public var learningRate = 1e-4
    public var schedule = LearningRateSchedule.cosine
    public var warmupSteps = 0
    public var weightDecay = 0.01
    /// Decay norm weights and biases (1-D tensors) too; off by default, as is customary.
    public var decayNormsAndBiases = false
    public var beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
    /// Clip by the global gradient norm (after the all-reduce); 0 = no clipping.
    public var maxGradNorm = 1.0
    /// Samples per optimiser step, summed over all ranks and micro-batches.
    public var globalBatchSize = 8
    /// Tokens per forward/backward pass on one rank (gradient accumulation beyond it).
    public var microBatchTokens = 2048
    public var epochs = 1
    /// Stop after this many steps (overrides epochs when set).
    public var maxSteps: Int?
    public var seed: UInt64 = 0
    public var lora: LoRAConfig?
    /// Where the frozen base's weights live under LoRA (nil: fp32; `mapped` needs LoRA).
    public var baseWeights: WeightStorage?
    /// SLM baseline: the fraction of tokens kept per global batch by excess loss (nil: off).
    public var slmKeepFraction: Double?
    /// Size of the gradient all-reduce buckets.
    public var bucketBytes = 4 << 20
    /// Write a checkpoint every N steps (0: only at the end).
    public var checkpointEvery = 0
    /// Fraction of the samples held out for validation (chosen with the seed).
    public var validationFraction = 0.0
    /// Validate every N steps (0: never).
    public var evaluateEvery = 0
    /// Stop when the validation loss has not improved for this many validations (0: never).
    public var earlyStoppingPatience = 0
    /// The dtype of saved model weights (nil: fp32); the optimiser moments stay fp32.
    public var saveDType: SaveDType?

    public enum SaveDType: String, Codable, Sendable, CaseIterable { case fp32, bf16 }

    public init() {}

    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> TrainingError { .invalidSetting(field: field, reason: reason) }
        guard learningRate > 0, learningRate.isFinite else { throw fail("lr", "must be finite and > 0") }
        guard globalBatchSize > 0 else { throw fail("global-batch", "must be > 0") }
        guard microBatchTokens > 0 else { throw fail("micro-batch-tokens", "must be > 0") }
        guard epochs > 0 else { throw fail("epochs", "must be > 0") }
        if let maxSteps, maxSteps <= 0 { throw fail("max-steps", "must be > 0") }
        guard (0..<1).contains(validationFraction) else { throw fail("validation-fraction", "must lie in [0, 1)") }
        guard maxGradNorm >= 0 else { throw fail("max-grad-norm", "must be >= 0") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw fail("weight-decay", "must be finite and >= 0") }
        if let k = slmKeepFraction, !(k > 0 && k <= 1) { throw fail("slm-keep", "must lie in (0, 1]") }
        guard bucketBytes >= 4 else { throw fail("bucket-bytes", "must be >= 4") }
        if baseWeights == .mapped, lora == nil {
            throw fail("weights", "mapped leaves the base weights in the checkpoint, frozen: it goes with --lora (full fine-tuning updates every weight in fp32)")
        }
    }

    /// The elements weight decay applies to: the matrices, and norms and biases (vectors) only
    /// with `decayNormsAndBiases`. A layout's entries lie one after another, so the ranges ascend.
    public func decayedRanges(in layout: ParameterLayout) -> [Range<Int>] {
        layout.entries.filter { decayNormsAndBiases || $0.shape.count > 1 }.map { $0.offset..<($0.offset + $0.count) }
    }

    /// These settings without those a resumed run may change: how long it runs, how often and
    /// in which dtype it saves. Everything else must match the run's checkpoints.
    public var ignoringRunLength: TrainSettings {
        var s = self
        s.maxSteps = nil; s.epochs = 1; s.checkpointEvery = 0; s.saveDType = nil
        return s
    }

    /// The learning rate of `step` (0-based) out of `total`.
    public func learningRate(at step: Int, of total: Int) -> Double {
        if step < warmupSteps { return learningRate * Double(step + 1) / Double(warmupSteps + 1) }
        let span = max(1, total - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        switch schedule {
        case .constant: return learningRate
        case .linear: return learningRate * (1 - progress)
        case .cosine: return learningRate * 0.5 * (1 + cos(Double.pi * progress))
        }
    }
}

/// Why training cannot go on; each names the setting, file or sample at fault.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidSetting(field: String, reason: String)
    case invalidSample(id: String, reason: String)
    case checkpoint(path: String, reason: String)
    /// Step `step` (1-based, as losses.jsonl counts) had a NaN or infinite loss or gradient;
    /// the ranks whose own loss or gradient was not finite, and the newest complete checkpoint.
    case nonFinite(step: Int, lossRanks: [Int], gradientRanks: [Int], lastCheckpoint: String?)

    public var description: String {
        switch self {
        case let .invalidSetting(field, reason): return "invalid setting \(field): \(reason)"
        case let .invalidSample(id, reason): return "sample \(id): \(reason)"
        case let .checkpoint(path, reason): return "\(path): \(reason)"
        case let .nonFinite(step, lossRanks, gradientRanks, lastCheckpoint):
            func ranks(_ r: [Int]) -> String { (r.count == 1 ? "rank " : "ranks ") + r.map(String.init).joined(separator: ", ") }
            var parts: [String] = []
            if !lossRanks.isEmpty { parts.append("the loss on \(ranks(lossRanks))") }
            if !gradientRanks.isEmpty { parts.append("the gradient on \(ranks(gradientRanks))") }
            // Every rank's own values finite, their sum not: it overflowed.
            let what = parts.isEmpty ? "the loss or gradient summed over the ranks is" : parts.joined(separator: " and ") + (parts.count > 1 ? " are" : " is")
            return "step \(step): \(what) not finite (NaN or infinity); training stopped before the update and wrote no checkpoint "
                + "of this step. The last good checkpoint: \(lastCheckpoint ?? "none yet"). A learning rate too high for the "
                + "model (--lr) is the usual cause."
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
