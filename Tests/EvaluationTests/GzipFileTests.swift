import Evaluation
import Foundation
import TestSupport
import XCTest

/// HumanEval.jsonl.gz read with zlib: the same text as `gzip -dc`, concatenated members, and
/// damaged files refused with an error naming them.
final class GzipFileTests: XCTestCase {
    func humanEval() throws -> (gz: URL, text: String) {
        let gz = try TestPaths.sharedFile("data/humaneval/HumanEval.jsonl.gz")
        return (gz, try Process.run(URL(fileURLWithPath: "/bin/gzip"), ["-dc", gz.path]))
    }

    func testHumanEvalDecompressesAsGzipDoes() throws {
        let (gz, text) = try humanEval()
        let records = String(decoding: try GzipFile.decompress(gz.path), as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(records, text.split(separator: "\n"))
        XCTAssertEqual(records.count, 164)
    }

    func testConcatenatedMembersFollowOneAnother() throws {
        let (gz, text) = try humanEval()
        let dir = try TestPaths.scratchDirectory("gzip")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = try Data(contentsOf: gz)
        let twice = dir.appendingPathComponent("twice.jsonl.gz")
        try (bytes + bytes).write(to: twice)
        XCTAssertEqual(String(decoding: try GzipFile.decompress(twice.path), as: UTF8.self), text + text)
    }

    func testTruncatedAndCorruptFilesAreRefusedByName() throws {
        let (gz, _) = try humanEval()
        let dir = try TestPaths.scratchDirectory("gzip-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = try Data(contentsOf: gz)
        var corrupt = bytes
        for i in stride(from: 100, to: corrupt.count - 100, by: 997) { corrupt[i] ^= 0x5A }
        let cases: [(name: String, bytes: Data, reason: String)] = [
            ("truncated.jsonl.gz", bytes.prefix(bytes.count / 2), "truncated"),
            ("corrupt.jsonl.gz", corrupt, "not a valid gzip file"),
            ("second-cut.jsonl.gz", bytes + bytes.prefix(20), "truncated"),
            ("empty.jsonl.gz", Data(), "truncated"),
            ("plain.jsonl.gz", Data("{\"task_id\": 1}\n".utf8), "not a valid gzip file"),
        ]
        for c in cases {
            let path = dir.appendingPathComponent(c.name).path
            try c.bytes.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try GzipFile.decompress(path), c.name) { error in
                XCTAssertTrue("\(error)".hasPrefix(path + ": "), "\(error)")
                XCTAssertTrue("\(error)".contains(c.reason), "\(error)")
            }
        }
    }
}
