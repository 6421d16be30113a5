import Artifacts
import Foundation
import Model
import TestSupport
import XCTest

/// The architectures after the first four (Tests/ModelTests/Fixtures): their config.json read
/// and written back, checkpoints saved and reloaded with every tensor HF wrote, and the config
/// fields they cannot honour refused by name. FixtureTests and GradientCheckTests check the math.
final class LaterArchitectureTests: XCTestCase {
    static let fixtures = ["qwen3-tiny", "olmo2-tiny", "smollm3-tiny", "phi3-tiny", "gemma2-tiny", "gemma3-text-tiny"]

    func config(_ json: String) throws -> ModelConfig { try ModelConfig(huggingFaceJSON: Data(json.utf8)) }

    /// Loads, saves as `xtf train` does, reloads: same config, same weights, and exactly the
    /// tensors of the HF checkpoint (none ignored on load, none invented on save).
    func testSaveReloadKeepsEveryTensor() throws {
        for name in Self.fixtures {
            let source = try TestPaths.hfFixture(name)
            let model = try Transformer.load(directory: source)
            XCTAssertEqual(try ModelConfig(huggingFaceJSON: try model.config.huggingFaceJSON()), model.config, name)
            let saved = try TestPaths.scratchDirectory("save-\(name)")
            defer { try? FileManager.default.removeItem(at: saved) }
            try model.save(directory: saved)
            let back = try Transformer.load(directory: saved)
            XCTAssertEqual(back.config, model.config, name)
            XCTAssertEqual(Array(back.parameters.buffer), Array(model.parameters.buffer), name)
            let original = try SafetensorsFile(path: source.appendingPathComponent("model.safetensors").path)
            XCTAssertEqual(Set(model.parameterNames), Set(original.names), name)
        }
    }

    /// A config.json of `modelType` with the tiny shapes plus `extra` keys.
    func tiny(_ modelType: String, layers: Int = 2, _ extra: String = "") -> String {
        """
        {"model_type": "\(modelType)", "vocab_size": 100, "hidden_size": 32, "num_hidden_layers": \(layers), "num_attention_heads": 4,
         "num_key_value_heads": 2, "intermediate_size": 64\(extra.isEmpty ? "" : ", " + extra)}
        """
    }

    func assertRefused(_ json: String, key: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try config(json), file: file, line: line) { error in
            guard case let .invalidValue(k, _)? = error as? ModelError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(k, key, file: file, line: line)
        }
    }

    func testQwen3Config() throws {
        let fixture = try ModelConfig(directory: try TestPaths.hfFixture("qwen3-tiny"))
        XCTAssertEqual(fixture.architecture, .qwen3)
        XCTAssertEqual(fixture.headDim, 12); XCTAssertEqual(fixture.qDim, 48); XCTAssertFalse(fixture.qkvBias)
        // transformers' Qwen3Config defaults head_dim to 128, not hidden_size / heads.
        XCTAssertEqual(try config(tiny("qwen3")).headDim, 128)
        assertRefused(tiny("qwen3", "\"attention_bias\": true"), key: "attention_bias")
        assertRefused(tiny("qwen3", "\"use_sliding_window\": true, \"sliding_window\": 8"), key: "use_sliding_window")
        assertRefused(tiny("qwen3", "\"rope_parameters\": {\"rope_type\": \"default\", \"partial_rotary_factor\": 0.5}"),
                      key: "partial_rotary_factor")
        XCTAssertThrowsError(try config(tiny("qwen3", "\"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": 4}"))) {
            XCTAssertEqual($0 as? ModelError, .unsupportedRopeScaling("yarn"))
        }
    }

    func testOLMo2Config() throws {
        let fixture = try ModelConfig(directory: try TestPaths.hfFixture("olmo2-tiny"))
        XCTAssertEqual(fixture.architecture, .olmo2); XCTAssertEqual(fixture.headDim, 8)
        assertRefused(tiny("olmo2", "\"attention_bias\": true"), key: "attention_bias")
    }

    func testSmolLM3Config() throws {
        let fixture = try ModelConfig(directory: try TestPaths.hfFixture("smollm3-tiny"))
        XCTAssertEqual(fixture.architecture, .smollm3); XCTAssertEqual(fixture.layersWithoutRope, [1])
        XCTAssertTrue(fixture.usesRope(layer: 0)); XCTAssertFalse(fixture.usesRope(layer: 1))
        // As transformers: every no_rope_layer_interval-th layer (default 4), tied, theta 2e6.
        let derived = try config(tiny("smollm3", layers: 8))
        XCTAssertEqual(derived.layersWithoutRope, [3, 7]); XCTAssertTrue(derived.tiedEmbeddings); XCTAssertEqual(derived.ropeTheta, 2e6)
        XCTAssertEqual(try config(tiny("smollm3", "\"no_rope_layer_interval\": 2")).layersWithoutRope, [1])
        assertRefused(tiny("smollm3", "\"no_rope_layers\": [1, 1, 0]"), key: "no_rope_layers")
        assertRefused(tiny("smollm3", "\"no_rope_layers\": [1, 2]"), key: "no_rope_layers")
        assertRefused(tiny("smollm3", "\"use_sliding_window\": true, \"sliding_window\": 8"), key: "use_sliding_window")
        assertRefused(tiny("smollm3", "\"attention_bias\": true"), key: "attention_bias")
        assertRefused(tiny("smollm3", "\"mlp_bias\": true"), key: "mlp_bias")
    }

    func testPhi3Config() throws {
        let fixture = try ModelConfig(directory: try TestPaths.hfFixture("phi3-tiny"))
        XCTAssertEqual(fixture.architecture, .phi3); XCTAssertEqual(fixture.slidingWindow, 5); XCTAssertEqual(fixture.normEps, 1e-5)
        XCTAssertEqual(try config(tiny("phi3")).normEps, 1e-5)
        XCTAssertThrowsError(try config(tiny("phi3", "\"rope_parameters\": {\"rope_type\": \"longrope\", \"short_factor\": [1], \"long_factor\": [1]}"))) {
            XCTAssertEqual($0 as? ModelError, .unsupportedRopeScaling("longrope"))
        }
        assertRefused(tiny("phi3", "\"partial_rotary_factor\": 0.75"), key: "partial_rotary_factor")
    }

    /// LoRA on Phi-3's fused weights: one adapter per fused module, over its whole width.
    func testPhi3LoRAAdaptsFusedWeights() throws {
        let model = try Transformer.load(directory: try TestPaths.hfFixture("phi3-tiny"))
        try model.enableLoRA(LoRAConfig(rank: 2, alpha: 4, targetModules: ["qkv_proj", "gate_up_proj"]))
        let names = model.lora!.parameters.layout.entries.map(\.name)
        let c = model.config
        XCTAssertEqual(names.count, 2 * 2 * c.layers)
        let b = model.lora!.parameters.layout.entries.first { $0.name == "base_model.model.model.layers.0.self_attn.qkv_proj.lora_B.weight" }
        XCTAssertEqual(b?.shape, [c.qkvDim, 2])
        let up = model.lora!.parameters.layout.entries.first { $0.name == "base_model.model.model.layers.1.mlp.gate_up_proj.lora_B.weight" }
        XCTAssertEqual(up?.shape, [2 * c.intermediateSize, 2])
        XCTAssertThrowsError(try model.enableLoRA(LoRAConfig(rank: 2, alpha: 4, targetModules: ["q_proj"])))
    }

    func testGemma2Config() throws {
        let fixture = try ModelConfig(directory: try TestPaths.hfFixture("gemma2-tiny"))
        XCTAssertEqual(fixture.architecture, .gemma2); XCTAssertEqual(fixture.headDim, 16)
        XCTAssertEqual(fixture.fullAttentionLayers, [1]); XCTAssertEqual(fixture.window(layer: 0), 5); XCTAssertNil(fixture.window(layer: 1))
        XCTAssertEqual(fixture.attentionSoftcap, 1); XCTAssertEqual(fixture.finalLogitSoftcap, 1)
        XCTAssertEqual(fixture.attentionScale, Float(1 / 12.0.squareRoot()))
        // transformers' defaults when keys are missing; null switches a soft-cap or the window off.
        let defaults = try config(tiny("gemma2", layers: 4))
        XCTAssertEqual(defaults.attentionSoftcap, 50); XCTAssertEqual(defaults.finalLogitSoftcap, 30)
        XCTAssertEqual(defaults.slidingWindow, 4096); XCTAssertEqual(defaults.fullAttentionLayers, [1, 3])
        XCTAssertEqual(defaults.headDim, 256); XCTAssertEqual(defaults.queryPreAttentionScalar, 256); XCTAssertTrue(defaults.tiedEmbeddings)
        let off = try config(tiny("gemma2", "\"attn_logit_softcapping\": null, \"final_logit_softcapping\": null, \"sliding_window\": null"))
        XCTAssertNil(off.attentionSoftcap); XCTAssertNil(off.finalLogitSoftcap); XCTAssertNil(off.window(layer: 0))
        assertRefused(tiny("gemma2", "\"layer_types\": [\"full_attention\", \"chunked_attention\"]"), key: "layer_types[1]")
        assertRefused(tiny("gemma2", "\"hidden_activation\": \"gelu\""), key: "hidden_activation")
        assertRefused(tiny("gemma2", "\"use_bidirectional_attention\": true"), key: "use_bidirectional_attention")
        assertRefused(tiny("gemma2", "\"attention_bias\": true"), key: "attention_bias")
    }

    func testGemma3TextConfig() throws {
        let fixture = try ModelConfig(directory: try TestPaths.hfFixture("gemma3-text-tiny"))
        XCTAssertEqual(fixture.architecture, .gemma3Text); XCTAssertEqual(fixture.fullAttentionLayers, [1])
        XCTAssertEqual(fixture.ropeTheta, 1e6); XCTAssertEqual(fixture.ropeScaling, .linear(factor: 4))
        XCTAssertEqual(fixture.slidingLayerRope, RopeSettings(theta: 10000))
        XCTAssertEqual(fixture.ropeTable(layer: 0), 1); XCTAssertEqual(fixture.ropeTable(layer: 1), 0)
        XCTAssertNil(fixture.attentionSoftcap); XCTAssertNil(fixture.finalLogitSoftcap)
        // Older files: rope_theta + rope_scaling for full layers, rope_local_base_freq for sliding ones;
        // one layer in sliding_window_pattern (6) full.
        let legacy = try config(tiny("gemma3_text", layers: 12, "\"rope_theta\": 500000, \"rope_local_base_freq\": 20000, \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 8}"))
        XCTAssertEqual(legacy.ropeTheta, 500000); XCTAssertEqual(legacy.ropeScaling, .linear(factor: 8))
        XCTAssertEqual(legacy.slidingLayerRope, RopeSettings(theta: 20000)); XCTAssertEqual(legacy.fullAttentionLayers, [5, 11])
        let defaults = try config(tiny("gemma3_text"))
        XCTAssertEqual(defaults.ropeTheta, 1e6); XCTAssertEqual(defaults.slidingLayerRope, RopeSettings(theta: 10000))
        XCTAssertThrowsError(try config(tiny("gemma3_text", "\"rope_parameters\": {\"full_attention\": {\"rope_type\": \"yarn\", \"factor\": 8}}"))) {
            XCTAssertEqual($0 as? ModelError, .unsupportedRopeScaling("yarn"))
        }
        XCTAssertThrowsError(try config(tiny("gemma3_text", "\"rope_parameters\": {\"sliding_attention\": {\"rope_type\": \"linear\"}}"))) {
            XCTAssertTrue("\($0)".contains("rope_parameters.sliding_attention.factor"), "\($0)")
        }
        assertRefused(tiny("gemma3_text", "\"use_bidirectional_attention\": true"), key: "use_bidirectional_attention")
    }

    /// Qwen2's windows apply to the layers layer_types marks sliding, or from max_window_layers
    /// on (transformers' derivation for older configs), only with use_sliding_window; a save
    /// writes them back as layer_types.
    func testQwen2PerLayerSlidingWindow() throws {
        let derived = try config(tiny("qwen2", layers: 3, "\"use_sliding_window\": true, \"sliding_window\": 5, \"max_window_layers\": 1"))
        XCTAssertEqual(derived.slidingWindow, 5); XCTAssertEqual(derived.fullAttentionLayers, [0])
        XCTAssertEqual((0..<3).map { derived.window(layer: $0) }, [nil, 5, 5])
        let listed = try config(tiny("qwen2", layers: 3, """
            "use_sliding_window": true, "sliding_window": 5, "layer_types": ["sliding_attention", "full_attention", "sliding_attention"]
            """))
        XCTAssertEqual(listed.fullAttentionLayers, [1])
        XCTAssertEqual(try ModelConfig(huggingFaceJSON: try listed.huggingFaceJSON()), listed)
        let off = try config(tiny("qwen2", layers: 3, "\"use_sliding_window\": false, \"sliding_window\": 5"))
        XCTAssertNil(off.slidingWindow)
        XCTAssertEqual(try ModelConfig(huggingFaceJSON: try off.huggingFaceJSON()), off)
    }

    /// Llama's attention_bias biases o_proj too, which xtf does not compute: refused, never ignored.
    func testLlamaAttentionBiasRefused() {
        assertRefused(tiny("llama", "\"attention_bias\": true"), key: "attention_bias")
    }

    /// Every N-th layer full needs N >= 1: a pattern of 0 is refused, not a division by zero.
    func testGemmaSlidingPatternZeroRefused() {
        assertRefused(tiny("gemma3_text", "\"sliding_window_pattern\": 0"), key: "sliding_window_pattern")
    }
}
