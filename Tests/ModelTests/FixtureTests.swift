import Artifacts
import Foundation
import Model
import TestSupport
import XCTest

/// Every fixture, fp32 and bf16, against what HF transformers computed: shared/fixtures/hf's
/// and the later architectures' in Tests/ModelTests/Fixtures (scripts/make_hf_fixture.py).
final class FixtureTests: XCTestCase {
    func check(_ relative: String, minimumTensors: Int) throws {
        let dir = try TestPaths.hfFixture(relative)
        let rows = try ReferenceCheck.run(directory: dir, expectedPath: dir.appendingPathComponent("expected.safetensors").path)
        XCTAssertGreaterThanOrEqual(rows.count, minimumTensors, "\(relative): too few tensors compared")
        for r in rows where !r.passed {
            XCTFail("\(relative): \(r.name) max abs \(r.maxAbs), max rel \(r.maxRel)")
        }
        // The tensors the issue names must all have been compared.
        let names = Set(rows.map(\.name))
        for required in ["logits", "next_token_logprob", "final_hidden"] {
            XCTAssertTrue(names.contains(required), "\(relative): \(required) not compared")
        }
        if !relative.hasSuffix("bf16") {
            for required in ["ri_last_layer", "ri_all_layers", "single_token_final_hidden", "loss_sum", "adamw_losses", "greedy_output"] {
                XCTAssertTrue(names.contains(required), "\(relative): \(required) not compared")
            }
            // Every parameter HF has a gradient for is one of ours and was compared (a tensor
            // the layout lacked would otherwise be skipped, and ignored when loading).
            let expectedGradients = try SafetensorsFile(path: dir.appendingPathComponent("expected.safetensors").path)
                .names.filter { $0.hasPrefix("grad.") }
            XCTAssertFalse(expectedGradients.isEmpty)
            XCTAssertEqual(Set(expectedGradients), names.filter { $0.hasPrefix("grad.") }, "\(relative): gradients not compared")
            XCTAssertTrue(names.contains("attention.0"), "\(relative): attention not compared")
        }
    }

    func testGPT2() throws { try check("gpt2-tiny", minimumTensors: 40) }
    func testLlama3() throws { try check("llama3-tiny", minimumTensors: 32) }
    func testMistral() throws { try check("mistral-tiny", minimumTensors: 33) }
    func testQwen2() throws { try check("qwen2-tiny", minimumTensors: 38) }
    func testGPT2BF16() throws { try check("gpt2-tiny/bf16", minimumTensors: 3) }
    func testLlama3BF16() throws { try check("llama3-tiny/bf16", minimumTensors: 3) }
    func testMistralBF16() throws { try check("mistral-tiny/bf16", minimumTensors: 3) }
    func testQwen2BF16() throws { try check("qwen2-tiny/bf16", minimumTensors: 3) }
    /// 25 gradients (11 tensors a layer with the q/k norms, final norm, embeddings, head) + 12 others.
    func testQwen3() throws { try check("qwen3-tiny", minimumTensors: 37) }
    func testQwen3BF16() throws { try check("qwen3-tiny/bf16", minimumTensors: 3) }
    /// 25 gradients (11 tensors a layer: 2 output norms, q/k norms, 7 linears) + 12 others.
    func testOLMo2() throws { try check("olmo2-tiny", minimumTensors: 37) }
    func testOLMo2BF16() throws { try check("olmo2-tiny/bf16", minimumTensors: 3) }
    /// Layer 1 without RoPE; 20 gradients (9 a layer, final norm, tied embeddings) + 12 others.
    func testSmolLM3() throws { try check("smollm3-tiny", minimumTensors: 32) }
    func testSmolLM3BF16() throws { try check("smollm3-tiny/bf16", minimumTensors: 3) }
    /// Fused qkv_proj and gate_up_proj, window 5 < 24 tokens; 15 gradients (6 a layer, final
    /// norm, embeddings, head) + 12 others.
    func testPhi3() throws { try check("phi3-tiny", minimumTensors: 27) }
    func testPhi3BF16() throws { try check("phi3-tiny/bf16", minimumTensors: 3) }
    /// 4 norms and 7 linears a layer, final norm, tied embeddings: 24 gradients + 12 others.
    func testGemma2() throws { try check("gemma2-tiny", minimumTensors: 36) }
    func testGemma2BF16() throws { try check("gemma2-tiny/bf16", minimumTensors: 3) }
    /// Gemma 2's 24 gradients + q/k norms (28) + 12 others; layer 0 slides on RoPE base 1e4,
    /// layer 1 attends to all on base 1e6 with linear scaling.
    func testGemma3Text() throws { try check("gemma3-text-tiny", minimumTensors: 40) }
    func testGemma3TextBF16() throws { try check("gemma3-text-tiny/bf16", minimumTensors: 3) }
}
