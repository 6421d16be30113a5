import CBLAS

/// Whether a gemm operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transposed

    @usableFromInline var cblas: CBLAS_TRANSPOSE {
        self == .none ? CblasNoTrans : CblasTrans
    }
}

/// C = alpha * op(A) * op(B) + beta * C on row-major Float matrices.
///
/// op(A) is m x k, op(B) is k x n, C is m x n. `lda`, `ldb`, `ldc` are the row strides of the
/// matrices as stored (so a transposed A of shape k x m stored row-major has lda >= m).
/// `beta = 1` accumulates into C (how backward passes add gradient contributions); `beta = 0`
/// overwrites it, and C's old contents are never read (NaN there is harmless).
@inlinable
public func gemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension m=\(m) n=\(n) k=\(k)")
    precondition(lda >= max(1, transA == .none ? k : m), "gemm: lda=\(lda) too small")
    precondition(ldb >= max(1, transB == .none ? n : k), "gemm: ldb=\(ldb) too small")
    precondition(ldc >= max(1, n), "gemm: ldc=\(ldc) too small")
    if m == 0 || n == 0 { return }
    cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas,
                Int32(m), Int32(n), Int32(k),
                alpha, a, Int32(lda), b, Int32(ldb),
                beta, c, Int32(ldc))
}

/// The gemm above with densely packed operands (leading dimension = row length as stored).
@inlinable
public func gemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    beta: Float = 0, c: UnsafeMutablePointer<Float>
) {
    gemm(transA, transB, m: m, n: n, k: k, alpha: alpha,
         a: a, lda: max(1, transA == .none ? k : m),
         b: b, ldb: max(1, transB == .none ? n : k),
         beta: beta, c: c, ldc: max(1, n))
}

/// OpenBLAS facts and its thread count (one thread per rank when ranks share a host).
public enum BLAS {
    public static var threadCount: Int { Int(openblas_get_num_threads()) }
    public static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    public static var processorCount: Int { Int(openblas_get_num_procs()) }
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static var buildConfig: String { String(cString: openblas_get_config()) }
    /// 0 sequential, 1 pthreads, 2 OpenMP.
    public static var parallelism: String {
        switch openblas_get_parallel() {
        case 0: return "sequential"
        case 1: return "pthreads"
        case 2: return "openmp"
        default: return "unknown"
        }
    }
}
