import Foundation

// Gemma's kernels: GeGLU (tanh GELU on the gate) and soft-capping, forward beside backward.
// Scalar loops: these models are checked for correctness first; vectorise when benchmarked.

/// gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
@inlinable
public func geluTanh(_ x: Float) -> Float {
    0.5 * x * (1 + tanhf(0.797_884_56 * (x + 0.044715 * x * x * x)))
}

/// d geluTanh / dx.
@inlinable
public func geluTanhSlope(_ x: Float) -> Float {
    let t = tanhf(0.797_884_56 * (x + 0.044715 * x * x * x))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.797_884_56 * (1 + 0.134145 * x * x)
}

/// GeGLU: y[r, i] = geluTanh(gu[r, i]) * gu[r, inner + i] for rows of [gate | up].
@inlinable
public func gegluForward(_ y: UnsafeMutablePointer<Float>, _ gu: UnsafePointer<Float>, rows: Int, inner: Int) {
    parallelChunks(rows * inner, minimumPerWorker: 1 << 12) { range in
        for k in range {
            let gate = gu + (k / inner) * 2 * inner + k % inner
            y[k] = geluTanh(gate[0]) * gate[inner]
        }
    }
}

/// dgu (overwritten) from dy for the GeGLU above.
@inlinable
public func gegluBackward(dgu: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, gu: UnsafePointer<Float>, rows: Int, inner: Int) {
    parallelChunks(rows * inner, minimumPerWorker: 1 << 12) { range in
        for k in range {
            let at = (k / inner) * 2 * inner + k % inner
            let gate = gu[at], up = gu[at + inner]
            dgu[at] = dy[k] * up * geluTanhSlope(gate)
            dgu[at + inner] = dy[k] * geluTanh(gate)
        }
    }
}

/// x = cap * tanh(x / cap), in place.
@inlinable
public func softcapInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
    for i in 0..<count { x[i] = cap * tanhf(x[i] / cap) }
}

/// d (in place) times the soft-cap's slope 1 - tanh^2 at the raw values `raw`.
@inlinable
public func softcapBackward(_ d: UnsafeMutablePointer<Float>, raw: UnsafePointer<Float>, count: Int, cap: Float) {
    for i in 0..<count {
        let t = tanhf(raw[i] / cap)
        d[i] *= 1 - t * t
    }
}
