import Foundation

/// The one way the project's JSON and JSONL files are encoded and read back as their
/// Codable types. Encoding sorts keys, so equal values always give the same bytes; reading
/// names the file (and the line of a JSONL file) that does not decode.
public enum JSONFiles {
    /// A pretty-printed document, newline-terminated (settings, manifests, reports).
    public static func document<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    /// One compact object per line.
    public static func lines<T: Encodable>(_ values: [T]) throws -> [UInt8] {
        let encoder = compactEncoder
        var bytes: [UInt8] = []
        for value in values { bytes += try encoder.encode(value); bytes.append(UInt8(ascii: "\n")) }
        return bytes
    }

    /// One compact line, for files appended to a line at a time.
    public static func line<T: Encodable>(_ value: T) throws -> [UInt8] { try lines([value]) }

    private static var compactEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The file at `path` as a `T`.
    public static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else { throw ArtifactError.missing(path: path) }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw ArtifactError.unreadable(path: path, line: nil, reason: describe(error))
        }
    }

    /// Every line of the JSONL file at `path` as a `T` (empty lines skipped).
    public static func readLines<T: Decodable>(_ type: T.Type, from path: String) throws -> [T] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ArtifactError.missing(path: path) }
        let decoder = JSONDecoder()
        var out: [T] = []
        var number = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            if line.isEmpty { continue }
            do { out.append(try decoder.decode(T.self, from: Data(line))) } catch {
                throw ArtifactError.unreadable(path: path, line: number, reason: describe(error))
            }
        }
        return out
    }

    /// Each line of the JSONL file at `path` as a `T`, read a block at a time (files larger than
    /// memory), with the line number; empty lines skipped.
    public static func forEachLine<T: Decodable>(_ type: T.Type, from path: String, _ body: (T, Int) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ArtifactError.missing(path: path) }
        defer { try? handle.close() }
        let decoder = JSONDecoder()
        var pending = Data(), number = 0
        func decode(_ line: Data) throws {
            number += 1
            if line.isEmpty { return }
            let value: T
            do { value = try decoder.decode(T.self, from: line) } catch {
                throw ArtifactError.unreadable(path: path, line: number, reason: describe(error))
            }
            try body(value, number)
        }
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
            pending.append(block)
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                try decode(Data(pending[start..<newline]))
                start = newline + 1
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { try decode(pending) }
    }

    /// A decoding error as a reader can act on it: the field's path and what was wrong.
    public static func describe(_ error: Error) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error as? DecodingError {
        case let .keyNotFound(key, context)?: return "missing field \(path(context.codingPath + [key]))"
        case let .typeMismatch(_, context)?, let .valueNotFound(_, context)?:
            return "field \(path(context.codingPath)): \(context.debugDescription)"
        case let .dataCorrupted(context)?:
            return context.codingPath.isEmpty ? "not valid JSON" : "field \(path(context.codingPath)): \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}
