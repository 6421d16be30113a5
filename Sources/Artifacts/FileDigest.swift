import Crypto
import Foundation

/// Checksums of files for run manifests: SHA-256 from swift-crypto, read in 1 MiB blocks so
/// a multi-gigabyte checkpoint is never held in memory.
public enum FileDigest {
    /// Lower-case hex SHA-256 of the file's bytes (what `sha256sum` prints).
    public static func sha256Hex(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ArtifactError.io(path: path, operation: "open", errno: ENOENT)
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty { hasher.update(data: block) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
