import Foundation
import Kernels
import Randomness

/// Keys and values of every layer, sequence and kv head: [layer][batch][kvHead][position][headDim].
final class KVCache {
    let layers: Int, batch: Int, kvHeads: Int, capacity: Int, headDim: Int
    let k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>

    init(layers: Int, batch: Int, kvHeads: Int, capacity: Int, headDim: Int) {
        self.layers = layers; self.batch = batch; self.kvHeads = kvHeads; self.capacity = capacity; self.headDim = headDim
        let n = layers * batch * kvHeads * capacity * headDim
        k = .allocate(capacity: max(1, n)); k.initialize(repeating: 0, count: max(1, n))
        v = .allocate(capacity: max(1, n)); v.initialize(repeating: 0, count: max(1, n))
    }

    deinit { k.deallocate(); v.deallocate() }

    @inline(__always) func offset(_ l: Int, _ b: Int, _ h: Int, _ t: Int) -> Int {
        (((l * batch + b) * kvHeads + h) * capacity + t) * headDim
    }
    func keys(_ l: Int, _ b: Int, _ h: Int, position t: Int) -> UnsafeMutablePointer<Float> { k + offset(l, b, h, t) }
    func values(_ l: Int, _ b: Int, _ h: Int, position t: Int) -> UnsafeMutablePointer<Float> { v + offset(l, b, h, t) }
}

/// How the next token is chosen.
public enum Sampling: Sendable {
    case greedy
    /// Softmax(logits / temperature) sampled with a seeded generator (reproducible).
    case temperature(Float, seed: UInt64)
}

extension Transformer {
    /// Continues each prompt by `maxNewTokens` tokens (fewer after `stopToken`), batched, with a
    /// KV cache: the prompts run once, then one row per sequence per step. Returns prompt +
    /// continuation per sequence.
    public func generate(prompts: [[Int32]], maxNewTokens: Int, sampling: Sampling = .greedy,
                         stopToken: Int32? = nil) throws -> [[Int32]] {
        try validate(prompts)
        let longest = (prompts.map(\.count).max() ?? 0) + maxNewTokens
        if config.architecture.positions == .learned, longest > config.maxPositions {
            throw ModelError.invalidRequest("prompt + \(maxNewTokens) new tokens exceed the \(config.maxPositions) learned positions")
        }
        let cache = KVCache(layers: config.layers, batch: prompts.count, kvHeads: config.kvHeads,
                            capacity: longest, headDim: config.headDim)
        var outputs = prompts
        var done = [Bool](repeating: false, count: prompts.count)
        var rng: SeededRandom? = nil
        if case let .temperature(_, seed) = sampling { rng = SeededRandom(seed: seed) }
        var step = prompts, starts = prompts.map { _ in 0 }
        for _ in 0..<maxNewTokens {
            let plan = Plan(step, heads: config.heads, training: false, starts: starts, streamedAbove: streamedAbove)
            let a = makeActivations(plan)
            _ = forwardBlocks(step, plan: plan, acts: a, received: nil, maps: false, cache: cache)
            let lastRows = (0..<step.count).map { plan.offsets[$0] + plan.lengths[$0] - 1 }
            var next = [Int32](repeating: 0, count: step.count)
            _ = headPass(a.lnf, rows: lastRows, targets: lastRows.map { _ in -1 }, weights: nil, dlnf: nil, gradHead: nil,
                         logitsSink: { i, logits in next[i] = Self.choose(logits, sampling: sampling, rng: &rng) })
            for b in 0..<step.count where !done[b] {
                outputs[b].append(next[b])
                if next[b] == stopToken { done[b] = true }
            }
            if done.allSatisfy({ $0 }) { break }
            starts = zip(starts, step).map { $0 + $1.count }
            step = next.map { [$0] }
        }
        return outputs
    }

    static func choose(_ logits: UnsafeBufferPointer<Float>, sampling: Sampling, rng: inout SeededRandom?) -> Int32 {
        switch sampling {
        case .greedy:
            var best = 0
            for j in 1..<logits.count where logits[j] > logits[best] { best = j }
            return Int32(best)
        case let .temperature(temperature, _):
            let t = max(temperature, 1e-6)
            let mx = logits.max() ?? 0
            let probs = logits.map { expf(($0 - mx) / t) }
            let total = probs.reduce(0, +)
            var x = rng!.uniform() * total
            for j in 0..<probs.count {
                x -= probs[j]
                if x < 0 { return Int32(j) }
            }
            return Int32(logits.count - 1)
        }
    }
}
