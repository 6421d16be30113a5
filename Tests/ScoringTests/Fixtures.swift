// Deterministic inputs shared by the Scoring tests.
import Randomness
import Scoring

enum Fixtures {
    /// A sample whose token ids are 0..<n unless given.
    static func sample(pcp: [Float], ri: [Float], tr: [Float], ids: [Int32]? = nil) throws -> SampleScores {
        try SampleScores(tokenIds: ids ?? (0..<pcp.count).map(Int32.init), pcp: pcp, ri: ri, tr: tr)
    }

    /// Random samples shaped like real ones: some empty, RI NaN at the last position, TR a little
    /// outside [-1, 1] now and then (clamped), PCP often near 1, ids partly outside the vocabulary.
    static func randomSamples(_ count: Int, seed: UInt64, vocabulary: Int32 = 100) throws -> [SampleScores] {
        var g = SplitMix64(seed: seed)
        return try (0..<count).map { _ in
            let n = Int.random(in: 0...60, using: &g)
            let ids = (0..<n).map { _ in Int32.random(in: 0...(vocabulary + 2), using: &g) }
            let pcp = (0..<n).map { _ in Bool.random(using: &g) ? Float.random(in: 0.9...1, using: &g) : Float.random(in: 0...1, using: &g) }
            // RI mostly in [0.1, 0.2] with one token in ten a low outlier, as attention sinks leave.
            var ri = (0..<n).map { _ in Int.random(in: 0..<10, using: &g) == 0 ? Float.random(in: 0...0.005, using: &g) : Float.random(in: 0.1...0.2, using: &g) }
            if n > 0 { ri[n - 1] = .nan }
            let tr = (0..<n).map { _ in Float.random(in: -1.05...1.05, using: &g) }
            return try SampleScores(tokenIds: ids, pcp: pcp, ri: ri, tr: tr)
        }
    }
}
