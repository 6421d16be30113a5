import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Errors reading and writing the project's files; each names the file.
public enum ArtifactError: Error, CustomStringConvertible, Equatable {
    case io(path: String, operation: String, errno: Int32)
    case missing(path: String)
    /// The file is there but is not what its reader expects (`line` is 1-based, for JSONL).
    case unreadable(path: String, line: Int?, reason: String)

    public var description: String {
        switch self {
        case let .io(path, operation, code):
            return "\(path): \(operation) failed: \(String(cString: strerror(code)))"
        case let .missing(path): return "\(path): missing"
        case let .unreadable(path, line, reason): return "\(path)\(line.map { ", line \($0)" } ?? ""): cannot be read: \(reason)"
        }
    }
}

/// Writes files so that a reader never sees a partial one: the bytes go to a temporary file
/// in the same directory, which is flushed to disk (fsync) and then renamed over the target;
/// the directory is fsynced so the rename itself survives a crash. A crash or a full disk
/// leaves at most a `.tmp-*` file, which no reader takes for a complete output.
public final class AtomicFile {
    public let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private var committed = false

    /// Opens a new temporary file beside `path` (creating the directory if needed).
    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try DirectoryLock.createDirectory(directory) }
        temporaryPath = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ArtifactError.io(path: temporaryPath, operation: "create", errno: errno) }
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        // Never committed (an error on the way): remove the partial temporary file.
        if !committed {
            if descriptor >= 0 { close(descriptor) }
            unlink(temporaryPath)
        }
    }

    public func write(_ bytes: some Collection<UInt8>) throws {
        // A large contiguous block (a checkpoint's tensor) goes straight to the file: copying it
        // into the buffer first would hold it twice.
        if bytes.count >= 1 << 20, let written: Void = try bytes.withContiguousStorageIfAvailable({ block in
            try flush()
            try writeAll(UnsafeRawBufferPointer(block))
        }) { return written }
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    public func write(_ text: String) throws {
        try write(text.utf8)
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw ArtifactError.io(path: temporaryPath, operation: "write", errno: errno)
            }
            offset += n
        }
    }

    /// Makes the file visible at `path`, complete, or throws and leaves `path` as it was.
    public func commit() throws {
        try flush()
        guard fsync(descriptor) == 0 else { throw ArtifactError.io(path: temporaryPath, operation: "fsync", errno: errno) }
        guard close(descriptor) == 0 else { throw ArtifactError.io(path: temporaryPath, operation: "close", errno: errno) }
        descriptor = -1
        guard rename(temporaryPath, path) == 0 else { throw ArtifactError.io(path: path, operation: "rename", errno: errno) }
        committed = true
        Self.syncDirectory(of: path)
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let file = try AtomicFile(path: path)
        try file.write(bytes)
        try file.commit()
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Writes a Codable value as pretty, key-sorted JSON (stable bytes for equal values).
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        try write(try JSONFiles.document(value), to: path)
    }

    /// Writes Codable values one compact, key-sorted JSON object per line.
    public static func writeJSONLines<T: Encodable>(_ values: [T], to path: String) throws {
        try write(try JSONFiles.lines(values), to: path)
    }

    static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
