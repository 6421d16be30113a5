import Foundation

/// One string field of every record of a JSONL file; errors name the file and line.
public enum JSONLField {
    public struct Record: Sendable {
        public let line: Int
        public let utf8: [UInt8]
    }

    public static func read(_ path: String, field: String) throws -> [Record] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.cannotOpen(file: path, reason: "no such file, or not readable")
        }
        var records: [Record] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard String(validating: line, as: UTF8.self) != nil else {
                throw DataError.malformed(file: path, line: lineNumber, reason: "the line is not valid UTF-8")
            }
            let object: Any
            do { object = try JSONSerialization.jsonObject(with: Data(line)) } catch {
                throw DataError.malformed(file: path, line: lineNumber, reason: "not a JSON record: \(error.localizedDescription)")
            }
            guard let dict = object as? [String: Any] else { throw DataError.malformed(file: path, line: lineNumber, reason: "not a JSON object") }
            guard let value = dict[field] as? String else {
                throw DataError.malformed(file: path, line: lineNumber, reason: "field \(field.debugDescription) is \(dict[field] == nil ? "missing" : "not a string")")
            }
            records.append(Record(line: lineNumber, utf8: Array(value.utf8)))
        }
        return records
    }
}
