import Foundation
import TestSupport
import XCTest

/// `xtf tokenize` and `xtf bench tokenizer`, run as a user runs them.
final class CommandTests: XCTestCase {
    private func xtf(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = MPIRunner.xtfBinary
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    private var gpt2: String { get throws { try TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json").path } }

    func testTokenizeText() throws {
        let r = try xtf(["tokenize", "--tokenizer", try gpt2, "--text", "Hello world", "--offsets"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, #"{"ids":[15496,995],"offsets":[[0,5],[6,11]]}"# + "\n")
    }

    func testTokenizeFileToOutput() throws {
        let dir = try TestPaths.scratchDirectory("tokenize")
        let input = dir.appendingPathComponent("in.jsonl")
        try Data(#"{"q": "Hello world"}"#.utf8 + [10, 10] + #"{"q": "a\u00e9"}"#.utf8 + [10]).write(to: input)
        let output = dir.appendingPathComponent("out/ids.jsonl")
        let r = try xtf(["tokenize", "--tokenizer", try gpt2, "--input", input.path, "--field", "q", "--output", output.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), "{\"ids\":[15496,995]}\n{\"ids\":[64,2634]}\n")
    }

    func testBadLinesNameFileAndLine() throws {
        let dir = try TestPaths.scratchDirectory("tokenize-bad")
        let cases: [(String, [UInt8], String)] = [
            ("notjson.jsonl", Array(#"{"q": "ok"}"#.utf8) + [10] + Array("{oops".utf8), "notjson.jsonl:2"),
            ("field.jsonl", Array(#"{"q": 5}"#.utf8), "field.jsonl:1: field \"q\" is not a string"),
            ("missing.jsonl", Array(#"{"r": "x"}"#.utf8), "missing.jsonl:1: field \"q\" is missing"),
            ("utf8.jsonl", Array(#"{"q": "ok"}"#.utf8) + [10] + Array(#"{"q": "a"#.utf8) + [0xFF] + Array(#""}"#.utf8), "utf8.jsonl:2: the line is not valid UTF-8"),
        ]
        for (name, bytes, expected) in cases {
            let input = dir.appendingPathComponent(name)
            try Data(bytes).write(to: input)
            let output = dir.appendingPathComponent(name + ".out")
            let r = try xtf(["tokenize", "--tokenizer", try gpt2, "--input", input.path, "--field", "q", "--output", output.path])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains(expected), "\(name): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "no partial output")
        }
    }

    func testUnsupportedTokenizerIsAnError() throws {
        let dir = try TestPaths.scratchDirectory("tokenize-unsupported")
        let path = dir.appendingPathComponent("tokenizer.json")
        try Data(#"{"model": {"type": "Unigram", "vocab": []}}"#.utf8).write(to: path)
        let r = try xtf(["tokenize", "--tokenizer", path.path, "--text", "x"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("model.type: unsupported model \"Unigram\""), r.stderr)
    }

    func testBenchTokenizer() throws {
        let dir = try TestPaths.scratchDirectory("bench-tokenizer")
        let input = dir.appendingPathComponent("in.jsonl")
        try Data((0..<50).map { #"{"t": "record \#($0): some text, 123."}"# }.joined(separator: "\n").utf8).write(to: input)
        let json = dir.appendingPathComponent("bench.json")
        let r = try xtf(["bench", "tokenizer", "--tokenizer", try gpt2, "--input", input.path, "--field", "t",
                         "--repetitions", "2", "--json", json.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("MB/s"), r.stdout)
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        XCTAssertEqual(result["records"] as? Int, 50)
        XCTAssertGreaterThan(result["tokensPerSecond"] as? Double ?? 0, 0)
    }
}
