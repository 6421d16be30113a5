import Artifacts
import Foundation
import Model
import TestSupport
import XCTest

/// A full checkpoint written the way `xtf train` writes it (Transformer.save: config.json +
/// model.safetensors) after a few AdamW steps, checked with `xtf model check` against what the
/// trained model computed in memory before it was saved: logits, log-probs, hidden states,
/// attention received, loss, every gradient and greedy output. One fixture per architecture.
final class CheckpointCheckTests: XCTestCase {
    func check(_ fixture: String) throws {
        let directory = try TestPaths.hfFixture(fixture)
        let inputs = try SafetensorsFile(path: directory.appendingPathComponent("expected.safetensors").path)
        let shape = try inputs.info("input_ids").shape
        let (B, T) = (shape[0], shape[1])
        let ids = try inputs.ints("input_ids"), labels = try inputs.ints("labels")
        let sequences = (0..<B).map { b in ids[(b * T)..<((b + 1) * T)].map { Int32($0) } }
        var targets = sequences.map { $0.map { _ in Int32(-1) } }, weights = sequences.map { $0.map { _ in Float(0) } }
        for b in 0..<B {
            for t in 0..<(T - 1) where labels[b * T + t + 1] != -100 {
                targets[b][t] = Int32(labels[b * T + t + 1]); weights[b][t] = 1
            }
        }

        // Train a little, so the checkpoint is not the fixture's weights.
        let model = try Transformer.load(directory: directory)
        model.enableGradients()
        let optimizer = AdamW(parameterCount: model.parameters.count, learningRate: 1e-2, weightDecay: 0.01)
        for _ in 0..<3 {
            model.gradients!.zero()
            try model.accumulateGradients(sequences, targets: targets, weights: weights)
            optimizer.step(model.parameters, model.gradients!)
        }

        // What the trained model computes, in the fixture's expected-outputs layout.
        var expected = SafetensorsWriter()
        expected.add("input_ids", shape: [B, T], int32s: sequences.joined())
        expected.add("labels", shape: [B, T], int32s: labels.map(Int32.init))
        let forward = try model.forward(sequences, ForwardRequest(
            targets: ForwardRequest.nextTokenTargets(sequences), logits: .all, finalHidden: true,
            attentionReceived: AttentionReceivedRequest(layers: .last)))
        let V = model.config.vocabSize, C = model.config.hiddenSize
        expected.add("logits", shape: [B, T, V], floats: forward.logits.joined())
        expected.add("next_token_logprob", shape: [B, T - 1], floats: forward.targetLogProbs.flatMap { $0.dropLast() })
        expected.add("final_hidden", shape: [B, T, C], floats: forward.finalHidden.joined())
        expected.add("ri_last_layer", shape: [B, T], floats: forward.attentionReceived.joined())
        let all = try model.forward(sequences, ForwardRequest(attentionReceived: AttentionReceivedRequest(layers: .all)))
        expected.add("ri_all_layers", shape: [B, T], floats: all.attentionReceived.joined())
        model.gradients!.zero()
        let loss = try model.accumulateGradients(sequences, targets: targets, weights: weights)
        expected.add("loss_sum", shape: [1], floats: [loss])
        for name in model.parameterNames {
            let gradient = model.gradients![name]!
            expected.add("grad." + name, shape: [gradient.count], floats: gradient)
        }
        let prompt = Array(sequences[0].prefix(6))
        expected.add("greedy_prompt", shape: [1, 6], int32s: prompt)
        expected.add("greedy_output", shape: [1, 16], int32s: try model.generate(prompts: [prompt], maxNewTokens: 10)[0])

        let out = try TestPaths.scratchDirectory("checkpoint-\(fixture)")
        let checkpoint = out.appendingPathComponent("checkpoint")
        try model.save(directory: checkpoint)
        let expectedPath = out.appendingPathComponent("expected.safetensors").path
        try expected.write(to: expectedPath)

        let result = try MPIRunner.run(ranks: 1, ["model", "check", "--model", checkpoint.path, "--expected", expectedPath])
        XCTAssertEqual(result.status, 0, "\(fixture):\n\(result.stdout)\n\(result.stderr)")
        XCTAssertTrue(result.stdout.contains("grad."), result.stdout)
        XCTAssertTrue(result.stdout.contains("greedy_output"), result.stdout)
        // The check does fail on other weights: the fixture's own weights against these outputs.
        let untrained = try MPIRunner.run(ranks: 1, ["model", "check", "--model", directory.path, "--expected", expectedPath])
        XCTAssertNotEqual(untrained.status, 0, "the untrained fixture should not match the trained outputs")
    }

    func testGPT2() throws { try check("gpt2-tiny") }
    func testLlama3() throws { try check("llama3-tiny") }
    func testMistral() throws { try check("mistral-tiny") }
    func testQwen2() throws { try check("qwen2-tiny") }
    func testQwen3() throws { try check("qwen3-tiny") }
    func testOLMo2() throws { try check("olmo2-tiny") }
    func testSmolLM3() throws { try check("smollm3-tiny") }
    func testPhi3() throws { try check("phi3-tiny") }
    func testGemma2() throws { try check("gemma2-tiny") }
    func testGemma3Text() throws { try check("gemma3-text-tiny") }
}
