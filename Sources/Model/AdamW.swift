import Foundation
import Kernels

/// AdamW with torch.optim.AdamW semantics: decoupled weight decay p -= lr * wd * p, then
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). Moments live in two
/// contiguous buffers parallel to the parameter buffer. The update is one pass over
/// parameters, gradients and moments (it is bound by memory bandwidth): the gradient's
/// scaling, its clipping and the decay are folded into it.
///
/// With `shard`, the optimizer owns only that range of the parameters (ZeRO stage 1: each rank
/// of a data-parallel job keeps the moments of its own slice and updates only it). The update is
/// elementwise, so a parameter's new value has the same bits whichever shard it falls in.
public final class AdamW {
    public var learningRate: Float
    public var beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    /// Steps taken (restored from a checkpoint on resume: bias correction depends on it).
    public var stepCount = 0
    /// The elements of the parameter buffer this optimizer updates; `m[i]` and `v[i]` belong
    /// to parameter `shard.lowerBound + i`.
    public let shard: Range<Int>
    public let m: UnsafeMutableBufferPointer<Float>
    public let v: UnsafeMutableBufferPointer<Float>

    /// The buffer cut into runs that decay or not (norms and biases are usually exempt).
    let runs: [(elements: Range<Int>, decays: Bool)]

    /// `decayed` nil: every element decays. `shard` nil: the whole buffer.
    public init(parameterCount: Int, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0.01, decayed: [Range<Int>]? = nil, shard: Range<Int>? = nil) {
        let shard = shard ?? 0..<parameterCount
        precondition(shard.lowerBound >= 0 && shard.upperBound <= parameterCount, "AdamW: the shard lies outside the parameters")
        self.shard = shard
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
        var runs: [(elements: Range<Int>, decays: Bool)] = [], end = 0
        for r in decayed ?? [0..<parameterCount] where !r.isEmpty {
            precondition(r.lowerBound >= end && r.upperBound <= parameterCount,
                         "AdamW: the decaying ranges must be ascending, disjoint and within the parameters")
            if r.lowerBound > end { runs.append((end..<r.lowerBound, false)) }
            runs.append((r, true))
            end = r.upperBound
        }
        if end < parameterCount { runs.append((end..<parameterCount, false)) }
        self.runs = runs
        m = .allocate(capacity: shard.count); m.initialize(repeating: 0)
        v = .allocate(capacity: shard.count); v.initialize(repeating: 0)
    }

    deinit { m.deallocate(); v.deallocate() }

    /// One update of the shard's elements of `parameters` from `gradients` (both the whole
    /// buffer), each gradient element taken as (g * scale) * clip. The other elements are not touched.
    public func step(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>,
                     scale: Float = 1, clip: Float = 1) {
        precondition(parameters.count == gradients.count && shard.upperBound <= parameters.count, "AdamW: buffer sizes differ")
        stepCount += 1
        let t = Double(stepCount)
        let bc1 = Float(1 - Foundation.pow(Double(beta1), t)), bc2Sqrt = Float((1 - Foundation.pow(Double(beta2), t)).squareRoot())
        let b1 = beta1, b2 = beta2, eps = epsilon, decay = learningRate * weightDecay
        let stepSize = learningRate / bc1
        guard !shard.isEmpty else { return }
        // Element i of the parameters has its moments at i - first.
        let first = shard.lowerBound
        let pp = SharedPointer(parameters.baseAddress!), mp = SharedPointer(m.baseAddress!), vp = SharedPointer(v.baseAddress!)
        let gp = gradients.baseAddress!
        let runs = self.runs
        parallelChunks(shard.count, minimumPerWorker: 1 << 15) { local in
            let chunk = (local.lowerBound + first)..<(local.upperBound + first)
            for run in runs where run.elements.overlaps(chunk) {
                let factor = run.decays ? decay : 0
                for i in run.elements.clamped(to: chunk) {
                    let g = (gp[i] * scale) * clip, j = i - first
                    let mi = b1 * mp.p[j] + (1 - b1) * g
                    let vi = b2 * vp.p[j] + (1 - b2) * g * g
                    mp.p[j] = mi; vp.p[j] = vi
                    let p = pp.p[i] - factor * pp.p[i]
                    pp.p[i] = p - stepSize * mi / (vi.squareRoot() / bc2Sqrt + eps)
                }
            }
        }
    }

    /// Convenience over parameter stores of the same layout.
    public func step(_ parameters: ParameterStore, _ gradients: ParameterStore) {
        step(parameters: parameters.buffer, gradients: UnsafeBufferPointer(gradients.buffer))
    }
}
