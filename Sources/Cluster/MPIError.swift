import CMPI

/// Errors of the Cluster layer. MPI failures carry MPI's own error string.
public enum ClusterError: Error, CustomStringConvertible, Equatable {
    /// An MPI call returned an error code.
    case mpi(call: String, code: Int32, message: String)
    /// A request the Cluster layer cannot pass to MPI (too long for its counts, nothing to send).
    case badArgument(String)

    public var description: String {
        switch self {
        case let .mpi(call, code, message): return "\(call) failed (MPI error \(code)): \(message)"
        case let .badArgument(text): return text
        }
    }
}

/// The text MPI gives for an error code.
func mpiErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
    var length: Int32 = 0
    guard MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS else { return "unknown MPI error" }
    return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Turns an MPI return code into a thrown `ClusterError.mpi`.
@inline(__always)
func check(_ code: Int32, _ call: @autoclosure () -> String) throws {
    if code != MPI_SUCCESS {
        throw ClusterError.mpi(call: call(), code: code, message: mpiErrorString(code))
    }
}
