import Foundation
import TestSupport
import XCTest

/// scripts/xtf-mpirun's placement of ranks on cores.
final class LauncherTests: XCTestCase {
    /// The `cpus` column of rank 0 in `xtf info`'s table.
    private func cpusOfRankZero(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("0 ") }?.split(separator: " ").last.map(String.init)
    }

    /// mpirun binds each rank to one core by itself at -np 1 and 2; a rank with several OpenBLAS
    /// threads would run them all on that core (half the speed on two cores, measured).
    func testARankWithSeveralThreadsIsNotBoundToOneCore() throws {
        let unbound = try Process.outcome(MPIRunner.xtfBinary, ["info"], withStandardError: true)
        let all = try XCTUnwrap(cpusOfRankZero(unbound.output), unbound.output)
        guard ProcessInfo.processInfo.activeProcessorCount >= 2, all.contains("-") || all.contains(",") else {
            print("*** SKIP: this machine gives the tests one CPU (\(all)), so no binding can be told apart ***")
            return
        }
        let launcher = TestPaths.packageRoot.appendingPathComponent("scripts/xtf-mpirun")
        var environment = ProcessInfo.processInfo.environment
        // One thread: mpirun's own binding, to one CPU, is kept.
        environment["OPENBLAS_NUM_THREADS"] = "1"
        let one = try Process.outcome(launcher, ["-np", "1", "info"], withStandardError: true, environment: environment)
        XCTAssertEqual(one.status, 0, one.output)
        let cpu = try XCTUnwrap(cpusOfRankZero(one.output), one.output)
        XCTAssertFalse(cpu.contains("-") || cpu.contains(","), one.output)
        environment["OPENBLAS_NUM_THREADS"] = "2"
        let two = try Process.outcome(launcher, ["-np", "1", "info"], withStandardError: true, environment: environment)
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertEqual(cpusOfRankZero(two.output), all, two.output)
        // A bench's --threads counts too; a binding the user chose is kept.
        environment["XTF_MPIRUN_ARGS"] = "--report-bindings"
        let gemm = ["-np", "1", "bench", "gemm", "--threads", "2", "--sizes", "8", "--repetitions", "1"]
        let bench = try Process.outcome(launcher, gemm, withStandardError: true, environment: environment)
        XCTAssertTrue(bench.output.contains("MCW rank 0 is not bound"), bench.output)
        environment["XTF_MPIRUN_ARGS"] = "--report-bindings --bind-to core"
        let chosen = try Process.outcome(launcher, gemm, withStandardError: true, environment: environment)
        XCTAssertTrue(chosen.output.contains("MCW rank 0 bound to"), chosen.output)
    }
}
