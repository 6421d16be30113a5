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

    // MARK: --reference transformers

    /// A stand-in for scripts/transformers_reference.py: records its arguments, then writes
    /// `source` as the reference (or fails like a Python without torch).
    private func standIn(copying source: String?, in directory: URL) throws -> URL {
        let script = directory.appendingPathComponent("reference.py")
        let body = source.map { "shutil.copy(\($0.debugDescription), out)" } ?? "print(\"ModuleNotFoundError: No module named 'torch'\"); sys.exit(3)"
        try """
            import shutil, sys
            out = sys.argv[sys.argv.index("--out") + 1]
            open(out + ".args", "w").write(" ".join(sys.argv[1:]))
            \(body)
            """.write(to: script, atomically: true, encoding: .utf8)
        return script
    }

    /// `--reference transformers` runs the reference script on the checkpoint, keeps its output at
    /// --expected, and compares with it on relative error.
    func testReferenceRunsTheScriptThenCompares() throws {
        let directory = try TestPaths.hfFixture("qwen2-tiny"), scratch = try TestPaths.scratchDirectory("reference-standin")
        let script = try standIn(copying: directory.appendingPathComponent("expected.safetensors").path, in: scratch)
        let kept = scratch.appendingPathComponent("kept.safetensors").path
        let result = try MPIRunner.run(ranks: 1, ["model", "check", "--model", directory.path, "--reference", "transformers",
                                                  "--reference-script", script.path, "--expected", kept])
        XCTAssertEqual(result.status, 0, "\(result.stdout)\n\(result.stderr)")
        XCTAssertTrue(result.stdout.contains("within tolerance"), result.stdout)
        XCTAssertEqual(try String(contentsOfFile: kept + ".args", encoding: .utf8),
                       "--model \(directory.path) --out \(kept) --gradients norm")
        XCTAssertTrue(FileManager.default.fileExists(atPath: kept), "the reference is kept at --expected")
    }

    /// A reference script that fails (no torch) stops the check with its exit status and output.
    func testReferenceScriptFailureIsReported() throws {
        let directory = try TestPaths.hfFixture("qwen2-tiny"), scratch = try TestPaths.scratchDirectory("reference-fails")
        let result = try MPIRunner.run(ranks: 1, ["model", "check", "--model", directory.path, "--reference", "transformers",
                                                  "--reference-script", try standIn(copying: nil, in: scratch).path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("exited 3") && result.stderr.contains("No module named 'torch'"), result.stderr)
        let none = try MPIRunner.run(ranks: 1, ["model", "check", "--model", directory.path])
        XCTAssertTrue(none.stderr.contains("give --expected FILE, or --reference transformers"), none.stderr)
    }

    /// The real script on a later architecture's fixture, where Python has torch and
    /// transformers (the suite never installs them: without them this says SKIP).
    func testReferenceTransformersOnFixture() throws {
        let probe = try Process.outcome(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", "import torch, transformers"], withStandardError: true)
        guard probe.status == 0 else {
            print("*** SKIP: python3 has no torch/transformers (the suite never installs them), so xtf model check --reference transformers was not run ***")
            throw XCTSkip("python3 has no torch/transformers")
        }
        let result = try MPIRunner.run(ranks: 1, ["model", "check", "--model", try TestPaths.hfFixture("qwen3-tiny").path,
                                                  "--reference", "transformers", "--gradients", "."], timeout: 300)
        XCTAssertEqual(result.status, 0, "\(result.stdout)\n\(result.stderr)")
        for name in ["logits", "attention.1", "grad.lm_head.weight", "greedy_output"] { XCTAssertTrue(result.stdout.contains(name), result.stdout) }
    }
}
