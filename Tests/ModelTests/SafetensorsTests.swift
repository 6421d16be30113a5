import Artifacts
import Foundation
import Model
import TestSupport
import XCTest

final class SafetensorsTests: XCTestCase {
    func testRoundTripAllDtypes() throws {
        let dir = try TestPaths.scratchDirectory("st")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.safetensors").path
        var w = SafetensorsWriter(metadata: ["kind": "scores", "note": "q\"uote"])
        w.add("f", shape: [2, 3], floats: [1, -2, 3.5, 0, .infinity, -0.25])
        w.add("i32", shape: [3], int32s: [1, -7, Int32.max])
        w.add("i64", shape: [2], int64s: [Int64.min, 42])
        w.add("mask", shape: [4], uint8s: [0, 1, 1, 0])
        w.addBF16("bf", shape: [3], floats: [1, -2.5, 3.140625])
        w.add("h", dtype: .f16, shape: [2], values: [Float16(0.5).bitPattern, Float16(-3).bitPattern])
        w.add("scalar", shape: [], floats: [7])
        try w.write(to: path)
        let r = try SafetensorsFile(path: path)
        XCTAssertEqual(r.metadata, ["kind": "scores", "note": "q\"uote"])
        XCTAssertEqual(try r.floats("f"), [1, -2, 3.5, 0, .infinity, -0.25])
        XCTAssertEqual(try r.info("f").shape, [2, 3])
        XCTAssertEqual(try r.ints("i32"), [1, -7, Int(Int32.max)])
        XCTAssertEqual(try r.ints("i64"), [Int(Int64.min), 42])
        XCTAssertEqual(try r.ints("mask"), [0, 1, 1, 0])
        XCTAssertEqual(try r.floats("bf"), [1, -2.5, 3.140625])
        XCTAssertEqual(try r.floats("h"), [0.5, -3])
        XCTAssertEqual(try r.floats("scalar"), [7])
        XCTAssertThrowsError(try r.floats("mask")) { XCTAssertTrue("\($0)".contains("mask")) }
        XCTAssertThrowsError(try r.floats("nope")) { XCTAssertEqual($0 as? SafetensorsError, .missingTensor(path: path, tensor: "nope")) }
        XCTAssertThrowsError(try r.floats("f", expectedShape: [3, 2])) {
            XCTAssertEqual($0 as? SafetensorsError, .shapeMismatch(path: path, tensor: "f", expected: [3, 2], found: [2, 3]))
        }
    }

    func testCorruptFiles() throws {
        let dir = try TestPaths.scratchDirectory("st-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        var w = SafetensorsWriter()
        w.add("weight", shape: [4, 4], floats: [Float](repeating: 1, count: 16))
        let good = try w.serialized()
        func attempt(_ bytes: [UInt8], _ name: String) -> Error? {
            let path = dir.appendingPathComponent(name).path
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            do { _ = try SafetensorsFile(path: path); return nil } catch { return error }
        }
        // Truncated data: the tensor's end lies past the end of the file.
        let truncated = attempt(Array(good.dropLast(5)), "trunc")
        guard case .truncated(_, let detail)? = truncated as? SafetensorsError else { return XCTFail("\(String(describing: truncated))") }
        XCTAssertTrue(detail.contains("weight"))
        // Shorter than the length prefix, and a header length past the end.
        XCTAssertNotNil(attempt([1, 2, 3], "tiny") as? SafetensorsError)
        var huge = good; huge[0] = 0xFF; huge[1] = 0xFF
        guard case .truncated? = attempt(huge, "huge") as? SafetensorsError else { return XCTFail() }
        // Garbage JSON.
        var garbage = good; garbage[9] = UInt8(ascii: "#")
        guard case .invalidHeader? = attempt(garbage, "garbage") as? SafetensorsError else { return XCTFail() }
        // Offsets that disagree with dtype x shape: named tensor.
        var w2 = SafetensorsWriter()
        w2.add("weight", shape: [4, 4], floats: [Float](repeating: 1, count: 16))
        let text = String(decoding: try w2.serialized(), as: UTF8.self).replacingOccurrences(of: "[4,4]", with: "[4,5]")
        guard case .invalidTensor(_, "weight", _)? = attempt(Array(text.utf8), "shape") as? SafetensorsError else { return XCTFail() }
        // Unknown dtype.
        let dtype = String(decoding: try w2.serialized(), as: UTF8.self).replacingOccurrences(of: "\"F32\"", with: "\"Q32\"")
        guard case .invalidTensor(_, "weight", let why)? = attempt(Array(dtype.utf8), "dtype") as? SafetensorsError else { return XCTFail() }
        XCTAssertTrue(why.contains("Q32"))
        // Found by FuzzTests: a header length past Int.max, and a shape whose byte count
        // overflows Int, trapped instead of failing with an error.
        var pastIntMax = good; pastIntMax.replaceSubrange(0..<8, with: [0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        guard case .truncated(_, let length)? = attempt(pastIntMax, "past-int-max") as? SafetensorsError else { return XCTFail() }
        XCTAssertTrue(length.contains("18446744073709551608"), length)
        let header = Array(#"{"weight":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,64]}}"#.utf8)
        let overflowing = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header + [UInt8](repeating: 0, count: 64)
        guard case .invalidTensor(_, "weight", let shape)? = attempt(overflowing, "overflow") as? SafetensorsError else { return XCTFail() }
        XCTAssertTrue(shape.contains("[4294967296, 4294967296]"), shape)
        // Tensors sharing bytes, bytes no tensor owns: refused as the reference reader refuses them.
        func file(_ json: String, data: Int) -> [UInt8] {
            let header = Array(json.utf8)
            return withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header + [UInt8](repeating: 0, count: data)
        }
        let overlap = file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: 16)
        XCTAssertEqual((attempt(overlap, "overlap") as? SafetensorsError).map { "\($0)" },
                       "\(dir.path)/overlap: invalid safetensors header: tensor b (bytes 8..<16) overlaps tensor a (which ends at 16)")
        let gap = file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}"#, data: 20)
        XCTAssertTrue(((attempt(gap, "gap") as? SafetensorsError).map { "\($0)" } ?? "").hasSuffix("bytes 8..<12 of the data section, before tensor b, belong to no tensor"))
        let tail = file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: 12)
        XCTAssertTrue(((attempt(tail, "tail") as? SafetensorsError).map { "\($0)" } ?? "").hasSuffix("bytes 8..<12 at the end of the data section belong to no tensor"))
    }

    func testCheckpointShapeMismatchNamesTensor() throws {
        let src = try TestPaths.sharedFile("fixtures/hf/llama3-tiny")
        let dir = try TestPaths.scratchDirectory("ckpt-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        // config says 3 layers' worth of width 64 but intermediate 100: mlp tensors mismatch.
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: src.appendingPathComponent("config.json"))) as! [String: Any]
        json["intermediate_size"] = 100
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: src.appendingPathComponent("model.safetensors"), to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try Transformer.load(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("mlp."), "\(error)")
            XCTAssertTrue("\(error)".contains("[176, 64]") || "\(error)".contains("[64, 176]"), "\(error)")
        }
        // A missing tensor is named too.
        json["intermediate_size"] = 176
        json["num_hidden_layers"] = 3
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try Transformer.load(directory: dir)) { error in
            XCTAssertEqual(error as? ModelError, .missingTensor("model.layers.2.input_layernorm.weight", path: dir.path))
        }
    }

    /// Save writes HF names and layout; loading it back (single file and sharded) is exact.
    func testSaveLoadAndShards() throws {
        for fixture in ["gpt2-tiny", "qwen2-tiny", "mistral-tiny"] {
            let m = try Transformer.load(directory: try TestPaths.sharedFile("fixtures/hf/\(fixture)"))
            let dir = try TestPaths.scratchDirectory("save")
            defer { try? FileManager.default.removeItem(at: dir) }
            try m.save(directory: dir)
            let back = try Transformer.load(directory: dir)
            XCTAssertEqual(back.config, m.config)
            XCTAssertEqual(Array(back.parameters.buffer), Array(m.parameters.buffer))
            let original = try SafetensorsFile(path: try TestPaths.sharedFile("fixtures/hf/\(fixture)/model.safetensors").path)
            let saved = try SafetensorsFile(path: dir.appendingPathComponent("model.safetensors").path)
            XCTAssertEqual(Set(saved.names), Set(original.names.filter { !$0.hasSuffix(".attn.bias") }))
            for n in saved.names { XCTAssertEqual(try saved.info(n).shape, try original.info(n).shape, n) }

            // Shard by hand into two files with an index.
            let sharded = try TestPaths.scratchDirectory("shards")
            defer { try? FileManager.default.removeItem(at: sharded) }
            try FileManager.default.copyItem(at: dir.appendingPathComponent("config.json"), to: sharded.appendingPathComponent("config.json"))
            var first = SafetensorsWriter(), second = SafetensorsWriter()
            var map: [String: String] = [:]
            for (i, n) in saved.names.enumerated() {
                if i % 2 == 0 { first.add(n, shape: try saved.info(n).shape, floats: try saved.floats(n)); map[n] = "model-00001-of-00002.safetensors" }
                else { second.addBF16(n, shape: try saved.info(n).shape, floats: try saved.floats(n)); map[n] = "model-00002-of-00002.safetensors" }
            }
            try first.write(to: sharded.appendingPathComponent("model-00001-of-00002.safetensors").path)
            try second.write(to: sharded.appendingPathComponent("model-00002-of-00002.safetensors").path)
            try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map])
                .write(to: sharded.appendingPathComponent("model.safetensors.index.json"))
            let fromShards = try Transformer.load(directory: sharded)
            let name = saved.names[0]
            XCTAssertEqual(fromShards.parameters[name], m.parameters[name])
            let odd = saved.names[1]
            for (x, y) in zip(fromShards.parameters[odd]!, m.parameters[odd]!) { XCTAssertEqual(x, y, accuracy: abs(y) / 128 + 1e-30) }
        }
    }
}
