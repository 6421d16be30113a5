import Foundation
import TestSupport
import XCTest

/// Every collective under mpirun with 1, 2 and 4 ranks: `xtf-testbench collectives` records
/// what each rank computed, and this test derives independently what each rank must hold.
final class CollectivesTests: XCTestCase {
    struct Record: Decodable {
        let rank: Int
        let size: Int
        let values: [String: [Double]]
        let digests: [String: String]
    }

    func testCollectivesOnOneRank() throws { try checkCollectives(ranks: 1) }
    func testCollectivesOnTwoRanks() throws { try checkCollectives(ranks: 2) }
    func testCollectivesOnFourRanks() throws { try checkCollectives(ranks: 4) }

    /// The same over TCP between separate hosts (network namespaces on this machine).
    func testCollectivesOnTwoAndFourNamespaceHosts() throws {
        if let reason = MPIRunner.namespaceHostsUnavailable {
            print("SKIP testCollectivesOnTwoAndFourNamespaceHosts: \(reason) (the multi-host TCP path is untested here)")
            return
        }
        try checkCollectives(ranks: 2, placement: .namespaceHosts)
        try checkCollectives(ranks: 4, placement: .namespaceHosts)
    }

    static let bigMegabytes = 64

    func checkCollectives(ranks n: Int, placement: MPIRunner.Placement = .localHost) throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("xtf-collectives-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try MPIRunner.run(ranks: n, ["collectives", "--out", out.path,
                                               "--big-megabytes", String(Self.bigMegabytes)],
                                    placement: placement, binary: MPIRunner.testbenchBinary)
        XCTAssertEqual(run.status, 0, "mpirun failed:\n\(run.stdout)\n\(run.stderr)")
        // Logging: normal output from rank 0 only, warnings from every rank with its rank.
        XCTAssertTrue(run.stderr.contains("selftest info from rank 0"), run.stderr)
        for r in 1..<max(n, 1) { XCTAssertFalse(run.stderr.contains("selftest info from rank \(r)"), run.stderr) }
        for r in 0..<n {
            let prefix = n > 1 ? "[rank \(r)] warning: " : "warning: "
            XCTAssertTrue(run.stderr.contains(prefix + "selftest warning from rank \(r)"), run.stderr)
        }
        let bigDigest = String(Self.expectedBigDigest(ranks: n), radix: 16)
        for r in 0..<n {
            let data = try Data(contentsOf: out.appendingPathComponent("rank-\(r).json"))
            let record = try JSONDecoder().decode(Record.self, from: data)
            XCTAssertEqual(record.rank, r)
            XCTAssertEqual(record.size, n)
            let expected = Self.expectedValues(rank: r, ranks: n)
            XCTAssertEqual(Set(record.values.keys), Set(expected.keys), "np=\(n) rank \(r): keys differ")
            for (key, want) in expected {
                XCTAssertEqual(record.values[key], want, "np=\(n) rank \(r): \(key)")
            }
            XCTAssertEqual(record.digests["big.sum"], bigDigest, "np=\(n) rank \(r): 64 MB all-reduce")
        }
    }

    /// Same inputs as the selftest: small integers (scaled), exact in every element type.
    static func input(length: Int, rank: Int, scale: Double) -> [Double] {
        (0..<length).map { i in Double((i * 31 + rank * 17) % 101 - 50) * scale }
    }

    static func expectedValues(rank r: Int, ranks n: Int) -> [String: [Double]] {
        var v: [String: [Double]] = ["barrier": [1]]
        let types: [(String, Double)] = [("Float", 0.5), ("Double", 0.5), ("Int32", 1), ("Int64", Double(1 << 40))]
        for (name, scale) in types {
            for length in [0, 1, 7, 1003] {
                let inputs = (0..<n).map { input(length: length, rank: $0, scale: scale) }
                let reductions: [(String, (Double, Double) -> Double)] = [("sum", +), ("max", { max($0, $1) }), ("min", { min($0, $1) })]
                for (op, combine) in reductions {
                    let result = (0..<length).map { i in inputs.dropFirst().reduce(inputs[0][i]) { combine($0, $1[i]) } }
                    v["allreduce.inplace.\(name).\(op).\(length)"] = result
                    v["allreduce.outofplace.\(name).\(op).\(length)"] = result
                    v["allreduce.outofplace.unchanged.\(name).\(op).\(length)"] = [1]
                    if r == n - 1 { v["reduce.\(name).\(op).\(length)"] = result }
                }
            }
        }
        let root = n - 1
        v["broadcast"] = (0..<(5 + root)).map { Double(100 + $0) }
        v["broadcast.codable"] = [0.25, 0.5, Double(root)]
        let fixed: [Double] = (0..<n).flatMap { (s: Int) -> [Double] in [Double(s * 10), Double(s * 10 + 1), Double(s * 10 + 2)] }
        v["allgather"] = fixed
        let counts = (0..<n).map(Double.init)
        let variable: [Double] = (0..<n).flatMap { (s: Int) -> [Double] in (0..<s).map { Double(s * 100 + $0) } }
        v["allgatherv.counts"] = counts
        v["allgatherv.values"] = variable
        if r == 0 {
            v["gather"] = fixed
            v["gatherv.counts"] = counts
            v["gatherv.values"] = variable
            v["gather.codable"] = (0..<n).map(Double.init)
            v["toRoot"] = (0..<n).flatMap { (s: Int) -> [Double] in [Double(s), Double(100 + s), Double(3 * s)] }
        }
        // Element i belongs to the slice holding it (bounds as the selftest's: at -np 4 rank 1's
        // holds no whole block of 16 and rank 2's is empty).
        let bounds = n == 4 ? [0, 250, 260, 260, 1003] : (0...n).map { s in s == n ? 1003 : s == 0 ? 0 : s * 250 + 5 }
        v["allgather.inplace"] = (0..<1003).map { i in Double((0..<n).last { bounds[$0] <= i }! * 10_000 + i) }
        v["allgather.inplace.large"] = [1]
        let left = (r + n - 1) % n
        v["ring"] = [Double(left), Double(2 * left), Double(left), 7]
        v["big.count"] = [Double(bigMegabytes * 1024 * 1024 / 4)]
        return v
    }

    /// FNV-1a over the Float bytes of the expected 64 MB sum: element i is
    /// n * (i mod 1024) + n(n-1)/2.
    static func expectedBigDigest(ranks n: Int) -> UInt64 {
        let count = bigMegabytes * 1024 * 1024 / 4
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<count {
            let value = Float(n * (i % 1024) + n * (n - 1) / 2)
            var bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { for b in $0 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 } }
        }
        return hash
    }
}
