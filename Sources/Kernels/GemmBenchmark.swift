import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// One size of `xtf bench gemm`: the wrapper against a plain cblas_sgemm loop (the ceiling),
/// both timed in the same process, interleaved rep by rep so machine noise hits both alike.
public struct GemmBenchmarkResult: Sendable, Codable {
    public let n: Int
    public let repetitions: Int
    /// Median GFLOP/s of the plain cblas_sgemm call.
    public let ceilingGFLOPS: Double
    /// Median GFLOP/s of `Kernels.gemm`.
    public let wrapperGFLOPS: Double
    public var fractionOfCeiling: Double { wrapperGFLOPS / ceilingGFLOPS }
}

public enum GemmBenchmark {
    /// Measures C = A * B for n x n matrices. Each repetition runs enough calls to last
    /// at least `minSeconds`, so small sizes are not dominated by timer resolution.
    public static func run(n: Int, repetitions: Int, minSeconds: Double = 0.05) -> GemmBenchmarkResult {
        let count = n * n
        let a = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<count {
            a[i] = Float((i * 7) % 13) * 0.01 - 0.06
            b[i] = Float((i * 5) % 11) * 0.01 - 0.05
            c[i] = 0
        }
        let n32 = Int32(n)
        let plain = {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n32, n32, n32,
                        1, a, n32, b, n32, 0, c, n32)
        }
        let wrapped = {
            gemm(.none, .none, m: n, n: n, k: n, a: UnsafePointer(a), lda: n,
                 b: UnsafePointer(b), ldb: n, c: c, ldc: n)
        }
        // Calls per repetition, chosen from a warm-up so one repetition lasts >= minSeconds.
        plain(); wrapped()
        let once = max(time(plain), 1e-7)
        let calls = max(1, Int((minSeconds / once).rounded(.up)))
        var plainRates: [Double] = [], wrapperRates: [Double] = []
        let flops = 2.0 * Double(n) * Double(n) * Double(n) * Double(calls)
        for rep in 0..<repetitions {
            // Alternate which one goes first, so neither always enjoys a warmer cache.
            if rep % 2 == 0 {
                plainRates.append(flops / time { for _ in 0..<calls { plain() } } / 1e9)
                wrapperRates.append(flops / time { for _ in 0..<calls { wrapped() } } / 1e9)
            } else {
                wrapperRates.append(flops / time { for _ in 0..<calls { wrapped() } } / 1e9)
                plainRates.append(flops / time { for _ in 0..<calls { plain() } } / 1e9)
            }
        }
        return GemmBenchmarkResult(n: n, repetitions: repetitions,
                                   ceilingGFLOPS: median(plainRates),
                                   wrapperGFLOPS: median(wrapperRates))
    }

    static func time(_ body: () -> Void) -> Double {
        let start = monotonicSeconds()
        body()
        return monotonicSeconds() - start
    }
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Median of a non-empty sample (mean of the middle two for an even count).
public func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of an empty sample")
    let s = values.sorted()
    let mid = s.count / 2
    return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
