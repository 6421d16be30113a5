import Artifacts
import Foundation
import TestSupport
import XCTest

/// The one JSON/JSONL encoder and typed reader: stable bytes, and errors naming the file, the
/// line and the field.
final class JSONFilesTests: XCTestCase {
    struct Row: Codable, Equatable {
        var b: Int
        var a: String
        var c: Double?
    }

    func testKeysAreSortedAndLinesRoundTrip() throws {
        let rows = [Row(b: 1, a: "x/y", c: nil), Row(b: 2, a: "é", c: 0.5)]
        XCTAssertEqual(String(decoding: try JSONFiles.lines(rows), as: UTF8.self), "{\"a\":\"x/y\",\"b\":1}\n{\"a\":\"é\",\"b\":2,\"c\":0.5}\n")
        XCTAssertEqual(String(decoding: try JSONFiles.document(rows[0]), as: UTF8.self), "{\n  \"a\" : \"x/y\",\n  \"b\" : 1\n}\n")
        let file = try TestPaths.scratchDirectory("json-files").appendingPathComponent("rows.jsonl").path
        try AtomicFile.writeJSONLines(rows, to: file)
        XCTAssertEqual(try JSONFiles.readLines(Row.self, from: file), rows)
    }

    func testErrorsNameFileLineAndField() throws {
        let directory = try TestPaths.scratchDirectory("json-files-bad")
        let file = directory.appendingPathComponent("rows.jsonl").path
        try "{\"a\":\"x\",\"b\":1}\n\n{\"a\":\"y\",\"b\":\"two\"}\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try JSONFiles.readLines(Row.self, from: file)) { error in
            XCTAssertEqual(error as? ArtifactError, .unreadable(path: file, line: 3, reason: "field b: Expected to decode Int but found a string instead."),
                           "\(error)")
        }
        try "{\"b\":1}".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try JSONFiles.read(Row.self, from: file)) { XCTAssertEqual("\($0)", "\(file): cannot be read: missing field a") }
        try "{\"b\":".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try JSONFiles.read(Row.self, from: file)) { XCTAssertEqual("\($0)", "\(file): cannot be read: not valid JSON") }
        let missing = directory.appendingPathComponent("none.json").path
        XCTAssertThrowsError(try JSONFiles.read(Row.self, from: missing)) { XCTAssertEqual($0 as? ArtifactError, .missing(path: missing)) }
    }
}
