import ArgumentParser
import Artifacts
import Data
import Foundation
import Kernels
import Tokenizer

/// `xtf tokenize`: token ids (and offsets) of a text or of one string field of each JSONL record.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize a text or a string field of every JSONL record.",
        discussion: """
            Writes one JSON line per record: {"ids": [...]} and with --offsets also \
            "offsets": [[start, end], ...], UTF-8 byte offsets into the record's text (widened \
            to whole characters; BOS/EOS tokens get [0, 0]). --tokenizer takes a tokenizer.json \
            or a directory with tokenizer.json or GPT-2's encoder.json + vocab.bpe.
            """)

    @Option(help: "tokenizer.json, or a directory with tokenizer.json or encoder.json + vocab.bpe.")
    var tokenizer: String

    @Option(help: "Text to tokenize.")
    var text: String?

    @Option(help: "JSONL file whose records to tokenize (with --field).")
    var input: String?

    @Option(help: "The string field of each record to tokenize.")
    var field: String?

    @Option(help: "Write the JSONL here (atomically) instead of standard output.")
    var output: String?

    @Flag(help: "Also write each token's UTF-8 byte offsets.")
    var offsets = false

    @Flag(help: "Leave out the post-processor's special tokens (BOS/EOS).")
    var noSpecialTokens = false

    func validate() throws {
        guard (text == nil) != (input == nil) else { throw ValidationError("give exactly one of --text and --input") }
        if input != nil && field == nil { throw ValidationError("--input needs --field") }
    }

    func run() throws {
        let tok = try Tokenizer.load(path: tokenizer)
        var out = [UInt8]()
        func emit(_ e: Encoding) {
            out += Array(#"{"ids":["#.utf8)
            out += Array(e.ids.map(String.init).joined(separator: ",").utf8)
            out.append(UInt8(ascii: "]"))
            if offsets {
                out += Array(#","offsets":["#.utf8)
                out += Array(e.offsets.map { "[\($0.lowerBound),\($0.upperBound)]" }.joined(separator: ",").utf8)
                out.append(UInt8(ascii: "]"))
            }
            out += Array("}\n".utf8)
        }
        if let text {
            emit(tok.encode(text, addSpecialTokens: !noSpecialTokens))
        } else if let input, let field {
            for record in try JSONLField.read(input, field: field) {
                emit(try tok.encode(utf8: record.utf8, record: "\(input):\(record.line)", addSpecialTokens: !noSpecialTokens))
            }
        }
        if let output {
            try AtomicFile.write(out, to: output)
        } else {
            FileHandle.standardOutput.write(Data(out))
        }
    }
}

/// `xtf bench tokenizer`: encoding speed on one thread.
struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Tokenizer MB/s and tokens/s on one thread, over one string field of a JSONL file.",
        discussion: """
            Encodes every record's field in order (one warm-up pass that fills the word cache, \
            as the reference's cache is filled by its own use), then times --repetitions passes \
            and reports the median. MB = 10^6 bytes of UTF-8 text.
            """)

    @Option(help: "tokenizer.json, or a directory with tokenizer.json or encoder.json + vocab.bpe.")
    var tokenizer: String

    @Option(help: "JSONL file.")
    var input: String

    @Option(help: "The string field of each record.")
    var field: String

    @Option(help: "Timed passes (the median is reported).")
    var repetitions = 5

    @OptionGroup var output: BenchOutput

    struct Result: Codable {
        let records: Int
        let bytes: Int
        let tokens: Int
        let medianSeconds: Double
        let megabytesPerSecond: Double
        let tokensPerSecond: Double
    }

    func run() throws {
        let tok = try Tokenizer.load(path: tokenizer)
        let texts = try JSONLField.read(input, field: field).map { String(decoding: $0.utf8, as: UTF8.self) }
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        var tokens = tok.encodeBatch(texts).reduce(0) { $0 + $1.ids.count }  // warm-up
        var times: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let start = DispatchTime.now().uptimeNanoseconds
            tokens = tok.encodeBatch(texts).reduce(0) { $0 + $1.ids.count }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let seconds = median(times)
        let result = Result(records: texts.count, bytes: bytes, tokens: tokens, medianSeconds: seconds,
                            megabytesPerSecond: Double(bytes) / seconds / 1e6, tokensPerSecond: Double(tokens) / seconds)
        print(String(format: "records %d  bytes %d  tokens %d  median %.4f s  %.2f MB/s  %.0f tokens/s",
                     result.records, result.bytes, result.tokens, seconds, result.megabytesPerSecond, result.tokensPerSecond))
        try output.write(result)
    }
}
