import CZlib
import Foundation

/// Reads .gz files with zlib's inflate, streaming: the compressed file is read in 1 MiB
/// blocks, never whole. Concatenated members decompress one after another, as `gzip -dc`.
public enum GzipFile {
    /// The decompressed bytes; a corrupt, truncated or empty file is an error naming it.
    public static func decompress(_ path: String) throws -> Data {
        func failure(_ reason: String) -> EvaluationError { .cannotRead(path: path, reason: reason) }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw failure("cannot open the file") }
        defer { try? handle.close() }
        var stream = z_stream()
        guard czlib_inflate_init_gzip(&stream) == Z_OK else { throw failure("zlib could not start inflating") }
        defer { inflateEnd(&stream) }

        var output = Data()
        var block = [UInt8](repeating: 0, count: 1 << 16)
        var memberEnded = false  // the last member read so far is complete (none yet: false)
        while true {
            let input: Data
            do { input = try handle.read(upToCount: 1 << 20) ?? Data() } catch { throw failure("read failed: \(error)") }
            if input.isEmpty { break }
            try input.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                stream.next_in = UnsafeMutablePointer(mutating: raw.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(raw.count)
                while true {
                    if memberEnded {
                        if stream.avail_in == 0 { return }
                        inflateReset(&stream)  // more bytes after a member: the next member's header
                        memberEnded = false
                    }
                    let status = block.withUnsafeMutableBufferPointer { out in
                        stream.next_out = out.baseAddress
                        stream.avail_out = uInt(out.count)
                        return inflate(&stream, Z_NO_FLUSH)
                    }
                    output.append(contentsOf: block[..<(block.count - Int(stream.avail_out))])
                    switch status {
                    case Z_STREAM_END: memberEnded = true
                    case Z_OK, Z_BUF_ERROR: if stream.avail_in == 0 && stream.avail_out > 0 { return }  // wants more input
                    default:
                        let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                        throw failure("not a valid gzip file (\(detail))")
                    }
                }
            }
        }
        guard memberEnded else { throw failure("truncated gzip file (it ends before a compressed member does)") }
        return output
    }
}
