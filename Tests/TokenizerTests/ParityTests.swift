import Foundation
import TestSupport
import Tokenizer
import XCTest

/// Ids, offsets and decoded text identical to the `tokenizers` Python package on every GSM8K train
/// question and answer, every PubMedQA context, every HumanEval prompt and a torture set
/// (scripts/tokenizer_parity.py), for GPT-2 (tokenizer.json and encoder.json + vocab.bpe)
/// and for tokenizers trained at test time by scripts/train_test_tokenizers.py.
final class ParityTests: XCTestCase {
    /// The texts and trained tokenizers, made once for all tests of this class.
    struct Fixture {
        let directory: URL
        let texts: [(source: String, text: String)]
    }

    struct SkipReason: Error { let message: String }
    struct ParityError: Error, CustomStringConvertible { let message: String; var description: String { message } }

    nonisolated(unsafe) private static var fixture: Result<Fixture, Error>?

    /// The reference files are large (about 100 MB): remove them after the class ran.
    override class func tearDown() {
        if case .success(let f)? = fixture { try? FileManager.default.removeItem(at: f.directory) }
        fixture = nil
        super.tearDown()
    }

    static func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.currentDirectoryURL = TestPaths.packageRoot
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Skips loudly when `tokenizers` is missing; when CI is set that is a failure instead.
    private func requireReference() throws -> Fixture {
        if Self.fixture == nil { Self.fixture = Result { try Self.makeFixture() } }
        switch Self.fixture! {
        case .success(let f): return f
        case .failure(let error as SkipReason):
            let message = "SKIP: the tokenizer parity tests need the Python `tokenizers` package "
                + "(pip install -r scripts/requirements-test.txt): \(error.message)"
            print("*** \(message) ***")
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail(message + " (CI is set: a missing reference is a failure)")
                throw error
            }
            throw XCTSkip(message)
        case .failure(let error): throw error
        }
    }

    private static func makeFixture() throws -> Fixture {
        let check = try python(["-c", "import tokenizers"])
        guard check.status == 0 else { throw SkipReason(message: check.output) }
        let dir = try TestPaths.scratchDirectory("tokenizer-parity")
        for args in [["scripts/train_test_tokenizers.py", dir.path],
                     ["scripts/tokenizer_parity.py", "corpus", TestPaths.shared.path, dir.appendingPathComponent("texts.jsonl").path]] {
            let r = try python(args)
            guard r.status == 0 else { throw ParityError(message: "python3 \(args.joined(separator: " ")) failed: \(r.output)") }
        }
        let texts = try String(contentsOf: dir.appendingPathComponent("texts.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { line -> (String, String) in
                let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: String]
                return (o["source"]!, o["text"]!)
            }
        return Fixture(directory: dir, texts: texts)
    }

    /// Encodes and decodes every text; compares with the reference's output for
    /// `tokenizerJSON`, failing on the first differing record.
    private func compare(_ name: String, tokenizerJSON: String, load: () throws -> Tokenizer) throws {
        let f = try requireReference()
        let reference = f.directory.appendingPathComponent("\(name).reference.jsonl")
        if !FileManager.default.fileExists(atPath: reference.path) {
            let r = try Self.python(["scripts/tokenizer_parity.py", "reference", tokenizerJSON,
                                     f.directory.appendingPathComponent("texts.jsonl").path, reference.path])
            guard r.status == 0 else { throw ParityError(message: "reference for \(name) failed: \(r.output)") }
        }
        let tokenizer = try load()
        let lines = try String(contentsOf: reference, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, f.texts.count)
        var tokens = 0, offsetMismatches = 0
        var firstOffsetMismatch: String?
        for (k, (source, text)) in f.texts.enumerated() {
            let o = try JSONSerialization.jsonObject(with: Data(lines[k].utf8)) as! [String: Any]
            let expected = (o["ids"] as! [NSNumber]).map(\.intValue)
            let e = tokenizer.encode(text)
            tokens += e.ids.count
            if e.ids != expected {
                let at = zip(e.ids, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    ?? min(e.ids.count, expected.count)
                let mine = Array(e.ids[at..<min(at + 8, e.ids.count)])
                let theirs = Array(expected[at..<min(at + 8, expected.count)])
                XCTFail("""
                    \(name): ids differ on record \(k) (\(source)) at token \(at) of \(expected.count): \
                    swift \(mine) \(mine.map { tokenizer.token(for: $0) ?? "?" }) \
                    reference \(theirs) \(theirs.map { tokenizer.token(for: $0) ?? "?" }); \
                    text \(String(text.prefix(300)).debugDescription)
                    """)
                return
            }
            let expectedOffsets = (o["offsets"] as! [[NSNumber]]).map { $0[0].intValue..<$0[1].intValue }
            if e.scalarOffsets(in: text) != expectedOffsets {
                offsetMismatches += 1
                if firstOffsetMismatch == nil {
                    let mine = e.scalarOffsets(in: text)
                    let at = zip(mine, expectedOffsets).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
                    firstOffsetMismatch = "record \(k) (\(source)) token \(at) \(tokenizer.token(for: e.ids[at]) ?? "?"): swift \(mine[at]) reference \(expectedOffsets[at]); text \(String(text.prefix(120)).debugDescription)"
                }
            }
            let decoded = tokenizer.decode(e.ids)
            let expectedText = o["decoded"] as! String
            if !decoded.utf8.elementsEqual(expectedText.utf8) {  // bytes: String's == is canonical equivalence
                XCTFail("""
                    \(name): decoded text differs on record \(k) (\(source)): swift \(decoded.prefix(300).debugDescription) \
                    reference \(expectedText.prefix(300).debugDescription)
                    """)
                return
            }
        }
        print("\(name): \(f.texts.count) texts, \(tokens) tokens: ids and decoded text identical to the reference")
        print("\(name): offsets differ from the reference's on \(offsetMismatches) records; first: \(firstOffsetMismatch ?? "none")")
        XCTAssertEqual(offsetMismatches, 0, "\(name): offsets: \(firstOffsetMismatch ?? "")")
    }

    func testGPT2TokenizerJSON() throws {
        let path = try TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json").path
        try compare("gpt2", tokenizerJSON: path) { try Tokenizer.load(path: path) }
    }

    func testGPT2EncoderAndMerges() throws {
        let json = try TestPaths.sharedFile("data/tokenizers/gpt2/tokenizer.json").path
        let encoder = try TestPaths.sharedFile("data/tokenizers/gpt2/encoder.json").path
        let merges = try TestPaths.sharedFile("data/tokenizers/gpt2/vocab.bpe").path
        try compare("gpt2", tokenizerJSON: json) { try Tokenizer(gpt2Encoder: encoder, merges: merges) }
    }

    func testLlama3Style() throws { try trained("llama3") }
    func testSentencePieceStyle() throws { try trained("spm") }
    func testMixedComponents() throws { try trained("mixed") }
    func testLlama2Layout() throws { try trained("llama2") }
    func testOtherPreTokenizers() throws { try trained("pieces") }

    /// A tokenizer.json written by BPETrainer (trained here on part of the corpus) reads the
    /// same in the `tokenizers` package.
    func testBPETrainerOutput() throws {
        let f = try requireReference()
        let path = f.directory.appendingPathComponent("xtf-bpe.json").path
        try BPETrainer.train(f.texts.prefix(3000).map(\.1), vocabularySize: 1000).write(to: URL(fileURLWithPath: path))
        try compare("xtf-bpe", tokenizerJSON: path) { try Tokenizer.load(path: path) }
    }

    private func trained(_ name: String) throws {
        let f = try requireReference()
        let path = f.directory.appendingPathComponent(name).appendingPathComponent("tokenizer.json").path
        try compare(name, tokenizerJSON: path) { try Tokenizer.load(path: path) }
    }
}
