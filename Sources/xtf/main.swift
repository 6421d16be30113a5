import ArgumentParser
import Cluster
#if canImport(Glibc)
import Glibc
#endif

// The entry point owns MPI's lifetime: commands initialise it on first use (through
// Communicator.world()), and it is finalised here when the command ends. A command that
// fails on one rank of a multi-rank job aborts the whole job, so no rank is left waiting
// in a collective for a peer that is gone.
do {
    var command = try XTF.parseAsRoot()
    try command.run()
    MPIRuntime.finalize()
} catch let error as CollectiveError {
    // Every rank failed together: end cleanly; rank 0 says why.
    MPIRuntime.finalize()
    if error.isRoot { XTF.exit(withError: error) }
    exit(1)
} catch {
    let code = XTF.exitCode(for: error)
    if code != .success, MPIRuntime.isInitialized, let world = try? Communicator.world(), world.size > 1 {
        let message = XTF.fullMessage(for: error)
        writeToStandardError("[rank \(world.rank)] error: \(message)\n")
        MPIRuntime.abort(exitCode: code.rawValue)
    }
    MPIRuntime.finalize()
    XTF.exit(withError: error)
}
