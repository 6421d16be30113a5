import Foundation
import TestSupport
import XCTest

/// scripts/xtf-mpirun's placement of ranks on cores.
final class LauncherTests: XCTestCase {
    /// How many CPUs rank 0 may run on: the `cpus` column of `xtf info` ("0-3,8", "1").
    private func cpuCountOfRankZero(_ output: String) -> Int? {
        guard let column = output.split(separator: "\n").first(where: { $0.hasPrefix("0 ") })?.split(separator: " ").last else { return nil }
        return column.split(separator: ",").map { part in
            let ends = part.split(separator: "-").compactMap { Int($0) }
            return ends.count == 2 ? ends[1] - ends[0] + 1 : 1
        }.reduce(0, +)
    }

    /// mpirun binds each rank to one core by itself at -np 1 and 2; a rank with several OpenBLAS
    /// threads would run them all on that core (half the gemm rate on two cores, measured).
    func testARankWithSeveralThreadsIsNotBoundToOneCore() throws {
        // The user's own placement settings would change what is tested.
        var environment = MPIRunner.cleanEnvironment.filter { key, _ in key != "XTF_MPIRUN_ARGS" && !key.hasPrefix("OMPI_MCA_") }
        environment["XTF_BIN"] = MPIRunner.xtfBinary.path
        let launcher = TestPaths.packageRoot.appendingPathComponent("scripts/xtf-mpirun")
        func launch(threads: Int, _ arguments: [String], mpirunArguments: String = "") throws -> String {
            environment["OPENBLAS_NUM_THREADS"] = String(threads)
            environment["XTF_MPIRUN_ARGS"] = mpirunArguments
            let run = try Process.outcome(launcher, ["-np", "1"] + arguments, withStandardError: true, environment: environment)
            XCTAssertEqual(run.status, 0, run.output)
            return run.output
        }
        let unbound = try Process.outcome(MPIRunner.xtfBinary, ["info"], withStandardError: true)
        let all = try XCTUnwrap(cpuCountOfRankZero(unbound.output), unbound.output)
        let oneCore = try launch(threads: 1, ["info"], mpirunArguments: "--bind-to core")
        let core = try XCTUnwrap(cpuCountOfRankZero(oneCore), oneCore)
        guard core < all else {
            let reason = "one core here spans all \(all) CPUs (one core, or one CPU), so unbinding cannot be told apart"
            print("*** SKIP: \(reason) ***")
            throw XCTSkip(reason)
        }
        // One thread: mpirun's own binding to a core is kept.
        let oneThread = try launch(threads: 1, ["info"])
        XCTAssertEqual(cpuCountOfRankZero(oneThread), core, oneThread)
        let twoThreads = try launch(threads: 2, ["info"])
        XCTAssertEqual(cpuCountOfRankZero(twoThreads), all, twoThreads)

        // A bench's --threads counts, in either form, over OPENBLAS_NUM_THREADS; a placement
        // the user chose is kept.
        let gemm = ["bench", "gemm", "--sizes", "8", "--repetitions", "1"]
        for (threads, extra, mpirunArguments, unbinds) in [(1, ["--threads", "2"], "", true), (1, ["--threads=2"], "", true),
                                                           (2, ["--threads", "1"], "", false), (1, ["--threads", "2"], "--bind-to core", false),
                                                           (1, ["--threads", "2"], "--mca hwloc_base_binding_policy core", false),
                                                           (1, ["--threads", "2"], "--map-by slot", true)] {
            let output = try launch(threads: threads, gemm + extra, mpirunArguments: "--report-bindings " + mpirunArguments)
            XCTAssertEqual(output.contains("MCW rank 0 is not bound"), unbinds, "\(threads) \(extra) \(mpirunArguments): \(output)")
        }
    }
}
