import Kernels

/// The norms around each sublayer (on its input, its output, or both) and the q/k norms
/// (`Architecture.QKNorm`), each forward beside its backward.
extension Transformer {
    // MARK: Sublayer norms

    /// The input of a sublayer's first linear: norm(x) written to `normed` when the sublayer
    /// has an input norm, otherwise x itself.
    func sublayerInput(_ x: UnsafeMutablePointer<Float>, norm n: NormSpec?, normed: UnsafeMutablePointer<Float>,
                       stats: UnsafeMutablePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        guard let n else { return x }
        norm(normed, stats, x, n, rows: rows)
        return normed
    }

    /// Backward of `sublayerInput` after the first linear: its dx (+ the norm's) added to dres.
    func sublayerInputBackward(_ s: LinearSpec, residual x: UnsafePointer<Float>, norm n: NormSpec?, normed: UnsafePointer<Float>,
                               stats: UnsafePointer<Float>, dy: UnsafePointer<Float>, dres: UnsafeMutablePointer<Float>,
                               scratch: UnsafeMutablePointer<Float>, rows: Int, grads g: UnsafeMutablePointer<Float>?,
                               layer: Int, site: LinearSite, u: UnsafeMutablePointer<Float>) {
        guard let n else {
            linearBackward(s, x: x, dy: dy, dx: dres, accumulate: true, rows: rows, grads: g, layer: layer, site: site, u: u)
            return
        }
        linearBackward(s, x: normed, dy: dy, dx: scratch, accumulate: false, rows: rows, grads: g, layer: layer, site: site, u: u)
        normBackward(dx: dres, dy: scratch, x: x, stats: stats, n, rows: rows, grads: g)
    }

    /// residual += the sublayer's last linear of x, or += norm(that linear) when the sublayer
    /// has an output norm (the linear's output kept in `raw`, the norm's in `normed`).
    func addSublayerOutput(_ s: LinearSpec, x: UnsafePointer<Float>, residual: UnsafeMutablePointer<Float>, norm n: NormSpec?,
                           raw: UnsafeMutablePointer<Float>, normed: UnsafeMutablePointer<Float>, stats: UnsafeMutablePointer<Float>,
                           rows: Int, layer: Int, site: LinearSite, u: UnsafeMutablePointer<Float>) {
        guard let n else {
            linearForward(s, x: x, rows: rows, out: residual, accumulate: true, layer: layer, site: site, u: u)
            return
        }
        linearForward(s, x: x, rows: rows, out: raw, accumulate: false, layer: layer, site: site, u: u)
        norm(normed, stats, raw, n, rows: rows)
        for i in 0..<(rows * config.hiddenSize) { residual[i] += normed[i] }
    }

    /// Backward of `addSublayerOutput` down to the last linear's output: dres itself, or the
    /// output norm's dx written to `scratch` (with the norm's weight gradient).
    func sublayerOutputBackward(dres: UnsafeMutablePointer<Float>, norm n: NormSpec?, raw: UnsafePointer<Float>,
                                stats: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, rows: Int,
                                grads g: UnsafeMutablePointer<Float>?) -> UnsafePointer<Float> {
        guard let n else { return UnsafePointer(dres) }
        scratch.update(repeating: 0, count: rows * config.hiddenSize)
        normBackward(dx: scratch, dy: dres, x: raw, stats: stats, n, rows: rows, grads: g)
        return UnsafePointer(scratch)
    }

    // MARK: q/k norms

    /// How many RMSNorm groups of how many values the q and k parts of a row hold.
    var qkNormGroups: (q: Int, k: Int, qWidth: Int, kWidth: Int, total: Int) {
        let c = config
        switch c.architecture.qkNorm {
        case .none: return (0, 0, 0, 0, 0)
        case .perHead: return (c.heads, c.kvHeads, c.headDim, c.headDim, c.heads + c.kvHeads)
        case .wholeProjection: return (1, 1, c.qDim, c.kvDim, 2)
        }
    }

    /// RMSNorm of the q and k parts of every qkv row in place, the raw values kept in `raw`
    /// ([rows, q + k]) with their stats for the backward.
    func normQK(_ qkv: UnsafeMutablePointer<Float>, raw: UnsafeMutablePointer<Float>, stats: UnsafeMutablePointer<Float>,
                _ blk: BlockSpec, rows: Int) {
        guard let qw = blk.qNormWeight, let kw = blk.kNormWeight else { return }
        let c = config, W = c.qkvDim, qk = c.qDim + c.kvDim, g = qkNormGroups, offset = c.architecture.norm.weightOffset
        parallelChunks(rows, minimumPerWorker: 64) { range in
            for r in range {
                let row = qkv + r * W, x = raw + r * qk, st = stats + r * g.total
                x.update(from: row, count: qk)
                rmsNormForward(row, st, x, p + qw, rows: g.q, c: g.qWidth, eps: c.normEps, weightOffset: offset)
                rmsNormForward(row + c.qDim, st + g.q, x + c.qDim, p + kw, rows: g.k, c: g.kWidth, eps: c.normEps, weightOffset: offset)
            }
        }
    }

    /// Backward of `normQK`: the q and k gradients in dqkv become those of the raw values (the
    /// norm weights' gradients added to `grads`). Serial: the weight gradients accumulate.
    func normQKBackward(_ dqkv: UnsafeMutablePointer<Float>, raw: UnsafePointer<Float>, stats: UnsafePointer<Float>,
                        _ blk: BlockSpec, rows: Int, grads g: UnsafeMutablePointer<Float>?) {
        guard let qw = blk.qNormWeight, let kw = blk.kNormWeight else { return }
        let c = config, W = c.qkvDim, qk = c.qDim + c.kvDim, groups = qkNormGroups, offset = c.architecture.norm.weightOffset
        var dx = [Float](repeating: 0, count: qk)
        dx.withUnsafeMutableBufferPointer { dxb in
            let d = dxb.baseAddress!
            for r in 0..<rows {
                let dy = dqkv + r * W, x = raw + r * qk, st = stats + r * groups.total
                d.update(repeating: 0, count: qk)
                rmsNormBackward(dx: d, dw: g.map { $0 + qw }, dy: dy, x: x, w: p + qw, stats: st, rows: groups.q, c: groups.qWidth,
                                weightOffset: offset)
                rmsNormBackward(dx: d + c.qDim, dw: g.map { $0 + kw }, dy: dy + c.qDim, x: x + c.qDim, w: p + kw,
                                stats: st + groups.q, rows: groups.k, c: groups.kWidth, weightOffset: offset)
                dy.update(from: d, count: qk)
            }
        }
    }
}
