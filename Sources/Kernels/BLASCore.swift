import CBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS picks its kernels when the library loads (before `main`), from the CPU's family
/// and model. Debian 12's OpenBLAS 0.3.21 does not know CPUs newer than itself (Emerald
/// Rapids, model 207, for one) and falls back to its Prescott (SSE3) kernels, whose sgemm ran
/// at a sixth of the AVX-512 kernels' speed there (docs/BENCHMARKS.md). Only the environment
/// variable OPENBLAS_CORETYPE overrides the choice, so the entry point re-executes the process
/// with it set, once, from the CPU's feature flags. A user's own OPENBLAS_CORETYPE is kept.
public enum BLASCore {
    /// The core OpenBLAS falls back to for a CPU model it does not know.
    public static let unknownCPUFallback = "Prescott"

    /// The OpenBLAS core to use instead of `current`, or nil to keep it: a replacement only for
    /// the unknown-CPU fallback, the widest kernels the CPU's flags (as /proc/cpuinfo names them)
    /// can run.
    public static func replacement(for current: String, cpuFlags flags: Set<String>) -> String? {
        guard current == unknownCPUFallback else { return nil }
        if flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        if flags.contains("avx") { return "SandyBridge" }
        return nil
    }

    /// This CPU's feature flags: the first "flags" line of /proc/cpuinfo (empty elsewhere).
    public static func cpuFlags(cpuinfo path: String = "/proc/cpuinfo") -> Set<String> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// Re-executes this process with OPENBLAS_CORETYPE set when OpenBLAS fell back to generic
    /// kernels on a CPU that has wider ones, and the variable is not set already (so at most
    /// once). Call first thing in `main`, before any thread or MPI starts. Returns when nothing
    /// is to be done, or after saying so when the re-execution fails (the process then runs on
    /// the slow kernels).
    public static func reexecuteWithNativeKernelsIfNeeded() {
        let current = String(cString: openblas_get_corename())
        guard current == unknownCPUFallback, ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let core = replacement(for: current, cpuFlags: cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        let reason = String(cString: strerror(errno))
        FileHandle.standardError.write(Data("xtf: warning: could not restart on OpenBLAS's \(core) kernels (\(reason)); running on its \(current) kernels, several times slower\n".utf8))
    }
}
