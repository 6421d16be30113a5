import Foundation
import TestSupport
import XCTest

/// A mistake on the command line of an mpirun job is said once (by rank 0), not once per rank,
/// and still fails the job with the usage error's status.
final class LaunchedUsageTests: XCTestCase {
    private func occurrences(of text: String, in output: String) -> Int {
        output.components(separatedBy: text).count - 1
    }

    func testAUsageErrorIsPrintedOnceWhateverTheRanks() throws {
        for ranks in [1, 2, 4] {
            let run = try MPIRunner.run(ranks: ranks, ["score", "--model", "m"], timeout: 60)
            XCTAssertEqual(run.status, 64, "-np \(ranks): \(run.stderr)")
            XCTAssertEqual(occurrences(of: "Missing expected argument '--data <data>'", in: run.stderr), 1, "-np \(ranks): \(run.stderr)")
            XCTAssertEqual(occurrences(of: "Usage: xtf score", in: run.stderr), 1, "-np \(ranks): \(run.stderr)")
        }
    }

    func testAFailedValidationIsPrintedOnce() throws {
        let run = try MPIRunner.run(ranks: 2, ["bench", "gemm", "--repetitions", "0"], timeout: 60)
        XCTAssertEqual(run.status, 64, run.stderr)
        XCTAssertEqual(occurrences(of: "--repetitions must be at least 1", in: run.stderr), 1, run.stderr)
    }

    func testHelpIsPrintedOnce() throws {
        let run = try MPIRunner.run(ranks: 2, ["score", "--help"], timeout: 60)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(occurrences(of: "USAGE: xtf score", in: run.stdout), 1, run.stdout)
    }
}
