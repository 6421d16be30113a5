import Artifacts
import Foundation
import GGUF
import Model
import TestSupport
import XCTest

/// The tiny Hugging Face fixtures of each architecture, converted to GGUF by llama.cpp's own
/// convert_hf_to_gguf.py (scripts/make_gguf_fixture.py; Fixtures/converted), imported back:
/// every weight must be the fixture's, and where the GGUF metadata carries everything the
/// fixture's config sets, the import must compute what transformers computed for the fixture.
/// Where llama.cpp fixes a setting instead of storing it (SmolLM3's RoPE-free layers, Gemma's
/// query scale and sliding pattern), the import must take llama.cpp's value.
final class ConvertedArchitectureTests: XCTestCase {
    struct Imported {
        let config: ModelConfig
        let directory: URL
        let fixture: URL
    }

    private func imported(_ name: String, fixture: URL) throws -> Imported {
        let gguf = TestPaths.packageRoot.appendingPathComponent("Tests/GGUFTests/Fixtures/converted/\(name).gguf")
        let out = try TestPaths.scratchDirectory("converted-\(name)")
        let summary = try GGUFImport.run(gguf: gguf.path, out: out)
        XCTAssertTrue(summary.tensorTypes.keys.allSatisfy { $0 == "F32" }, "\(summary.tensorTypes)")
        return Imported(config: try ModelConfig(directory: out), directory: out, fixture: fixture)
    }

    /// Every tensor of the fixture, imported under its own name with its own values (Gemma's
    /// norms come back from 1 + w, so within float rounding of 1).
    private func assertSameWeights(_ m: Imported, normTolerance: Float = 0, file: StaticString = #filePath, line: UInt = #line) throws {
        let original = try SafetensorsFile(path: m.fixture.appendingPathComponent("model.safetensors").path)
        let imported = try SafetensorsFile(path: m.directory.appendingPathComponent("model.safetensors").path)
        let expectedNames = Set(original.names).subtracting(m.config.tiedEmbeddings ? ["lm_head.weight"] : [])
        XCTAssertEqual(Set(imported.names), expectedNames, file: file, line: line)
        for name in expectedNames {
            let a = try imported.floats(name), b = try original.floats(name)
            XCTAssertEqual(try imported.info(name).shape, try original.info(name).shape, name, file: file, line: line)
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, name.hasSuffix("norm.weight") ? normTolerance : 0, name, file: file, line: line)
        }
    }

    /// The fixture's expected.safetensors (transformers' logits, attention, hidden states,
    /// gradients, AdamW steps, greedy output) reproduced by the import.
    private func assertSameOutputs(_ m: Imported, file: StaticString = #filePath, line: UInt = #line) throws {
        let rows = try ReferenceCheck.run(directory: m.directory, expectedPath: m.fixture.appendingPathComponent("expected.safetensors").path)
        XCTAssertGreaterThan(rows.count, 20, file: file, line: line)
        for row in rows { XCTAssertTrue(row.passed, "\(row.name): max abs \(row.maxAbs)", file: file, line: line) }
    }

    /// Imported, with the fixture's weights and transformers' outputs for it.
    private func roundTrip(_ name: String, fixture: URL, file: StaticString = #filePath, line: UInt = #line) throws -> Imported {
        let m = try imported(name, fixture: fixture)
        try assertSameWeights(m, file: file, line: line)
        try assertSameOutputs(m, file: file, line: line)
        return m
    }

    private func later(_ name: String) -> URL { TestPaths.packageRoot.appendingPathComponent("Tests/ModelTests/Fixtures/\(name)") }

    func testQwen2() throws {
        let m = try roundTrip("qwen2-tiny", fixture: try TestPaths.hfFixture("qwen2-tiny"))
        XCTAssertEqual(m.config.architecture, .qwen2); XCTAssertTrue(m.config.qkvBias); XCTAssertTrue(m.config.tiedEmbeddings)
    }

    func testQwen3() throws {
        let m = try roundTrip("qwen3-tiny", fixture: later("qwen3-tiny"))
        XCTAssertEqual(m.config.architecture, .qwen3); XCTAssertEqual(m.config.headDim, 12)
    }

    func testOLMo2() throws {
        let m = try roundTrip("olmo2-tiny", fixture: later("olmo2-tiny"))
        XCTAssertEqual(m.config.architecture, .olmo2)
    }

    /// Fused qkv_proj and gate_up_proj; the Hugging Face sliding window (5 < 24 tokens) kept.
    func testPhi3() throws {
        let m = try roundTrip("phi3-tiny", fixture: later("phi3-tiny"))
        XCTAssertEqual(m.config.architecture, .phi3); XCTAssertEqual(m.config.slidingWindow, 5)
    }

    /// q/k rows back from llama.cpp's rotary order; RoPE-free layers by llama.cpp's fixed rule
    /// (every 4th), which a 2-layer model does not reach (the fixture's own layer 1 is lost).
    func testSmolLM3() throws {
        let m = try imported("smollm3-tiny", fixture: later("smollm3-tiny"))
        XCTAssertEqual(m.config.architecture, .smollm3)
        XCTAssertEqual(m.config.layersWithoutRope, [])
        try assertSameWeights(m)
        var deeper = try JSONSerialization.jsonObject(with: try Data(contentsOf: m.directory.appendingPathComponent("config.json"))) as! [String: Any]
        deeper["num_hidden_layers"] = 8
        deeper["no_rope_layers"] = nil
        XCTAssertEqual(try ModelConfig(huggingFaceJSON: try JSONSerialization.data(withJSONObject: deeper)).layersWithoutRope, [3, 7],
                       "the import's config derives llama.cpp's every-4th rule for deeper models")
    }

    /// Norms back from 1 + w; soft-caps, window and even-layer sliding from the metadata; the
    /// query scale llama.cpp uses (1/sqrt(head_dim) = 1/4), not the fixture's 1/sqrt(12).
    func testGemma2() throws {
        let m = try imported("gemma2-tiny", fixture: later("gemma2-tiny"))
        let c = m.config
        XCTAssertEqual(c.architecture, .gemma2)
        XCTAssertEqual(c.attentionSoftcap, 1); XCTAssertEqual(c.finalLogitSoftcap, 1)
        XCTAssertEqual(c.slidingWindow, 5); XCTAssertEqual(c.fullAttentionLayers, [1])
        XCTAssertEqual(c.queryPreAttentionScalar, 16)
        try assertSameWeights(m, normTolerance: 1e-6)
    }

    /// Gemma 3: q/k norms too; llama.cpp's pattern of 6 makes both layers sliding (the fixture
    /// had pattern 2); the full layers' RoPE base 1e6 with linear scaling 4, the sliding ones' 1e4.
    func testGemma3Text() throws {
        let m = try imported("gemma3-text-tiny", fixture: later("gemma3-text-tiny"))
        let c = m.config
        XCTAssertEqual(c.architecture, .gemma3Text)
        XCTAssertEqual(c.slidingWindow, 5); XCTAssertEqual(c.fullAttentionLayers, [])
        XCTAssertEqual(c.queryPreAttentionScalar, 16); XCTAssertNil(c.finalLogitSoftcap)
        XCTAssertEqual(c.ropeTheta, 1_000_000); XCTAssertEqual(c.ropeScaling, .linear(factor: 4))
        XCTAssertEqual(c.slidingLayerRope?.theta, 10000)
        try assertSameWeights(m, normTolerance: 1e-6)
    }

    /// A file that names an architecture the importer does not read is refused by name, before
    /// anything is written.
    func testUnsupportedArchitectureWritesNothing() throws {
        let source = TestPaths.packageRoot.appendingPathComponent("Tests/GGUFTests/Fixtures/converted/qwen3-tiny.gguf")
        var bytes = Array(try Data(contentsOf: source))
        let key = Array("general.architecture".utf8)
        guard let at = (0..<(bytes.count - key.count)).first(where: { Array(bytes[$0..<($0 + key.count)]) == key }) else {
            return XCTFail("no general.architecture key")
        }
        // The value follows: type (4 bytes), length (8), then "qwen3": make it "qwen9".
        bytes[at + key.count + 12 + 4] = UInt8(ascii: "9")
        let scratch = try TestPaths.scratchDirectory("converted-unsupported")
        let file = scratch.appendingPathComponent("qwen9.gguf"), out = scratch.appendingPathComponent("out")
        try Data(bytes).write(to: file)
        XCTAssertThrowsError(try GGUFImport.run(gguf: file.path, out: out)) { error in
            XCTAssertEqual("\(error)", "\(file.path): general.architecture: unsupported architecture \"qwen9\" (supported: \(GGUFImport.supportedArchitectures.joined(separator: ", ")))")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }
}
