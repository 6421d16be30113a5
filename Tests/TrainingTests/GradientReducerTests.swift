import Foundation
import TestSupport
import XCTest

/// Bucketed, overlapped gradient all-reduce under mpirun: every rank ends each step with the
/// exact sum over ranks, and the extras (token counts) arrive summed with the last bucket,
/// including a step where one rank contributed nothing.
final class GradientReducerTests: XCTestCase {
    struct Record: Decodable {
        let steps: [[String: Double]]
        let digests: [String]
    }

    static func fnv1a(_ values: [Float]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in values {
            var bits = v.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { for b in $0 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 } }
        }
        return String(hash, radix: 16)
    }

    func check(ranks n: Int, elements: Int = 1_000_003, bucketBytes: Int = 256 << 10) throws {
        let out = try TestPaths.scratchDirectory("gradients")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try MPIRunner.run(ranks: n, ["gradients", "--out", out.path,
                                                  "--elements", String(elements), "--bucket-bytes", String(bucketBytes)],
                                       binary: MPIRunner.testbenchBinary)
        XCTAssertEqual(result.status, 0, "mpirun failed:\n\(result.stdout)\n\(result.stderr)")
        for r in 0..<n {
            let record = try JSONDecoder().decode(Record.self, from: Data(contentsOf: out.appendingPathComponent("rank-\(r).json")))
            for step in 0..<3 {
                let contributing = (0..<n).filter { !(step == 1 && $0 == 1) }
                let expected = (0..<elements).map { i in Float(contributing.reduce(0) { $0 + (i + 7 * $1 + step) % 64 }) }
                XCTAssertEqual(record.digests[step], Self.fnv1a(expected), "np=\(n) rank \(r) step \(step)")
                XCTAssertEqual(record.steps[step]["tokens"], Double(contributing.reduce(0) { $0 + 10 + $1 }))
                XCTAssertEqual(record.steps[step]["step"], Double(step * n))
            }
        }
    }

    func testOneRank() throws { try check(ranks: 1) }
    func testTwoRanks() throws { try check(ranks: 2) }
    func testFourRanks() throws { try check(ranks: 4) }
    func testOneBucketAndTinyBuffers() throws {
        try check(ranks: 2, elements: 5, bucketBytes: 4 << 20)
        try check(ranks: 2, elements: 9, bucketBytes: 8)
    }
}
