import Foundation
import Kernels
import TestSupport
import XCTest

/// OpenBLAS's kernels on a CPU its version does not know (Kernels/BLASCore.swift).
final class BLASCoreTests: XCTestCase {
    func testOnlyTheUnknownCPUFallbackIsReplacedByTheWidestKernelsTheFlagsAllow() {
        let avx512: Set = ["avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
        XCTAssertEqual(BLASCore.replacement(for: "Prescott", cpuFlags: avx512), "SkylakeX")
        XCTAssertEqual(BLASCore.replacement(for: "Prescott", cpuFlags: avx512.subtracting(["avx512bw"])), "Haswell")
        XCTAssertEqual(BLASCore.replacement(for: "Prescott", cpuFlags: ["avx", "avx2"]), "SandyBridge", "AVX2 without FMA")
        XCTAssertNil(BLASCore.replacement(for: "Prescott", cpuFlags: ["sse3", "ssse3"]))
        // A core OpenBLAS recognised is the user's machine as OpenBLAS knows it: kept.
        XCTAssertNil(BLASCore.replacement(for: "Haswell", cpuFlags: avx512))
        XCTAssertNil(BLASCore.replacement(for: "Zen", cpuFlags: avx512))
    }

    func testFlagsAreReadFromTheFirstFlagsLineOfCpuinfo() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cpuinfo-\(getpid())")
        defer { try? FileManager.default.removeItem(at: file) }
        try "processor\t: 0\nmodel\t\t: 207\nflags\t\t: fpu sse3 avx2 fma\nbugs\t\t: spectre_v1\nprocessor\t: 1\nflags\t\t: fpu\n"
            .write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(BLASCore.cpuFlags(cpuinfo: file.path), ["fpu", "sse3", "avx2", "fma"])
        XCTAssertEqual(BLASCore.cpuFlags(cpuinfo: "/nonexistent/cpuinfo"), [])
    }

    /// The built xtf, started without OPENBLAS_CORETYPE, never runs on OpenBLAS's generic
    /// fallback on a CPU with AVX (on this project's CI machines, Debian 12's OpenBLAS does not
    /// know the CPU model and picks it).
    func testXtfRunsOnTheKernelsItsCPUCanRun() throws {
        let flags = BLASCore.cpuFlags()
        guard flags.contains("avx") else {
            print("*** SKIP: this CPU has no AVX, so OpenBLAS's generic kernels are the right ones here ***")
            return
        }
        var environment = MPIRunner.cleanEnvironment
        environment["OPENBLAS_CORETYPE"] = nil
        let run = try Process.outcome(MPIRunner.xtfBinary, ["info", "--json"], withStandardError: false, environment: environment)
        XCTAssertEqual(run.status, 0, run.output)
        let info = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        let core = try XCTUnwrap(info["openblasCore"] as? String)
        XCTAssertNotEqual(core, BLASCore.unknownCPUFallback, "xtf ran on OpenBLAS's fallback kernels on a CPU with \(flags.filter { $0.hasPrefix("avx") }.sorted())")
    }
}
