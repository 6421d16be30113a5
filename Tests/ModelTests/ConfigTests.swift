import Foundation
import Model
import TestSupport
import XCTest

final class ConfigTests: XCTestCase {
    func config(_ json: String) throws -> ModelConfig { try ModelConfig(huggingFaceJSON: Data(json.utf8)) }

    let llama = """
        {"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
         "num_key_value_heads": 2, "intermediate_size": 128, "rms_norm_eps": 1e-5, %@}
        """

    func testFixtureConfigs() throws {
        let l = try ModelConfig(directory: try TestPaths.sharedFile("fixtures/hf/llama3-tiny"))
        XCTAssertEqual(l.ropeScaling, .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64))
        XCTAssertEqual(l.kvHeads, 2); XCTAssertTrue(l.tiedEmbeddings); XCTAssertEqual(l.headDim, 16)
        let g = try ModelConfig(directory: try TestPaths.sharedFile("fixtures/hf/gpt2-tiny"))
        XCTAssertEqual(g.architecture, .gpt2); XCTAssertEqual(g.intermediateSize, 256)
        let q = try ModelConfig(directory: try TestPaths.sharedFile("fixtures/hf/qwen2-tiny"))
        XCTAssertTrue(q.qkvBias); XCTAssertNil(q.slidingWindow)
        let m = try ModelConfig(directory: try TestPaths.sharedFile("fixtures/hf/mistral-tiny"))
        XCTAssertEqual(m.slidingWindow, 4096); XCTAssertFalse(m.tiedEmbeddings)
    }

    func testRopeParametersEqualsRopeScaling() throws {
        let old = try config(String(format: llama, "\"rope_theta\": 500000, \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1, \"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}"))
        let new = try config(String(format: llama, "\"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 500000, \"factor\": 8, \"low_freq_factor\": 1, \"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}"))
        XCTAssertEqual(old, new)
        XCTAssertEqual(new.ropeTheta, 500000)
        let linear = try config(String(format: llama, "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}"))
        XCTAssertEqual(linear.ropeScaling, .linear(factor: 2))
        let plain = try config(String(format: llama, "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1000}"))
        XCTAssertEqual(plain.ropeScaling, .none); XCTAssertEqual(plain.ropeTheta, 1000)
        let headDim = try config(String(format: llama, "\"head_dim\": 32"))
        XCTAssertEqual(headDim.headDim, 32); XCTAssertEqual(headDim.qDim, 128)
    }

    func testErrorsNameTheKey() throws {
        XCTAssertThrowsError(try config("{\"model_type\": \"bert\"}")) { XCTAssertEqual($0 as? ModelError, .unsupportedModelType("bert")) }
        XCTAssertThrowsError(try config("{\"model_type\": \"llama\", \"vocab_size\": 10}")) {
            XCTAssertEqual($0 as? ModelError, .missingKey("hidden_size", modelType: "llama"))
        }
        XCTAssertThrowsError(try config(String(format: llama, "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 2}"))) {
            XCTAssertEqual($0 as? ModelError, .unsupportedRopeScaling("yarn"))
        }
        XCTAssertThrowsError(try config(String(format: llama, "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}"))) {
            XCTAssertTrue("\($0)".contains("rope_scaling.low_freq_factor"))
        }
    }

    /// Settings that would turn every activation into NaN (issue #21: rope_theta -1 ran to the
    /// end with "0 masked") are refused naming the key.
    func testRealSettingsThatMakeNaNAreRefused() throws {
        for (key, value) in [("rope_theta", "-1"), ("rope_theta", "0"), ("rms_norm_eps", "-1e-5"), ("rms_norm_eps", "2"),
                             ("partial_rotary_factor", "1.5"), ("rope_theta", "1e300")] {
            let json = String(format: llama, "\"\(key)\": \(value)").replacingOccurrences(of: "\"rms_norm_eps\": 1e-5, \"rms_norm_eps\"", with: "\"rms_norm_eps\"")
            XCTAssertThrowsError(try config(json), "\(key) \(value)") { error in
                XCTAssertTrue("\(error)".contains(key) && "\(error)".contains("NaN"), "\(error)")
            }
        }
        XCTAssertThrowsError(try config(String(format: llama, "\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": -2}"))) {
            XCTAssertTrue("\($0)".contains("rope_scaling.factor"), "\($0)")
        }
        XCTAssertNoThrow(try config(String(format: llama, "\"rope_theta\": 500000.0")))
        XCTAssertThrowsError(try config(String(format: llama, "\"vocab_size\": 1e400").replacingOccurrences(of: "\"vocab_size\": 100, ", with: ""))) {
            XCTAssertTrue("\($0)".contains("number out of range"), "\($0)")
        }
    }

    func testCodableAndHFRoundTrip() throws {
        for name in ["gpt2-small-bench", "gpt2-124M", "llama-bench"] {
            let c = try ModelConfig.benchmark(name)
            XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: try JSONEncoder().encode(c)), c)
            XCTAssertEqual(try ModelConfig(huggingFaceJSON: try c.huggingFaceJSON()), c)
        }
    }

    /// transformers 5 validates float-typed keys strictly: a Gemma 2 config written with caps of
    /// 30 and 50 must say 30.0 and 50.0 (JSONSerialization alone writes 30); integer keys stay
    /// integers; pad_token_id is written (null), so no class default past the vocabulary applies.
    func testWrittenFloatsKeepTheirDecimalPoint() throws {
        var c = try ModelConfig(directory: TestPaths.packageRoot.appendingPathComponent("Tests/ModelTests/Fixtures/gemma2-tiny"))
        c.attentionSoftcap = 50; c.finalLogitSoftcap = 30; c.ropeTheta = 10000
        let text = String(decoding: try c.huggingFaceJSON(), as: UTF8.self)
        for expected in ["\"attn_logit_softcapping\" : 50.0,", "\"final_logit_softcapping\" : 30.0,", "\"pad_token_id\" : null",
                         "\"num_hidden_layers\" : 2,", "\"query_pre_attn_scalar\" : 12"] {
            XCTAssertTrue(text.contains(expected), "\(expected) in\n\(text)")
        }
        XCTAssertEqual(try ModelConfig(huggingFaceJSON: try c.huggingFaceJSON()), c)
        XCTAssertEqual(ModelConfig.floatsWithDecimalPoint("{\"factor\" : 4,\n\"rope_theta\": 10000}"), "{\"factor\" : 4.0,\n\"rope_theta\": 10000.0}")
    }
}
