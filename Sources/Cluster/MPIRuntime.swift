import CMPI
import Synchronization

/// Thread support levels, as MPI defines them.
public enum ThreadLevel: Int32, Sendable, Codable, CustomStringConvertible {
    case single = 0, funneled = 1, serialized = 2, multiple = 3

    init(mpi value: Int32) {
        switch value {
        case Int32(MPI_THREAD_SINGLE): self = .single
        case Int32(MPI_THREAD_FUNNELED): self = .funneled
        case Int32(MPI_THREAD_SERIALIZED): self = .serialized
        default: self = .multiple
        }
    }

    public var description: String {
        switch self {
        case .single: return "MPI_THREAD_SINGLE"
        case .funneled: return "MPI_THREAD_FUNNELED"
        case .serialized: return "MPI_THREAD_SERIALIZED"
        case .multiple: return "MPI_THREAD_MULTIPLE"
        }
    }
}

/// MPI's process-wide lifetime: initialised at most once (MPI forbids a second
/// MPI_Init), finalised once when the command ends. Without mpirun the process becomes a
/// world of size 1 (MPI's singleton mode).
public enum MPIRuntime {
    private struct State {
        var initialized = false
        var finalized = false
        var provided: ThreadLevel = .single
    }
    private static let state = Mutex(State())

    /// Initialises MPI on first use, asking for MPI_THREAD_MULTIPLE; returns the level MPI provided.
    @discardableResult
    public static func initialize() throws -> ThreadLevel {
        try state.withLock { s in
            if s.initialized { return s.provided }
            var provided: Int32 = 0
            try check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &provided), "MPI_Init_thread")
            // Errors come back as return codes (turned into Swift errors), not as aborts.
            try check(MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()),
                      "MPI_Comm_set_errhandler")
            s.initialized = true
            s.provided = ThreadLevel(mpi: provided)
            return s.provided
        }
    }

    public static var isInitialized: Bool { state.withLock { $0.initialized && !$0.finalized } }

    /// The rank a launcher gave this process (Open MPI's mpirun, a PMIx or PMI launcher, Slurm's
    /// srun), read from the environment, so it is known before MPI starts; nil without one. Only
    /// a hint: a child process of a rank inherits these variables too.
    public static var launcherRank: Int? {
        for key in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"] {
            if let value = getenv(key), let rank = Int(String(cString: value)) { return rank }
        }
        return nil
    }

    /// The thread level MPI provided (`.single` before initialisation).
    public static var threadLevel: ThreadLevel { state.withLock { $0.provided } }

    /// Finalises MPI if it was initialised; safe to call more than once.
    public static func finalize() {
        state.withLock { s in
            guard s.initialized, !s.finalized else { return }
            s.finalized = true
            MPI_Finalize()
        }
    }

    /// Ends every rank of the job: a failing rank must not leave the others waiting in a
    /// collective forever.
    public static func abort(exitCode: Int32) -> Never {
        if isInitialized { MPI_Abort(cmpi_comm_world(), exitCode) }
        exit(exitCode)
    }

    /// The MPI library's own version string (for `xtf info`).
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        MPI_Get_library_version(&buffer, &length)
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init)?.trimmingSpaces ?? text
    }

    /// MPI standard version implemented, e.g. "3.1".
    public static var standardVersion: String {
        var major: Int32 = 0, minor: Int32 = 0
        MPI_Get_version(&major, &minor)
        return "\(major).\(minor)"
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "," { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "," || c == "\0" { s.removeLast() }
        return String(s)
    }
}

#if canImport(Glibc)
import Glibc
#endif
