import Kernels
import XCTest

/// Kernels.gemm against a naive triple loop, for every transpose combination, padded
/// leading dimensions, alpha, and accumulation into C.
final class GemmTests: XCTestCase {
    /// Element (i, j) of op(X), where X is stored row-major with stride ld.
    private func element(_ x: [Float], _ t: Transpose, ld: Int, _ i: Int, _ j: Int) -> Float {
        t == .none ? x[i * ld + j] : x[j * ld + i]
    }

    private func check(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int,
                       pad: Int, alpha: Float, beta: Float) {
        // Stored shapes: A is m x k (or k x m when transposed), B is k x n (or n x k).
        let (aRows, aCols) = ta == .none ? (m, k) : (k, m)
        let (bRows, bCols) = tb == .none ? (k, n) : (n, k)
        let lda = aCols + pad, ldb = bCols + pad, ldc = n + pad
        let a = (0..<(aRows * lda)).map { Float(($0 * 7) % 11) - 5 }
        let b = (0..<(bRows * ldb)).map { Float(($0 * 3) % 13) - 6 }
        var c = (0..<(m * ldc)).map { Float($0 % 5) }
        var expected = c
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k { sum += element(a, ta, ld: lda, i, p) * element(b, tb, ld: ldb, p, j) }
                expected[i * ldc + j] = alpha * sum + beta * c[i * ldc + j]
            }
        }
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    gemm(ta, tb, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: lda,
                         b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc)
                }
            }
        }
        for i in 0..<m {
            for j in 0..<n {
                XCTAssertEqual(c[i * ldc + j], expected[i * ldc + j], accuracy: 1e-3,
                               "\(ta)/\(tb) m=\(m) n=\(n) k=\(k) pad=\(pad) at (\(i),\(j))")
            }
            // Padding columns of C are never written.
            for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], Float((i * ldc + j) % 5)) }
        }
    }

    func testEveryTransposeCombinationPaddedAndAccumulating() {
        for ta in [Transpose.none, .transposed] {
            for tb in [Transpose.none, .transposed] {
                check(ta, tb, m: 5, n: 7, k: 3, pad: 0, alpha: 1, beta: 0)
                check(ta, tb, m: 5, n: 7, k: 3, pad: 2, alpha: 0.5, beta: 1)
                check(ta, tb, m: 17, n: 9, k: 33, pad: 3, alpha: 2, beta: 1)
            }
        }
    }

    func testBetaZeroIgnoresNaNInC() {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, 0, 0, 1]
        var c = [Float](repeating: .nan, count: 4)
        gemm(.none, .none, m: 2, n: 2, k: 2, a: a, b: b, c: &c)
        XCTAssertEqual(c, [1, 2, 3, 4])
    }

    func testDensePackedOverloadMatchesStrided() {
        let a: [Float] = (0..<6).map(Float.init), b: [Float] = (0..<12).map(Float.init)
        var dense = [Float](repeating: 0, count: 8)
        gemm(.transposed, .none, m: 2, n: 4, k: 3, a: a, b: b, c: &dense)
        // A stored 3 x 2, so op(A) = A^T is 2 x 3.
        XCTAssertEqual(dense, [40, 46, 52, 58, 52, 61, 70, 79])
    }

    func testEmptyDimensionsAreNoOps() {
        var c: [Float] = [7]
        gemm(.none, .none, m: 1, n: 1, k: 0, a: [0], b: [0], beta: 1, c: &c)
        XCTAssertEqual(c, [7])  // k = 0 with beta 1: C unchanged
    }
}
