import ArgumentParser
import Cluster
import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// Parses the command line as `Root`, runs the command and ends the process. The entry point
/// owns MPI's lifetime: commands initialise it on first use (through Communicator.world()),
/// and it is finalised here when the command ends. A command that fails on one rank of a
/// multi-rank job aborts the whole job, so no rank is left waiting in a collective for a peer
/// that is gone; a failure every rank agreed on ends cleanly, rank 0 saying why first.
public func runCommandLine<Root: ParsableCommand>(_ root: Root.Type) -> Never {
    // Before anything else runs: OpenBLAS's kernels can only be chosen at load time.
    BLASCore.reexecuteWithNativeKernelsIfNeeded()
    do {
        var command = try Root.parseAsRoot()
        try command.run()
        MPIRuntime.finalize()
        exit(0)
    } catch let error as CollectiveError {
        // Rank 0 says why before any rank exits: mpirun ends the whole job at the first
        // non-zero exit, which could otherwise kill rank 0 before its line is written.
        if error.isRoot { writeToStandardError(Root.fullMessage(for: error) + "\n") }
        try? Communicator.world().barrier()
        MPIRuntime.finalize()
        exit(error.isRoot ? Root.exitCode(for: error).rawValue : 1)
    } catch {
        let code = Root.exitCode(for: error)
        if code != .success, MPIRuntime.isInitialized, let world = try? Communicator.world(), world.size > 1 {
            writeToStandardError("[rank \(world.rank)] error: \(Root.fullMessage(for: error))\n")
            MPIRuntime.abort(exitCode: code.rawValue)
        }
        MPIRuntime.finalize()
        exit(Root.self, for: error)
    }
}

/// Ends the process for `error`: a command-line mistake with ArgumentParser's usage text, any
/// other failure as its `Error: ...` line written in one write(2), so that nothing mpirun
/// prints lands inside it.
func exit<Root: ParsableCommand>(_ root: Root.Type, for error: Error) -> Never {
    // ArgumentParser's own errors (usage, help, version) exit with its codes and texts.
    if Root.exitCode(for: error) != .failure || error is ValidationError {
        guard !MPIRuntime.isInitialized, let rank = MPIRuntime.launcherRank else { Root.exit(withError: error) }
        exitAsLaunchedRank(Root.self, rank: rank, for: error)
    }
    writeToStandardError(Root.fullMessage(for: error) + "\n")
    exit(Root.exitCode(for: error).rawValue)
}

/// A command-line mistake (or --help) under mpirun or srun: every rank parses the same command
/// line alike, so rank 0 alone prints it, once. The other ranks wait for it in a barrier before
/// a failing exit, because mpirun ends the whole job at the first non-zero exit, which could
/// kill rank 0 before its line is written. Failures other than these may differ between ranks
/// (a file missing on one node), so every rank says its own.
private func exitAsLaunchedRank<Root: ParsableCommand>(_ root: Root.Type, rank: Int, for error: Error) -> Never {
    let code = Root.exitCode(for: error)
    if code == .success {
        if rank == 0 { Root.exit(withError: error) }
        exit(0)
    }
    if rank == 0 { writeToStandardError(Root.fullMessage(for: error) + "\n") }
    if (try? MPIRuntime.initialize()) != nil { try? Communicator.world().barrier() }
    MPIRuntime.finalize()
    exit(code.rawValue)
}
