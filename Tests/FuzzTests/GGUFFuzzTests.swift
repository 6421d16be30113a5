import Foundation
import GGUF
import TestSupport
import XCTest

/// The GGUF reader on mutated files: each either opens, and then every tensor lies inside the
/// file and every dequantizable one reads, and the tokenizer files build or are refused, or
/// it throws a GGUFError naming the file.
final class GGUFFuzzTests: XCTestCase {
    func testGGUFReaderOnMutatedFiles() throws {
        let spm = TestPaths.packageRoot.appendingPathComponent("Tests/GGUFTests/Fixtures/spm-tokenizer.gguf")
        try Fuzzer(target: "gguf", seeds: [Self.tensorsSeed(), Array(try Data(contentsOf: spm))],
                   mutations: Mutation.bytes + Self.fields).run(check: Self.check)
    }

    /// Little-endian fields overwritten with values around the limits (counts, lengths, dims,
    /// type ids, offsets), at 4-byte boundaries where GGUF's fixed fields mostly sit.
    static let fields: [Mutation] = [
        Mutation(name: "u64 field") { m, b in
            guard b.count >= 8 else { return b }
            var out = b
            let at = m.below((b.count - 8) / 4 + 1) * 4
            withUnsafeBytes(of: m.pick(Interesting.lengths(fileSize: b.count)).littleEndian) { out.replaceSubrange(at..<(at + 8), with: $0) }
            return out
        },
        Mutation(name: "u32 field") { m, b in
            guard b.count >= 4 else { return b }
            var out = b
            let at = m.below((b.count - 4) / 4 + 1) * 4
            let value: UInt32 = m.pick([0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 14, 30, 99, 0x7FFF_FFFF, .max])
            withUnsafeBytes(of: value.littleEndian) { out.replaceSubrange(at..<(at + 4), with: $0) }
            return out
        },
    ]

    /// A small llama-like file: a gpt2 tokenizer, metadata of several types, one tensor of each
    /// dequantizable type (random block bytes), aligned as GGUF requires.
    static func tensorsSeed() -> [UInt8] {
        var out: [UInt8] = Array("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        func key(_ k: String, _ type: UInt32) { string(k); u32(type) }
        func strings(_ k: String, _ values: [String]) { key(k, 9); u32(8); u64(UInt64(values.count)); values.forEach(string) }
        let types: [(UInt32, Int)] = [(0, 4 * 256), (1, 2 * 256), (30, 2 * 256), (8, 8 * 34), (2, 8 * 18), (3, 8 * 20),
                                      (12, 144), (13, 176), (14, 210)]  // 256 elements each
        u32(3); u64(UInt64(types.count)); u64(8)
        key("general.architecture", 8); string("llama")
        key("general.alignment", 4); u32(32)
        key("llama.context_length", 4); u32(64)
        key("llama.rope.freq_base", 6); u32(Float(10000).bitPattern)
        key("tokenizer.ggml.model", 8); string("gpt2")
        key("tokenizer.ggml.pre", 8); string("smollm")
        strings("tokenizer.ggml.tokens", ["a", "b", "ab", "Ġ", "<|endoftext|>"])
        strings("tokenizer.ggml.merges", ["a b"])
        var offset: UInt64 = 0
        for (i, (type, bytes)) in types.enumerated() {
            string("t\(i)"); u32(1); u64(256); u32(type); u64(offset)
            offset += UInt64((bytes + 31) / 32 * 32)
        }
        while out.count % 32 != 0 { out.append(0) }
        var state: UInt32 = 12345
        for (_, bytes) in types {
            for _ in 0..<((bytes + 31) / 32 * 32) {
                state = state &* 1_103_515_245 &+ 12345
                out.append(UInt8(truncatingIfNeeded: state >> 16) & 0x3B)  // keeps f16 scales finite
            }
        }
        return out
    }

    static func check(_ path: String) -> FuzzOutcome {
        func typed(_ error: Error) -> FuzzOutcome {
            guard let error = error as? GGUFError else { return .violation("untyped error \(type(of: error)): \(error)") }
            return "\(error)".hasPrefix(path) ? .refused : .violation("GGUFError without the file's name: \(error)")
        }
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { return typed(error) }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        for tensor in file.tensors {
            guard tensor.fileOffset >= file.dataOffset, tensor.fileOffset + tensor.byteCount <= size else {
                return .violation("tensor \(tensor.name): bytes \(tensor.fileOffset)..<\(tensor.fileOffset + tensor.byteCount) outside a file of \(size)")
            }
            guard GGMLType.dequantizable.contains(tensor.type) else { continue }
            do {
                guard try file.floats(tensor).count == tensor.elementCount else { return .violation("tensor \(tensor.name): wrong count") }
            } catch {
                return .violation("the file opened but tensor \(tensor.name) (\(tensor.type.name)) did not read: \(error)")
            }
        }
        do {
            let tokenizer = try GGUFTokenizer(file: file)
            let json = try tokenizer.tokenizerJSON()
            guard JSONSerialization.isValidJSONObject(json) else { return .violation("tokenizer.json is not a JSON object") }
            _ = try tokenizer.tokenizerConfig(contextLength: 64)
        } catch {
            return typed(error)
        }
        return .parsed
    }
}
