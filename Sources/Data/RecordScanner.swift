import Foundation

/// Where one record sits in its file: byte range, the line it starts on, and (for formats
/// whose records are keyed, such as PubMedQA) its key.
public struct RecordSpan: Sendable, Equatable {
    public var start: Int
    public var end: Int
    public var line: Int
    public var key: String?
    /// Set when the record is longer than the reader's limit: its bytes are never buffered.
    public var oversized = false
    /// The record's position in a top-level JSON array (0-based; nil for other layouts).
    public var index: Int?
}

/// Reads a file sequentially in fixed blocks, so memory does not grow with the file (or with
/// a very long line: bytes of a record past the size limit are counted, not kept).
struct BlockReader {
    let handle: FileHandle
    let file: String
    let blockSize = 1 << 20
    private(set) var position: Int
    private var block: [UInt8] = []
    private var index = 0
    let end: Int

    init(file: String, from start: Int = 0, to end: Int? = nil) throws {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw DataError.cannotOpen(file: file, reason: FileManager.default.fileExists(atPath: file)
                                       ? "permission denied" : "no such file")
        }
        self.handle = handle
        self.file = file
        self.position = start
        self.end = end ?? Int.max
        if start > 0 { try handle.seek(toOffset: UInt64(start)) }
    }

    /// The next byte, or nil at the end of the range.
    mutating func next() throws -> UInt8? {
        if index == block.count {
            guard position < end else { return nil }
            let want = min(blockSize, end - position)
            guard let data = try handle.read(upToCount: want), !data.isEmpty else { return nil }
            block = Array(data)
            index = 0
        }
        let byte = block[index]
        index += 1
        position += 1
        return byte
    }

    func close() { try? handle.close() }
}

/// Splits a JSONL byte range into lines. Blank lines are not records.
struct JSONLines {
    var reader: BlockReader
    var line: Int
    let maxRecordBytes: Int

    init(file: String, start: Int = 0, end: Int? = nil, firstLine: Int = 1, maxRecordBytes: Int) throws {
        reader = try BlockReader(file: file, from: start, to: end)
        line = firstLine
        self.maxRecordBytes = maxRecordBytes
    }

    /// The next non-blank line: its span and bytes (empty when oversized).
    mutating func next() throws -> (span: RecordSpan, bytes: [UInt8])? {
        while true {
            let start = reader.position
            var bytes: [UInt8] = []
            var length = 0, blank = true, sawAny = false
            while let b = try reader.next() {
                sawAny = true
                if b == UInt8(ascii: "\n") { break }
                length += 1
                if blank && !(b == 32 || b == 9 || b == 13) { blank = false }
                if length <= maxRecordBytes { bytes.append(b) }
            }
            guard sawAny else { return nil }
            let thisLine = line
            line += 1
            if blank { continue }
            let span = RecordSpan(start: start, end: start + length, line: thisLine, key: nil,
                                  oversized: length > maxRecordBytes)
            return (span, span.oversized ? [] : bytes)
        }
    }
}

/// Streams the records of a top-level JSON container one at a time, without parsing or
/// holding the whole file: the members of an object (`{"key": {...}, ...}`, the layout of
/// PubMedQA's ori_pqal.json) or the elements of an array (`[{...}, {...}]`, a JSON dataset).
struct JSONContainerRecords {
    var reader: BlockReader
    var line: Int
    let maxRecordBytes: Int
    /// true: an object of keyed records; false: an array.
    let keyed: Bool
    private var openedTopLevel: Bool
    private var nextIndex: Int

    init(file: String, keyed: Bool, start: Int = 0, end: Int? = nil, firstLine: Int = 1, firstIndex: Int = 0, maxRecordBytes: Int) throws {
        reader = try BlockReader(file: file, from: start, to: end)
        line = firstLine
        self.keyed = keyed
        self.maxRecordBytes = maxRecordBytes
        openedTopLevel = start > 0  // a chunk starts inside the container, at a record
        nextIndex = firstIndex
    }

    private mutating func byte() throws -> UInt8? {
        let b = try reader.next()
        if b == UInt8(ascii: "\n") { line += 1 }
        return b
    }

    private mutating func skipSpaceAndCommas() throws -> UInt8? {
        while let b = try byte() {
            if b == 32 || b == 9 || b == 10 || b == 13 || b == UInt8(ascii: ",") { continue }
            return b
        }
        return nil
    }

    /// The next member: its key, and the bytes of its value (a JSON object or array).
    mutating func next() throws -> (span: RecordSpan, bytes: [UInt8])? {
        guard var b = try skipSpaceAndCommas() else {
            if !openedTopLevel { throw DataError.emptyFile(file: reader.file) }
            // A chunk ends at its last record; the whole file must reach the closing bracket.
            if reader.end == Int.max {
                throw DataError.malformed(file: reader.file, line: line, reason: keyed ? "unterminated JSON object: the file ends before its closing }" : "unterminated JSON array: the file ends before its closing ]")
            }
            return nil
        }
        if !openedTopLevel {
            guard b == UInt8(ascii: keyed ? "{" : "[") else {
                throw DataError.malformed(file: reader.file, line: line, reason: keyed ? "expected a JSON object of records" : "expected a JSON array of records")
            }
            openedTopLevel = true
            guard let c = try skipSpaceAndCommas() else {
                throw DataError.malformed(file: reader.file, line: line, reason: keyed ? "unterminated JSON object" : "unterminated JSON array")
            }
            b = c
        }
        if b == UInt8(ascii: keyed ? "}" : "]") { return nil }
        let start = reader.position - 1
        let memberLine = line
        if !keyed {
            guard b == UInt8(ascii: "{") || b == UInt8(ascii: "[") else {
                throw DataError.malformed(file: reader.file, line: memberLine, reason: "record \(nextIndex) of the array is not a JSON object")
            }
            return try value(opening: b, start: start, line: memberLine, key: nil)
        }
        guard b == UInt8(ascii: "\"") else {
            throw DataError.malformed(file: reader.file, line: line, reason: "expected a quoted record key")
        }
        var key: [UInt8] = []
        var escaped = false
        while let c = try byte() {
            if escaped { escaped = false; key.append(c); continue }
            if c == UInt8(ascii: "\\") { escaped = true; continue }
            if c == UInt8(ascii: "\"") { break }
            key.append(c)
        }
        guard try skipSpaceAndCommas() == UInt8(ascii: ":"), let open = try skipSpaceAndCommas(),
              open == UInt8(ascii: "{") || open == UInt8(ascii: "[") else {
            throw DataError.malformed(file: reader.file, line: memberLine,
                                      reason: "record \"\(String(decoding: key, as: UTF8.self))\" is not a JSON object")
        }
        return try value(opening: open, start: start, line: memberLine, key: String(decoding: key, as: UTF8.self))
    }

    /// The rest of a record whose opening bracket was just read.
    private mutating func value(opening open: UInt8, start: Int, line memberLine: Int, key: String?) throws -> (span: RecordSpan, bytes: [UInt8]) {
        // Copy the value, tracking nesting outside strings.
        var value: [UInt8] = [open]
        var depth = 1, inString = false, escape = false, length = 1
        while depth > 0, let c = try byte() {
            length += 1
            if length <= maxRecordBytes { value.append(c) }
            if inString {
                if escape { escape = false } else if c == UInt8(ascii: "\\") { escape = true } else if c == UInt8(ascii: "\"") { inString = false }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                depth -= 1
            }
        }
        guard depth == 0 else {
            throw DataError.malformed(file: reader.file, line: memberLine, reason: "the file ends inside a record")
        }
        var span = RecordSpan(start: start, end: reader.position, line: memberLine, key: key, oversized: length > maxRecordBytes)
        if !keyed { span.index = nextIndex; nextIndex += 1 }
        return (span, span.oversized ? [] : value)
    }
}
