import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TensorBoard event file (`events.out.tfevents.<time>.<host>`) of scalars: TFRecord framing
/// (length, masked CRC-32C of the length, the record, masked CRC-32C of the record) around
/// protobuf-encoded `Event` messages, the first one carrying the file version. Each event is
/// written and flushed as it comes, so TensorBoard shows a run while it trains.
public final class TensorBoardEvents {
    public let path: String
    private let handle: FileHandle

    /// Creates a new event file in `directory`.
    public init(directory: String, wallTime: Double = Date().timeIntervalSince1970) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        path = (directory as NSString).appendingPathComponent("events.out.tfevents.\(Int(wallTime)).\(host).\(getpid())")
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ArtifactError.io(path: path, operation: "create", errno: errno)
        }
        self.handle = handle
        var event = Protobuf()
        event.double(1, wallTime)
        event.string(3, "brain.Event:2")
        try write(event.bytes)
    }

    deinit { try? handle.close() }

    /// One event holding `scalars` (tag, value) at `step`.
    public func add(step: Int, scalars: [(tag: String, value: Double)], wallTime: Double = Date().timeIntervalSince1970) throws {
        var summary = Protobuf()
        for (tag, value) in scalars where value.isFinite {
            var entry = Protobuf()
            entry.string(1, tag)
            entry.float(2, Float(value))
            summary.message(1, entry)
        }
        var event = Protobuf()
        event.double(1, wallTime)
        event.varint(2, UInt64(bitPattern: Int64(step)))
        event.message(5, summary)
        try write(event.bytes)
    }

    private func write(_ record: [UInt8]) throws {
        var length = [UInt8](repeating: 0, count: 8)
        withUnsafeBytes(of: UInt64(record.count).littleEndian) { length = Array($0) }
        var framed = length
        framed += Self.littleEndian(Self.maskedCRC32C(length))
        framed += record
        framed += Self.littleEndian(Self.maskedCRC32C(record))
        do { try handle.write(contentsOf: framed); try handle.synchronize() } catch {
            throw ArtifactError.io(path: path, operation: "write", errno: errno)
        }
    }

    private static func littleEndian(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    /// TFRecord's mask of a CRC-32C, so that a CRC of data holding CRCs stays well mixed.
    static func maskedCRC32C(_ bytes: [UInt8]) -> UInt32 {
        let crc = crc32c(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32C (Castagnoli), reflected, as TFRecord uses.
    public static func crc32c(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// The few protobuf wire encodings an Event needs.
private struct Protobuf {
    var bytes: [UInt8] = []

    mutating func key(_ field: Int, _ wireType: UInt64) { varintBytes(UInt64(field) << 3 | wireType) }

    mutating func varintBytes(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    mutating func varint(_ field: Int, _ v: UInt64) { key(field, 0); varintBytes(v) }
    mutating func double(_ field: Int, _ v: Double) { key(field, 1); withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
    mutating func float(_ field: Int, _ v: Float) { key(field, 5); withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
    mutating func string(_ field: Int, _ s: String) { key(field, 2); varintBytes(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
    mutating func message(_ field: Int, _ m: Protobuf) { key(field, 2); varintBytes(UInt64(m.bytes.count)); bytes += m.bytes }
}
