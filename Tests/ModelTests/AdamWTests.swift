import Model
import XCTest

/// The one-pass AdamW update against the same arithmetic written out step by step (scale the
/// gradient, clip it, decay the decaying elements, then Adam), bit for bit.
final class AdamWTests: XCTestCase {
    func testOnePassUpdateEqualsTheStepsWrittenOut() {
        // Large enough to be cut into two parallel chunks (at n / 2): the cut falls inside a
        // decaying run in the first case and in a gap in the second; adjacent and empty runs too.
        check(n: 200_003, decayed: [0..<7, 50_000..<150_000, 199_000..<200_003])
        check(n: 200_000, decayed: [0..<10, 10..<20, 30..<30, 50_000..<90_000, 110_000..<150_000, 199_990..<200_000])
        check(n: 1_000, decayed: [])
    }

    func check(n: Int, decayed: [Range<Int>], file: StaticString = #filePath, line: UInt = #line) {
        var state: UInt64 = 3
        func random() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
        var p = (0..<n).map { _ in random() }
        let g0 = (0..<n).map { _ in random() * 50 }
        let optimizer = AdamW(parameterCount: n, learningRate: 3e-3, weightDecay: 0.1, decayed: decayed)
        var expected = p, m = [Float](repeating: 0, count: n), v = m
        let decays = (0..<n).map { i in decayed.contains { $0.contains(i) } }
        let scale: Float = 1 / 977, clip: Float = 0.37
        for step in 1...3 {
            let g = g0.map { $0 * Float(step) }
            g.withUnsafeBufferPointer { gb in
                p.withUnsafeMutableBufferPointer { optimizer.step(parameters: $0, gradients: gb, scale: scale, clip: clip) }
            }
            // Bias corrections in Double from the Float betas, as AdamW computes them.
            let b1 = Double(Float(0.9)), b2 = Double(Float(0.999))
            let bc1 = Float(1 - Foundation.pow(b1, Double(step))), bc2Sqrt = Float((1 - Foundation.pow(b2, Double(step))).squareRoot())
            let lr: Float = 3e-3, wd: Float = 0.1
            for i in 0..<n {
                let gi = (g[i] * scale) * clip
                if decays[i] { expected[i] = expected[i] - (lr * wd) * expected[i] }
                m[i] = 0.9 * m[i] + (1 - 0.9) * gi
                v[i] = 0.999 * v[i] + (1 - 0.999) * gi * gi
                expected[i] = expected[i] - (lr / bc1) * m[i] / (v[i].squareRoot() / bc2Sqrt + 1e-8)
            }
            let differing = (0..<n).filter { p[$0] != expected[$0] }
            XCTAssertEqual(differing.count, 0, "n \(n) step \(step): first at \(differing.first.map { "\($0): \(p[$0]) vs \(expected[$0])" } ?? "")",
                           file: file, line: line)
        }
    }

    /// Sharded over 2, 3 and 4 ranks (each optimizer updating its own slice of one parameter
    /// buffer), the parameters get the same bits as from one optimizer over everything, and
    /// the slices' moments put together are its moments; also where some slices are empty
    /// (20 parameters over 4 ranks: the first three own none).
    func testShardedUpdatesEqualTheWholeBitForBit() {
        checkShards(n: 100_003, decayed: [0..<7, 20_000..<70_000, 99_000..<100_003], ranks: [2, 3, 4])
        checkShards(n: 20, decayed: [3..<9], ranks: [4])
    }

    func checkShards(n: Int, decayed: [Range<Int>], ranks: [Int], file: StaticString = #filePath, line: UInt = #line) {
        var state: UInt64 = 5
        func random() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
        let p0 = (0..<n).map { _ in random() }, g0 = (0..<n).map { _ in random() * 10 }
        let whole = AdamW(parameterCount: n, learningRate: 3e-3, weightDecay: 0.1, decayed: decayed)
        var expected = p0
        for (k, ranks) in ranks.enumerated() {
            let shards = OptimizerShards(count: n, ranks: ranks)
            let parts = shards.ranges.map { AdamW(parameterCount: n, learningRate: 3e-3, weightDecay: 0.1, decayed: decayed, shard: $0) }
            var p = p0
            for step in 1...3 {
                let g = g0.map { $0 * Float(step) }
                g.withUnsafeBufferPointer { gb in
                    p.withUnsafeMutableBufferPointer { pb in
                        for part in parts { part.step(parameters: pb, gradients: gb, scale: 0.01, clip: 0.5) }
                    }
                    if k == 0 { expected.withUnsafeMutableBufferPointer { whole.step(parameters: $0, gradients: gb, scale: 0.01, clip: 0.5) } }
                }
            }
            XCTAssertEqual(p.map(\.bitPattern), expected.map(\.bitPattern), "\(ranks) shards", file: file, line: line)
            XCTAssertEqual(parts.flatMap { Array($0.m) }, Array(whole.m), "\(ranks) shards: exp_avg", file: file, line: line)
            XCTAssertEqual(parts.flatMap { Array($0.v) }, Array(whole.v), "\(ranks) shards: exp_avg_sq", file: file, line: line)
        }
    }

    /// The slices are contiguous, cover the buffer, start on 16-element blocks and are nearly equal.
    func testShardsCoverTheBufferInAlignedSlices() {
        for count in [0, 5, 17, 1_000, (1 << 23) + 3] {
            for ranks in [1, 2, 3, 4, 7] {
                let shards = OptimizerShards(count: count, ranks: ranks)
                XCTAssertEqual(shards.ranges.count, ranks)
                XCTAssertEqual(shards.ranges.first?.lowerBound, 0)
                XCTAssertEqual(shards.count, count)
                for r in 1..<ranks { XCTAssertEqual(shards.ranges[r].lowerBound, shards.ranges[r - 1].upperBound) }
                for r in 0..<ranks {
                    XCTAssertEqual(shards.ranges[r].lowerBound % 16, 0, "count \(count) ranks \(ranks)")
                    // Nearly equal: no slice is more than two blocks past an even share.
                    XCTAssertLessThanOrEqual(shards.ranges[r].count, count / ranks + 32, "count \(count) ranks \(ranks)")
                }
            }
        }
    }

    /// Without `decayed`, every element decays.
    func testEveryElementDecaysByDefault() {
        var p: [Float] = [1, -2, 4]
        let optimizer = AdamW(parameterCount: 3, learningRate: 0.5, weightDecay: 0.2)
        let zero: [Float] = [0, 0, 0]
        zero.withUnsafeBufferPointer { g in p.withUnsafeMutableBufferPointer { optimizer.step(parameters: $0, gradients: g) } }
        XCTAssertEqual(p, [0.9, -1.8, 3.6])
    }
}
