#if canImport(Glibc)
import Glibc
#endif

// Vectorised exp and the row reductions built on it. The LM head exponentiates every logit
// (vocab x rows) once or twice per pass; libm's scalar expf made that a fifth of the run time.

public typealias Float8 = SIMD8<Float>

@inline(__always) @usableFromInline
func load8(_ p: UnsafePointer<Float>) -> Float8 { UnsafeRawPointer(p).loadUnaligned(as: Float8.self) }

@inline(__always) @usableFromInline
func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self) }

/// exp(x) for 8 lanes: Cephes' expf polynomial (rel. error ~2e-7) with 2^n built in the
/// exponent bits. Inputs are clamped to [-87.3, 88.3] (results stay normal, never inf/0).
@inline(__always) @inlinable
public func fastExp(_ input: Float8) -> Float8 {
    // Mask selects, not clamped(): the generic pointwiseMin/Max were not inlined (9% of a run).
    let lo = Float8(repeating: -87.3), hi = Float8(repeating: 88.3)
    let x0 = input.replacing(with: lo, where: input .< lo).replacing(with: hi, where: input .> hi)
    // Round x * log2(e) to an integer with the 1.5 * 2^23 trick; its low bits hold n + 127.
    let magic = Float8(repeating: 12_582_912 + 127)
    let t = x0 * 1.442_695_04 + magic
    let n = t - magic
    let x = x0 - n * 0.693_359_375 + n * 2.121_944_4e-4
    var y = Float8(repeating: 1.987_569_15e-4)
    y = y * x + 1.398_199_95e-3
    y = y * x + 8.333_451_9e-3
    y = y * x + 4.166_579_6e-2
    y = y * x + 0.166_666_65
    y = y * x + 0.5
    y = y * x * x + x + 1
    let pow2 = unsafeBitCast(unsafeBitCast(t, to: SIMD8<UInt32>.self) &<< 23, to: Float8.self)
    return y * pow2
}

/// Scalar version (the tails of rows).
@inline(__always) @inlinable
public func fastExp(_ x: Float) -> Float { fastExp(Float8(repeating: x))[0] }

/// max_j x[j] over a row.
@inlinable
public func rowMax(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var m8 = Float8(repeating: -.infinity)
    var j = 0
    while j + 8 <= count { let v = load8(x + j); m8 = m8.replacing(with: v, where: v .> m8); j += 8 }
    var m = m8.max()
    while j < count { m = max(m, x[j]); j += 1 }
    return m
}

/// log sum_j exp(x[j]), vectorised.
@inlinable
public func fastLogSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
    let mx = rowMax(x, count: count)
    return mx + logf(expSum(x, count: count, shift: mx))
}

/// sum_j exp(x[j] - shift), vectorised (x is only read).
@inlinable
public func expSum(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> Float {
    let sh = Float8(repeating: shift)
    var s8 = Float8.zero
    var j = 0
    while j + 8 <= count { s8 += fastExp(load8(x + j) - sh); j += 8 }
    var s = s8.sum()
    while j < count { s += fastExp(x[j] - shift); j += 1 }
    return s
}

/// x[j] = scale * exp(x[j] - shift), in place (softmax rows given their log-sum-exp).
@inlinable
public func scaledExpInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float, scale: Float) {
    let sh = Float8(repeating: shift), sc = Float8(repeating: scale)
    var j = 0
    while j + 8 <= count { store8(sc * fastExp(load8(x + j) - sh), x + j); j += 8 }
    while j < count { x[j] = scale * fastExp(x[j] - shift); j += 1 }
}

/// x[j] = exp(x[j] - shift) in place; returns the sum.
@inlinable
public func expInPlaceSum(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
    let sh = Float8(repeating: shift)
    var s8 = Float8.zero
    var j = 0
    while j + 8 <= count { let e = fastExp(load8(x + j) - sh); store8(e, x + j); s8 += e; j += 8 }
    var s = s8.sum()
    while j < count { let e = fastExp(x[j] - shift); x[j] = e; s += e; j += 1 }
    return s
}

/// tanh via exp: 1 - 2 / (exp(2u) + 1) (exact limits at +-inf thanks to the clamp in fastExp).
@inline(__always) @inlinable
public func fastTanh(_ u: Float8) -> Float8 {
    1 - 2 / (fastExp(2 * u) + 1)
}
