import Foundation
import TestSupport
import XCTest

/// The coordinator's work queue under mpirun: every item is worked on exactly once, rank 0
/// records every finished item with the rank that did it, and rank 0 works too.
final class WorkQueueTests: XCTestCase {
    struct Record: Decodable {
        let worked: [Int]
        let finishedLog: [[Int]]
    }

    func run(ranks n: Int, items: Int, done: [Int] = []) throws -> [Record] {
        let out = try TestPaths.scratchDirectory("workqueue")
        defer { try? FileManager.default.removeItem(at: out) }
        var arguments = ["workqueue", "--out", out.path, "--items", String(items)]
        if !done.isEmpty { arguments += ["--done"] + done.map(String.init) }
        let result = try MPIRunner.run(ranks: n, arguments, binary: MPIRunner.testbenchBinary)
        XCTAssertEqual(result.status, 0, "mpirun failed:\n\(result.stdout)\n\(result.stderr)")
        return try (0..<n).map { r in
            try JSONDecoder().decode(Record.self, from: Data(contentsOf: out.appendingPathComponent("rank-\(r).json")))
        }
    }

    func check(ranks n: Int, items: Int, done: [Int] = []) throws {
        let records = try run(ranks: n, items: items, done: done)
        let expected = (0..<items).filter { !done.contains($0) }
        let worked = records.flatMap(\.worked)
        XCTAssertEqual(worked.sorted(), expected, "np=\(n): each item exactly once")
        let log = records[0].finishedLog
        XCTAssertEqual(log.map { $0[0] }.sorted(), expected, "np=\(n): rank 0 recorded every finished item once")
        for entry in log {
            XCTAssertTrue(records[entry[1]].worked.contains(entry[0]), "item \(entry[0]) credited to rank \(entry[1])")
        }
        for r in 1..<n { XCTAssertTrue(records[r].finishedLog.isEmpty) }
        if n > 1 && expected.count >= 8 * n {
            XCTAssertFalse(records[0].worked.isEmpty, "np=\(n): rank 0 takes part in the work")
            XCTAssertGreaterThan(records.filter { !$0.worked.isEmpty }.count, 1, "np=\(n): work is shared")
        }
    }

    func testOneRank() throws { try check(ranks: 1, items: 12) }
    func testTwoRanks() throws { try check(ranks: 2, items: 40) }
    func testFourRanksResumingWithSomeItemsDone() throws { try check(ranks: 4, items: 40, done: [0, 3, 4, 17, 39]) }
    func testMoreRanksThanItems() throws { try check(ranks: 4, items: 2) }
}
