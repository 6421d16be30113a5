import Artifacts
import Foundation
import Model
import TestSupport
import XCTest

/// Checkpoints that must not load: a NaN or infinite weight, a weight of an integer dtype, a
/// truncated file, a config.json with a missing or impossible key. Each error names the file
/// and the tensor or key.
final class CheckpointFaultTests: XCTestCase {
    /// The gpt2-tiny fixture copied to a scratch directory, every tensor of its
    /// model.safetensors passed through `edit`, which adds it to the writer (changed or not).
    func fixture(_ edit: (inout SafetensorsWriter, _ name: String, _ shape: [Int], _ values: [Float]) -> Void) throws -> URL {
        let source = try TestPaths.sharedFile("fixtures/hf/gpt2-tiny")
        let directory = try TestPaths.scratchDirectory("ckpt-fault")
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: directory.appendingPathComponent("config.json"))
        let original = try SafetensorsFile(path: source.appendingPathComponent("model.safetensors").path)
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for name in original.names { edit(&writer, name, try original.info(name).shape, try original.floats(name)) }
        try writer.write(to: directory.appendingPathComponent("model.safetensors").path)
        return directory
    }

    let victim = "transformer.h.1.mlp.c_fc.weight"

    func testNonFiniteWeightsAreRefusedNamingTensorAndElement() throws {
        for (bad, index, bf16) in [(Float.nan, 5, false), (-Float.infinity, 4096 + 17, true)] {
            let directory = try fixture { writer, name, shape, values in
                var values = values
                if name == victim { values[index] = bad }
                if bf16 { writer.addBF16(name, shape: shape, floats: values) } else { writer.add(name, shape: shape, floats: values) }
            }
            let file = directory.appendingPathComponent("model.safetensors").path
            XCTAssertThrowsError(try Transformer.load(directory: directory)) { error in
                XCTAssertEqual(error as? ModelError, .nonFiniteWeight(tensor: victim, path: file, index: index, value: "\(bad)"))
                XCTAssertEqual("\(error)", "\(file): tensor \(victim) holds \(bad) at element \(index): the checkpoint is corrupt or was saved from a diverged run")
            }
        }
        // A slice of a tensor (one rank's moments on resume) names the bad element by its index in the whole tensor.
        let directory = try fixture { writer, name, shape, values in
            var values = values
            if name == victim { values[300] = .nan }
            writer.add(name, shape: shape, floats: values)
        }
        let file = directory.appendingPathComponent("model.safetensors").path
        let tensor = try SafetensorsFile(path: file)
        let shape = try tensor.info(victim).shape
        var slice = [Float](repeating: 0, count: 100)
        XCTAssertThrowsError(try slice.withUnsafeMutableBufferPointer { try tensor.readFiniteFloats(victim, expectedShape: shape, elements: 250..<350, into: $0) }) { error in
            XCTAssertEqual(error as? ModelError, .nonFiniteWeight(tensor: victim, path: file, index: 300, value: "nan"))
        }
        XCTAssertNoThrow(try slice.withUnsafeMutableBufferPointer { try tensor.readFiniteFloats(victim, expectedShape: shape, elements: 350..<450, into: $0) })

        // The scan itself: the largest finite values and subnormals pass; the first bad index is found
        // in any block.
        var values = [Float](repeating: .greatestFiniteMagnitude, count: 10_000)
        values[3] = -.greatestFiniteMagnitude; values[7] = .leastNonzeroMagnitude
        XCTAssertNil(values.withUnsafeBufferPointer(firstNonFinite))
        values[9_999] = .infinity; values[8_200] = .nan
        XCTAssertEqual(values.withUnsafeBufferPointer(firstNonFinite), 8_200)
    }

    func testAWeightOfAnIntegerDTypeIsRefusedNamingTensorAndDType() throws {
        for dtype in [SafetensorsDType.i32, .bool] {
            let directory = try fixture { writer, name, shape, values in
                guard name == victim else { return writer.add(name, shape: shape, floats: values) }
                if dtype == .i32 { writer.add(name, shape: shape, int32s: values.map { Int32($0 * 1000) }) } else {
                    writer.add(name, dtype: .bool, shape: shape, values: values.map { UInt8($0 > 0 ? 1 : 0) })
                }
            }
            let file = directory.appendingPathComponent("model.safetensors").path
            XCTAssertThrowsError(try Transformer.load(directory: directory)) { error in
                XCTAssertEqual(error as? SafetensorsError, .dtypeMismatch(path: file, tensor: victim, expected: "F32, F16, BF16 or F64", found: dtype))
                XCTAssertEqual("\(error)", "\(file): tensor \(victim) has dtype \(dtype.rawValue), expected F32, F16, BF16 or F64")
            }
        }
    }

    func testATruncatedCheckpointNamesTheFileAndATensorPastItsEnd() throws {
        let directory = try fixture { writer, name, shape, values in writer.add(name, shape: shape, floats: values) }
        let file = directory.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count - 1000).write(to: file)
        XCTAssertThrowsError(try Transformer.load(directory: directory)) { error in
            guard case let .truncated(path, detail)? = error as? SafetensorsError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, file.path)
            XCTAssertNotNil(detail.range(of: #"^tensor \S+ ends at byte \d+ of the data section, which has \d+$"#, options: .regularExpression), detail)
        }
    }

    func testConfigErrorsNameTheFileAndTheKey() throws {
        let directory = try TestPaths.scratchDirectory("config-fault")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("config.json").path
        let complete = #"{"model_type": "gpt2", "vocab_size": 100, "n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 32"#
        func load(_ json: String) -> Error? {
            _ = FileManager.default.createFile(atPath: path, contents: Data(json.utf8))
            do { _ = try Transformer.load(directory: directory); return nil } catch { return error }
        }
        let missing = load(complete.replacingOccurrences(of: #""n_embd": 16, "#, with: "") + "}")
        XCTAssertEqual(missing as? ModelError, .configFile(path: path, .missingKey("n_embd", modelType: "gpt2")))
        XCTAssertEqual(missing.map { "\($0)" }, "\(path) (gpt2): missing key \"n_embd\"")
        let eos = load(complete + #", "eos_token_id": 100}"#)
        XCTAssertEqual(eos.map { "\($0)" }, "\(path): eos_token_id: 100 is past the vocabulary (vocab_size 100)")
        let unknown = load(#"{"model_type": "bert"}"#)
        XCTAssertEqual(unknown.map { "\($0)" }, "\(path): unsupported model_type \"bert\" (supported: gpt2, llama, mistral, qwen2, qwen3, olmo2, smollm3, phi3, gemma2, gemma3_text)")
    }

    /// Sizes no real model has, and sizes the weight files cannot hold, are refused by name
    /// before anything is allocated (they used to trap, divide by zero or allocate gigabytes).
    func testImpossibleSizesAreRefusedBeforeAllocation() throws {
        let directory = try fixture { writer, name, shape, values in writer.add(name, shape: shape, floats: values) }
        let path = directory.appendingPathComponent("config.json").path
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        func load(_ key: String, _ value: Any) -> String {
            var config = original
            config[key] = value
            _ = FileManager.default.createFile(atPath: path, contents: try! JSONSerialization.data(withJSONObject: config))
            do { _ = try Transformer.load(directory: directory); return "loaded" } catch { return "\(error)" }
        }
        XCTAssertEqual(load("vocab_size", 1e12), "\(path): vocab_size: 1000000000000 is outside 1...16777216, the sizes xtf holds")
        XCTAssertEqual(load("vocab_size", 9.3e18), "\(path): vocab_size: 9.3e+18 is too large")
        XCTAssertEqual(load("n_layer", 1 << 40), "\(path): n_layer: 1099511627776 is outside 1...1024, the sizes xtf holds")
        XCTAssertEqual(load("n_head", 0), "\(path): n_head: 0 is outside 1...1024, the sizes xtf holds")
        let tooBig = load("vocab_size", 2_000_000)
        XCTAssertTrue(tooBig.hasPrefix("\(path): its sizes make ") && tooBig.hasSuffix("a size in config.json is wrong"), tooBig)
        XCTAssertEqual(load("vocab_size", original["vocab_size"]!), "loaded")
    }
}
