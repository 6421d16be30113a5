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
    var command: ParsableCommand
    do { command = try Root.parseAsRoot() } catch { exitForCommandLineMistake(Root.self, error) }
    do {
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
        // --help parses into a command whose run() throws the help text, before MPI starts.
        if code == .success, !MPIRuntime.isInitialized { exitForCommandLineMistake(Root.self, error) }
        MPIRuntime.finalize()
        exit(Root.self, for: error)
    }
}

/// Ends the process for `error`: a command-line mistake with ArgumentParser's usage text, any
/// other failure as its `Error: ...` line written in one write(2), so that nothing mpirun
/// prints lands inside it.
func exit<Root: ParsableCommand>(_ root: Root.Type, for error: Error) -> Never {
    // ArgumentParser's own errors (usage, help, version) exit with its codes and texts.
    if Root.exitCode(for: error) != .failure || error is ValidationError { Root.exit(withError: error) }
    writeToStandardError(Root.fullMessage(for: error) + "\n")
    exit(Root.exitCode(for: error).rawValue)
}

/// A mistake on the command line, or --help, found before the command runs. Under mpirun or
/// srun every rank parses its own copy of the command line, usually the same one, and would
/// print the same text. Rank 0 prints it and exits at once; the other ranks first wait a few
/// seconds for the launcher to end them (mpirun ends the job at the first failing exit), and
/// print their own only if it does not (srun without --kill-on-bad-exit, a rank whose command
/// line differs, a rank number inherited by a process outside any job), so no message is lost.
/// MPI is never started here, so nothing can wait on a peer.
private func exitForCommandLineMistake<Root: ParsableCommand>(_ root: Root.Type, _ error: Error) -> Never {
    guard let rank = MPIRuntime.launcherRank, rank != 0 else { exit(Root.self, for: error) }
    let code = Root.exitCode(for: error)
    // Help and version are rank 0's to show; the other ranks succeed quietly.
    if code == .success { exit(0) }
    sleep(launchedRankGraceSeconds)
    writeToStandardError("[rank \(rank)] " + Root.fullMessage(for: error) + "\n")
    exit(code.rawValue)
}

/// How long a rank other than 0 waits for the launcher to end it after a command-line mistake.
let launchedRankGraceSeconds: UInt32 = 5
