import Data
import Foundation
import TestSupport
import XCTest

/// The dataset readers (JSON Lines and PubMedQA's keyed JSON) on mutated files: every input
/// is read in every format; each either yields records (each used or rejected with a reason
/// and its line) or throws a DataError naming the file, and reading it by chunks gives
/// exactly the records the scan counted.
final class DatasetFuzzTests: XCTestCase {
    func testDatasetReaderOnMutatedFiles() throws {
        try Fuzzer(target: "dataset", seeds: try Self.seeds(),
                   mutations: Mutation.bytes + Mutation.json + Mutation.jsonLines).run { path in
            var outcome = FuzzOutcome.refused
            for format in DatasetFormat.allCases {
                switch Self.check(path, format) {
                case .violation(let problem): return .violation("format \(format.rawValue): \(problem)")
                case .parsed: outcome = .parsed
                case .refused: break
                }
            }
            return outcome
        }
    }

    /// Real records of each format the readers support.
    static func seeds() throws -> [[UInt8]] {
        let gsm8k = try String(contentsOf: TestPaths.sharedFile("data/gsm8k/train.jsonl"), encoding: .utf8)
            .split(separator: "\n").prefix(3).joined(separator: "\n") + "\n"
        let promptResponse = """
            {"system": "Be brief.", "prompt": "Add 2 and 3.", "response": "5"}
            {"prompt": "Name a prime.", "response": "7"}

            """
        let chat = """
            {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"}, {"role": "assistant", "content": "A1"}]}
            {"messages": [{"role": "user", "content": "Why?"}, {"role": "assistant", "content": "Because."}, {"role": "user", "content": "ok"}]}

            """
        // The first two records of PubMedQA's ori_pqal.json, cut out by the reader's own chunk plan.
        let pubmed = try TestPaths.sharedFile("data/pubmedqa/ori_pqal.json")
        let chunk = try Dataset(DatasetSpec(path: pubmed.path, format: .pubmedqa)).chunks(recordsPerChunk: 2)[0]
        let handle = try FileHandle(forReadingFrom: pubmed)
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(chunk.byteStart))
        let members = try handle.read(upToCount: chunk.byteEnd - chunk.byteStart) ?? Data()
        return [Array(gsm8k.utf8), Array(promptResponse.utf8), Array(chat.utf8),
                Array("{\n    ".utf8) + Array(members) + Array("\n}\n".utf8)]
    }

    /// One format. The record limit and chunk size come from the input's length, so a saved
    /// input reproduces them: small limits exercise the oversized-record path.
    static func check(_ path: String, _ format: DatasetFormat) -> FuzzOutcome {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        var spec = DatasetSpec(path: path, format: format)
        spec.systemField = "system"
        spec.maxRecordBytes = [16 << 20, 64, 300][size % 3]
        let recordsPerChunk = 1 + size % 4

        let dataset: Dataset, chunks: [Chunk]
        do {
            dataset = try Dataset(spec)
            chunks = try dataset.chunks(recordsPerChunk: recordsPerChunk)
        } catch let error as DataError {
            let text = "\(error)"
            return text.contains(path) ? .refused : .violation("DataError without the file's name: \(text)")
        } catch {
            return .violation("untyped error \(type(of: error)): \(error)")
        }

        // The scan succeeded, so reading must too: by chunks, exactly the counted records,
        // the same as reading the whole file.
        let whole: [RecordOutcome], chunked: [RecordOutcome]
        do {
            whole = try dataset.records(in: nil)
            var all: [RecordOutcome] = []
            for chunk in chunks {
                let records = try dataset.records(in: chunk)
                guard records.count == chunk.recordCount else {
                    return .violation("chunk \(chunk.index) holds \(records.count) records, the scan counted \(chunk.recordCount)")
                }
                all += records
            }
            chunked = all
        } catch {
            return .violation("the scan succeeded but reading failed: \(error)")
        }
        let place = { (o: RecordOutcome) -> String in
            switch o {
            case .conversation(let c): return "\(c.id)@\(c.line)"
            case .tokens(let t): return "\(t.id)@\(t.line)"
            case .rejected(let r): return "\(r.id)@\(r.line)"
            }
        }
        guard whole.map(place) == chunked.map(place) else {
            return .violation("records read by chunks differ from the whole file's: \(chunked.map(place)) vs \(whole.map(place))")
        }

        let fileName = (path as NSString).lastPathComponent
        var lastSpec = spec
        lastSpec.assistantTurns = .last
        let lastOnly = spec.format == .tokenized ? try? Dataset(lastSpec).records(in: nil) : nil
        guard lastOnly.map({ $0.count == chunked.count }) ?? true else { return .violation("the last turn only gives another number of records") }
        for (index, outcome) in chunked.enumerated() {
            switch outcome {
            case .conversation(let c):
                guard c.id.hasPrefix(fileName), c.line >= 1 else { return .violation("record id \(c.id) at line \(c.line)") }
            case .tokens(let t):
                let ordered = zip(t.spans, t.spans.dropFirst()).allSatisfy { $0.upperBound < $1.lowerBound }
                guard t.id.hasPrefix(fileName), t.line >= 1, let first = t.spans.first, first.lowerBound >= 1, ordered,
                      t.spans.allSatisfy({ !$0.isEmpty }), t.spans.last?.upperBound == t.ids.count else {
                    return .violation("tokenized record \(t.id) at line \(t.line), responses \(t.spans) of \(t.ids.count)")
                }
                // With the last turn only, the last of these runs.
                if let lastOnly, case .tokens(let one) = lastOnly[index], one.spans != [t.spans.last!] || one.ids != t.ids {
                    return .violation("tokenized record \(t.id): with the last turn only, \(one.spans), not the last of \(t.spans)")
                }
            case .rejected(let r):
                guard !r.reason.isEmpty, r.id.hasPrefix(fileName), r.line >= 1 else {
                    return .violation("rejection without a reason, file or line: \(r)")
                }
                // What `--on-bad-record fail` stops with names the file and the line.
                let error = "\(dataset.error(for: r))"
                guard error.contains(path), error.contains(":\(r.line):") else { return .violation("vague error \(error)") }
            }
        }
        return .parsed
    }
}
