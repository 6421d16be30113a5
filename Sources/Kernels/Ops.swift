import Dispatch
#if canImport(Glibc)
import Glibc
#endif

// Row-wise numeric kernels of the transformer, each forward next to its backward.
// All work on row-major Float rows through raw pointers: no bounds checks in hot loops.

/// Runs body(0..<n) split into contiguous chunks over `workers` threads (the calling one
/// included). Small problems run inline: a thread hop costs more than it saves.
@inlinable
public func parallelChunks(_ n: Int, workers: Int = 2, minimumPerWorker: Int = 1, _ body: (Range<Int>) -> Void) {
    let w = max(1, min(workers, n / max(1, minimumPerWorker)))
    if w <= 1 { body(0..<n); return }
    // Callers write disjoint ranges; the box only carries the closure across the Sendable wall.
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(escapable)
        DispatchQueue.concurrentPerform(iterations: w) { i in
            let lo = n * i / w, hi = n * (i + 1) / w
            if lo < hi { box.value(lo..<hi) }
        }
    }
}

/// Carries a value into a @Sendable closure when the caller guarantees safe use.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    @inlinable public init(_ value: T) { self.value = value }
}

/// A pointer wrapper that may cross into concurrentPerform closures (callers guarantee
/// disjoint writes).
public struct SharedPointer<T>: @unchecked Sendable {
    public let p: UnsafeMutablePointer<T>
    @inlinable public init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

// MARK: LayerNorm (GPT-2)

/// y = (x - mean) * rstd * w + b per row of width c; stores mean and rstd per row for backward.
@inlinable
public func layerNormForward(_ y: UnsafeMutablePointer<Float>, _ stats: UnsafeMutablePointer<Float>?,
                             _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                             rows: Int, c: Int, eps: Float) {
    for r in 0..<rows {
        let xr = x + r * c, yr = y + r * c
        var mean: Float = 0
        for i in 0..<c { mean += xr[i] }
        mean /= Float(c)
        var v: Float = 0
        for i in 0..<c { let d = xr[i] - mean; v += d * d }
        let rstd = 1 / (v / Float(c) + eps).squareRoot()
        for i in 0..<c { yr[i] = (xr[i] - mean) * rstd * w[i] + b[i] }
        if let stats { stats[2 * r] = mean; stats[2 * r + 1] = rstd }
    }
}

/// Accumulates dx, dw, db from dy (llm.c's layernorm_backward). dw/db may be nil (frozen).
@inlinable
public func layerNormBackward(dx: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?,
                              dy: UnsafePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                              stats: UnsafePointer<Float>, rows: Int, c: Int) {
    for r in 0..<rows {
        let xr = x + r * c, dyr = dy + r * c, dxr = dx + r * c
        let mean = stats[2 * r], rstd = stats[2 * r + 1]
        var sumD: Float = 0, sumDN: Float = 0
        for i in 0..<c {
            let n = (xr[i] - mean) * rstd
            let d = w[i] * dyr[i]
            sumD += d; sumDN += d * n
        }
        sumD /= Float(c); sumDN /= Float(c)
        for i in 0..<c {
            let n = (xr[i] - mean) * rstd
            let d = w[i] * dyr[i]
            if let db { db[i] += dyr[i] }
            if let dw { dw[i] += n * dyr[i] }
            dxr[i] += (d - sumD - n * sumDN) * rstd
        }
    }
}

// MARK: RMSNorm (Llama family)

/// y = x * rstd * (w + weightOffset), rstd = 1/sqrt(mean(x^2) + eps); stores rstd per row.
/// weightOffset 1 is Gemma's (1 + w) norm.
@inlinable
public func rmsNormForward(_ y: UnsafeMutablePointer<Float>, _ stats: UnsafeMutablePointer<Float>?,
                           _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, rows: Int, c: Int, eps: Float,
                           weightOffset: Float = 0) {
    for r in 0..<rows {
        let xr = x + r * c, yr = y + r * c
        var ss: Float = 0
        for i in 0..<c { ss += xr[i] * xr[i] }
        let rstd = 1 / (ss / Float(c) + eps).squareRoot()
        for i in 0..<c { yr[i] = (w[i] + weightOffset) * (xr[i] * rstd) }
        if let stats { stats[r] = rstd }
    }
}

/// dx += rstd*g - x*rstd^3*mean(g*x) with g = dy*(w + weightOffset); dw += dy*x*rstd.
@inlinable
public func rmsNormBackward(dx: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>?,
                            dy: UnsafePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                            stats: UnsafePointer<Float>, rows: Int, c: Int, weightOffset: Float = 0) {
    for r in 0..<rows {
        let xr = x + r * c, dyr = dy + r * c, dxr = dx + r * c
        let rstd = stats[r]
        var dot: Float = 0
        for i in 0..<c { dot += dyr[i] * (w[i] + weightOffset) * xr[i] }
        let k = dot * rstd * rstd * rstd / Float(c)
        for i in 0..<c {
            if let dw { dw[i] += dyr[i] * xr[i] * rstd }
            dxr[i] += rstd * dyr[i] * (w[i] + weightOffset) - xr[i] * k
        }
    }
}

// MARK: Activations

/// GPT-2's gelu_new (tanh approximation), elementwise, 8 lanes at a time.
@inlinable
public func geluForward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    parallelChunks(count / 8, minimumPerWorker: 1 << 13) { range in
        for k in range {
            let v = load8(x + 8 * k)
            store8(0.5 * v * (1 + fastTanh(0.797_884_56 * (v + 0.044715 * v * v * v))), y + 8 * k)
        }
    }
    for i in (count / 8 * 8)..<count {
        let v = x[i]
        y[i] = 0.5 * v * (1 + tanhf(0.797_884_56 * (v + 0.044715 * v * v * v)))
    }
}

/// dx = dy * gelu'(x) (overwrites dx).
@inlinable
public func geluBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, count: Int) {
    @inline(__always) func grad(_ v: Float8) -> Float8 {
        let s: Float = 0.797_884_56
        let v2: Float8 = v * v
        let inner: Float8 = s * (v + 0.044715 * v2 * v)
        let t: Float8 = fastTanh(inner)
        let left: Float8 = 0.5 * (1 + t)
        let slope: Float8 = s * (1 + 0.134145 * v2)
        return left + 0.5 * v * (1 - t * t) * slope
    }
    parallelChunks(count / 8, minimumPerWorker: 1 << 13) { range in
        for k in range { store8(load8(dy + 8 * k) * grad(load8(x + 8 * k)), dx + 8 * k) }
    }
    for i in (count / 8 * 8)..<count { dx[i] = dy[i] * grad(Float8(repeating: x[i]))[0] }
}

/// SwiGLU: y[r, i] = silu(gu[r, i]) * gu[r, inner + i] for rows of [gate | up] (width 2*inner).
@inlinable
public func swigluForward(_ y: UnsafeMutablePointer<Float>, _ gu: UnsafePointer<Float>, rows: Int, inner: Int) {
    parallelChunks(rows, minimumPerWorker: 16) { range in
        for r in range {
            let g = gu + r * 2 * inner, u = g + inner, yr = y + r * inner
            var i = 0
            while i + 8 <= inner {
                let gv = load8(g + i)
                store8(gv / (1 + fastExp(-gv)) * load8(u + i), yr + i)
                i += 8
            }
            while i < inner { yr[i] = g[i] / (1 + expf(-g[i])) * u[i]; i += 1 }
        }
    }
}

/// dgu (overwritten) from dy for the SwiGLU above.
@inlinable
public func swigluBackward(dgu: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, gu: UnsafePointer<Float>, rows: Int, inner: Int) {
    parallelChunks(rows, minimumPerWorker: 16) { range in
        for r in range {
            let g = gu + r * 2 * inner, u = g + inner, d = dy + r * inner
            let dg = dgu + r * 2 * inner, du = dg + inner
            var i = 0
            while i + 8 <= inner {
                let gv = load8(g + i), dv = load8(d + i)
                let sig = 1 / (1 + fastExp(-gv))
                store8(dv * gv * sig, du + i)
                store8(dv * load8(u + i) * sig * (1 + gv * (1 - sig)), dg + i)
                i += 8
            }
            while i < inner {
                let sig = 1 / (1 + expf(-g[i]))
                du[i] = d[i] * g[i] * sig
                dg[i] = d[i] * u[i] * sig * (1 + g[i] * (1 - sig))
                i += 1
            }
        }
    }
}

// MARK: RoPE (HF rotate_half layout: pairs (i, i + d/2))

/// Rotates `heads` heads of width d in a row in place by the angles of one position.
/// `inverse` applies the transpose rotation, which is the backward of the forward.
@inlinable
public func ropeRotate(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim d: Int,
                       cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, inverse: Bool = false) {
    let h = d / 2
    for hd in 0..<heads {
        let v = x + hd * d
        for i in 0..<h {
            let c = cos[i], s = inverse ? -sin[i] : sin[i]
            let a = v[i], b = v[i + h]
            v[i] = a * c - b * s
            v[i + h] = b * c + a * s
        }
    }
}

// MARK: Softmax

/// In-place causal softmax of a score block [rows, ld]: row i covers keys lo(i)...(i + keyOffset)
/// (keys after the query are zeroed); lo = max(0, i + keyOffset - window + 1) with a sliding window.
@inlinable
public func causalSoftmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, ld: Int, keyOffset: Int, window: Int?) {
    for i in 0..<rows {
        let row = s + i * ld
        let last = i + keyOffset
        let first = window.map { max(0, last - $0 + 1) } ?? 0
        let n = last - first + 1
        let mx = rowMax(row + first, count: n)
        let inv = 1 / expInPlaceSum(row + first, count: n, shift: mx)
        for j in 0..<first { row[j] = 0 }
        for j in first...last { row[j] *= inv }
        if last + 1 < ld { for j in (last + 1)..<ld { row[j] = 0 } }
    }
}

/// dS = P * (dP - rowsum(P * dP)), in place over dP, for `rows` rows of width `cols`.
@inlinable
public func softmaxBackwardRows(_ dp: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int) {
    for i in 0..<rows {
        let d = dp + i * ld, pr = p + i * ld
        var dot: Float = 0
        for j in 0..<cols { dot += pr[j] * d[j] }
        for j in 0..<cols { d[j] = pr[j] * (d[j] - dot) }
    }
}
