import Artifacts
import Foundation
import GGUF
import TestSupport
import XCTest

/// The reader: a file gguf-py wrote (every metadata type, every dequantized block format, bit for
/// bit against gguf-py's own dequantization), and malformed files refused with an error naming
/// the file and the field before anything is allocated for them.
final class GGUFFileTests: XCTestCase {
    /// A GGUF file built byte by byte, for files no writer would make.
    struct Bytes {
        var bytes: [UInt8] = []
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }

        /// Magic, version 3 and the two counts: what a test appends follows directly.
        static func header(tensorCount: UInt64 = 0, kvCount: UInt64) -> [UInt8] {
            var b = Bytes()
            b.bytes = Array("GGUF".utf8)
            b.u32(3); b.u64(tensorCount); b.u64(kvCount)
            return b.bytes
        }

        /// Magic, version, counts, one string value per `strings`, then `tensors` (name, dims,
        /// type, offset), padding to 32 and `data` bytes.
        static func file(version: UInt32 = 3, strings: [(String, String)] = [("general.architecture", "llama")],
                         tensors: [(String, [UInt64], UInt32, UInt64)] = [], data: [UInt8] = [],
                         kvCount: UInt64? = nil, tensorCount: UInt64? = nil) -> [UInt8] {
            var b = Bytes()
            b.bytes = Array("GGUF".utf8)
            b.u32(version)
            b.u64(tensorCount ?? UInt64(tensors.count))
            b.u64(kvCount ?? UInt64(strings.count))
            for (key, value) in strings { b.string(key); b.u32(8); b.string(value) }
            for (name, dims, type, offset) in tensors {
                b.string(name); b.u32(UInt32(dims.count))
                for d in dims { b.u64(d) }
                b.u32(type); b.u64(offset)
            }
            while b.bytes.count % 32 != 0 { b.bytes.append(0) }
            return b.bytes + data
        }
    }

    private func write(_ bytes: [UInt8]) throws -> String {
        let path = try TestPaths.scratchDirectory("gguf").appendingPathComponent("test.gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The kind of error and the field (or tensor) it names.
    private func kindAndField(_ e: GGUFError) -> (String, String) {
        switch e {
        case let .truncated(_, field, _): return ("truncated", field)
        case let .invalidField(_, field, _): return ("invalidField", field)
        case let .missingField(_, field): return ("missingField", field)
        case let .missingTensor(_, tensor): return ("missingTensor", tensor)
        case let .unsupportedTensorType(_, tensor, _): return ("unsupportedTensorType", tensor)
        case let .unsupported(_, field, _): return ("unsupported", field)
        case .badMagic: return ("badMagic", "magic")
        case .unsupportedVersion: return ("unsupportedVersion", "version")
        case .unsupportedArchitecture: return ("unsupportedArchitecture", "general.architecture")
        case .io: return ("io", "")
        }
    }

    private func assertRefused(_ bytes: [UInt8], _ kind: String, _ field: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try write(bytes)
        XCTAssertThrowsError(try GGUFFile(path: path), file: file, line: line) { error in
            guard let e = error as? GGUFError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(kindAndField(e).0, kind, "\(e)", file: file, line: line)
            XCTAssertEqual(kindAndField(e).1, field, "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix(path), "\(e) does not name the file", file: file, line: line)
        }
    }

    func testMalformedFilesNameTheField() throws {
        let valid = Bytes.file(tensors: [("t", [8], 0, 0)], data: [UInt8](repeating: 0, count: 32))
        XCTAssertNoThrow(try GGUFFile(path: try write(valid)))
        try assertRefused(Array("GGUX".utf8) + valid.dropFirst(4), "badMagic", "magic")
        try assertRefused(Bytes.file(version: 1), "unsupportedVersion", "version")
        try assertRefused(Bytes.file(version: 0x0300_0000), "unsupportedVersion", "version")
        try assertRefused(Array(valid.prefix(10)), "truncated", "header")
        try assertRefused(Array(valid.prefix(66)), "truncated", "general.architecture (length)")
        // Counts and lengths the file cannot hold: refused before anything is reserved for them.
        try assertRefused(Bytes.file(kvCount: 1 << 62), "truncated", "metadata_kv_count")
        try assertRefused(Bytes.file(tensorCount: .max), "truncated", "tensor_count")
        var key = Bytes(); key.u64(.max - 3); key.u64(0); key.u64(0)  // a key 2^64 - 4 bytes long
        try assertRefused(Bytes.header(kvCount: 1) + key.bytes, "truncated", "metadata[0].key (length)")
        var hugeArray = Bytes(); hugeArray.string("a"); hugeArray.u32(9); hugeArray.u32(4); hugeArray.u64(1 << 61)
        try assertRefused(Bytes.header(kvCount: 1) + hugeArray.bytes, "truncated", "a (count)")
        var deep = Bytes(); deep.string("deep")
        deep.u32(9)
        for _ in 0..<20 { deep.u32(9); deep.u64(1) }  // an array of one array of one array ...
        try assertRefused(Bytes.header(kvCount: 1) + deep.bytes, "invalidField", "deep[0][0][0][0][0][0][0][0]")
        var badAlignment = Bytes(); badAlignment.string("general.alignment"); badAlignment.u32(4); badAlignment.u32(3)
        try assertRefused(Bytes.header(kvCount: 1) + badAlignment.bytes, "invalidField", "general.alignment")
        var badUTF8 = Bytes(); badUTF8.string("s"); badUTF8.u32(8); badUTF8.u64(2); badUTF8.bytes += [0xC3, 0x28]
        try assertRefused(Bytes.header(kvCount: 1) + badUTF8.bytes, "invalidField", "s")
        // Tensor infos: sizes that overflow, blocks that do not fit, offsets past the end.
        try assertRefused(Bytes.file(tensors: [("t", [1 << 40, 1 << 40], 0, 0)]), "invalidField", "tensor t: dims")
        try assertRefused(Bytes.file(tensors: [("t", [1 << 62], 0, 0)]), "invalidField", "tensor t: dims")  // found by GGUFFuzzTests
        try assertRefused(Bytes.file(tensors: [("t", [33], 2, 0)]), "invalidField", "tensor t: dims")
        try assertRefused(Bytes.file(tensors: [("t", [0], 0, 0)]), "invalidField", "tensor t: dims[0]")
        try assertRefused(Bytes.file(tensors: [("t", [8, 1, 1, 1, 1], 0, 0)]), "invalidField", "tensor t: n_dims")
        try assertRefused(Bytes.file(tensors: [("t", [8], 99, 0)]), "unsupportedTensorType", "t")
        try assertRefused(Bytes.file(tensors: [("t", [8], 0, 3)], data: [UInt8](repeating: 0, count: 64)), "invalidField", "tensor t: offset")
        try assertRefused(Bytes.file(tensors: [("t", [8], 0, 32)], data: [UInt8](repeating: 0, count: 32)), "truncated", "tensor t")
        try assertRefused(Bytes.file(tensors: [("t", [1 << 20], 0, 0)], data: [UInt8](repeating: 0, count: 32)), "truncated", "tensor t")
        try assertRefused(Bytes.file(tensors: [("t", [8], 0, 0), ("t", [8], 0, 32)], data: [UInt8](repeating: 0, count: 64)),
                          "invalidField", "tensor t")
    }

    /// A type the reader sizes but cannot dequantize, and an architecture the importer does not
    /// map, are errors naming the tensor and the key.
    func testUnsupportedTypeAndArchitecture() throws {
        let q5 = try GGUFFile(path: try write(Bytes.file(tensors: [("blk.0.attn_q.weight", [32], 6, 0)], data: [UInt8](repeating: 0, count: 32))))
        XCTAssertThrowsError(try q5.floats(q5.tensors[0])) { error in
            XCTAssertEqual(error as? GGUFError, .unsupportedTensorType(path: q5.path, tensor: "blk.0.attn_q.weight", type: "Q5_0"))
            XCTAssertTrue("\(error)".contains("Q4_K"), "\(error) should list the supported types")
        }
        let gpt2 = try write(Bytes.file(strings: [("general.architecture", "gpt2")]))
        let out = try TestPaths.scratchDirectory("gguf-import")
        XCTAssertThrowsError(try GGUFImport.run(gguf: gpt2, out: out)) { error in
            XCTAssertEqual(error as? GGUFError, .unsupportedArchitecture(path: gpt2, architecture: "gpt2", supported: GGUFImport.supportedArchitectures))
        }
        let noKeys = try write(Bytes.file(strings: [("general.architecture", "llama")], tensors: [("token_embd.weight", [8, 4], 0, 0)],
                                          data: [UInt8](repeating: 0, count: 128)))
        XCTAssertThrowsError(try GGUFImport.run(gguf: noKeys, out: out)) { error in
            XCTAssertEqual(error as? GGUFError, .missingField(path: noKeys, field: "llama.embedding_length"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "nothing is written for a refused file")
    }

    /// A file gguf-py's GGUFWriter wrote: every metadata type reads back as written, and every
    /// supported block format dequantizes to exactly gguf-py's values.
    func testReadsWhatGGUFPyWritesAndDequantizesLikeIt() throws {
        try References.skipOrFail { try References.requireGGUFPy() }
        let dir = try TestPaths.scratchDirectory("gguf-blocks")
        defer { try? FileManager.default.removeItem(at: dir) }
        let gguf = dir.appendingPathComponent("blocks.gguf").path, reference = dir.appendingPathComponent("reference.safetensors").path
        try References.run("python3", [References.script("gguf_reference.py"), "blocks", gguf, reference])
        let file = try GGUFFile(path: gguf)
        let expected = try SafetensorsFile(path: reference)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(try file.string("general.architecture"), "llama")

        let metadata = try JSONSerialization.jsonObject(with: Data(expected.metadata["metadata"]!.utf8)) as! [String: Any]
        for (key, json) in metadata {
            let value = try XCTUnwrap(file[key], key)
            XCTAssertTrue(Self.matches(value, json), "\(key): read \(value), gguf-py wrote \(json)")
            let declared = key.replacingOccurrences(of: "test.", with: "")
            if !["strings", "ints", "floats", "nested"].contains(declared) { XCTAssertEqual(value.typeName, declared, key) }
        }

        XCTAssertEqual(Set(file.tensors.map(\.type.name)), Set(GGMLType.dequantizable.map(\.name)))
        for tensor in file.tensors {
            let values = try file.floats(tensor)
            let reference = try expected.floats(tensor.name, expectedShape: tensor.shape)
            let differing = zip(values, reference).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
            XCTAssertNil(differing, "\(tensor.name) (\(tensor.type.name)): element \(differing?.offset ?? 0) is \(differing?.element.0 ?? 0), gguf-py \(differing?.element.1 ?? 0)")
        }
    }

    /// A GGUF value equals the JSON value gguf-py was given.
    static func matches(_ value: GGUFValue, _ json: Any) -> Bool {
        switch value {
        case .array(let elements):
            guard let list = json as? [Any], list.count == elements.count else { return false }
            return zip(elements, list).allSatisfy { matches($0, $1) }
        case .string(let s): return json as? String == s
        case .bool(let b): return (json as? NSNumber)?.boolValue == b
        case .uint64(let u): return (json as? NSNumber)?.uint64Value == u
        case .float32(let f): return (json as? NSNumber).map { Float($0.doubleValue) } == f
        case .float64(let d): return (json as? NSNumber)?.doubleValue == d
        default: return (json as? NSNumber)?.int64Value == value.int.map(Int64.init)
        }
    }
}
