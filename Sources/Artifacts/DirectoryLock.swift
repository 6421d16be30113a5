import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One writer per run directory: an exclusive `flock` on `DIR/.xtf-lock`, held until the
/// process exits (the kernel releases it when the process dies, however it dies). The file
/// says who holds it, so a second writer's refusal names the holder. A process takes each
/// directory's lock once and keeps it; asking again is a no-op.
public enum DirectoryLock {
    public static let fileName = ".xtf-lock"

    public struct Held: Error, CustomStringConvertible, Equatable {
        public let directory: String
        public let holder: String
        public var description: String {
            "\(directory): in use by another xtf process (\(holder)); one writer at a time: wait for it, or choose another --out"
        }
    }

    nonisolated(unsafe) private static var held: [String: Int32] = [:]
    private static let guardLock = NSLock()

    /// A directory's one name: symbolic links resolved, so a run reached through a link and by
    /// its real path is one run.
    static func key(_ directory: String) -> String {
        URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// mkdir -p with the project's error (the path and the system's reason), not Foundation's.
    public static func createDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return }
            throw ArtifactError.io(path: path, operation: "create the directory", errno: ENOTDIR)
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try createDirectory(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw ArtifactError.io(path: path, operation: "create the directory", errno: errno)
        }
    }

    /// Whether this process holds the lock of `directory`.
    public static func holds(_ directory: String) -> Bool {
        let key = self.key(directory)
        guardLock.lock()
        defer { guardLock.unlock() }
        return held[key] != nil
    }

    /// Takes the lock of `directory` (created if missing) for the rest of the process, or
    /// throws `Held` naming the process that has it. `purpose` goes into the lock file.
    public static func acquire(_ directory: String, purpose: String) throws {
        try createDirectory(URL(fileURLWithPath: directory).standardizedFileURL.path)
        let key = self.key(directory)
        guardLock.lock()
        defer { guardLock.unlock() }
        if held[key] != nil { return }
        let path = (key as NSString).appendingPathComponent(fileName)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArtifactError.io(path: path, operation: "open", errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            var bytes = [UInt8](repeating: 0, count: 512)
            let n = pread(fd, &bytes, bytes.count, 0)
            close(fd)
            if code == ENOSYS || code == EOPNOTSUPP || code == ENOLCK {
                // A filesystem without file locks (Lustre without -o flock, NFS without lockd):
                // say so, and go on without the guarantee rather than refuse to run at all.
                FileHandle.standardError.write(Data("warning: \(path): this filesystem has no file locks (\(String(cString: strerror(code)))); one writer at a time is not enforced here\n".utf8))
                held[key] = -1
                return
            }
            guard code == EWOULDBLOCK else { throw ArtifactError.io(path: path, operation: "lock", errno: code) }
            let text = n > 0 ? String(decoding: bytes[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
            throw Held(directory: key, holder: text.isEmpty ? "holder unknown" : text)
        }
        let host = ProcessInfo.processInfo.hostName
        let started = ISO8601DateFormatter().string(from: Date())
        let text = Array("pid \(getpid()) on \(host), \(purpose), since \(started)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
        held[key] = fd
    }
}
