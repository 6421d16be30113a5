import Foundation
import TestSupport
import XCTest

/// A mistake on the command line of an mpirun job is said once (by rank 0), not once per rank,
/// and still fails the job with the usage error's status; a process that only looks like a
/// rank other than 0 still says it.
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
            XCTAssertFalse(run.stderr.contains("[rank "), "rank 0 says it, unprefixed: \(run.stderr)")
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

    /// A rank number inherited from a launcher's environment (a child process of a rank, a task of
    /// srun that nothing ends): the message comes after the wait, marked with the rank.
    func testARankOtherThanZeroThatNothingEndsStillSaysIt() throws {
        var environment = MPIRunner.cleanEnvironment
        environment["PMI_RANK"] = nil
        environment["SLURM_PROCID"] = "1"
        let run = try Process.outcome(MPIRunner.xtfBinary, ["score", "--model", "m"], withStandardError: true, environment: environment)
        XCTAssertEqual(run.status, 64, run.output)
        XCTAssertEqual(occurrences(of: "[rank 1] Error: Missing expected argument '--data <data>'", in: run.output), 1, run.output)
        let help = try Process.outcome(MPIRunner.xtfBinary, ["score", "--help"], withStandardError: true, environment: environment)
        XCTAssertEqual(help.status, 0, help.output)
        XCTAssertEqual(help.output, "", "help is rank 0's to show")
    }
}
