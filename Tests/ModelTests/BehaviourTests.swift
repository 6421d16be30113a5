import Foundation
import Model
import TestSupport
import XCTest

/// Batching, attention received, generation: behaviour the scoring and evaluation code relies on.
final class BehaviourTests: XCTestCase {
    func fixture(_ name: String) throws -> Transformer {
        try Transformer.load(directory: try TestPaths.sharedFile("fixtures/hf/\(name)"))
    }

    /// A batch of different lengths gives each sequence what it gets alone.
    func testVariableLengthBatchEqualsSingles() throws {
        for name in ["gpt2-tiny", "llama3-tiny"] {
            let m = try fixture(name)
            let seqs: [[Int32]] = [[5, 17, 300, 42, 9, 77, 3], [8, 1], [600, 2, 99, 12]]
            let request = ForwardRequest(targets: ForwardRequest.nextTokenTargets(seqs), finalHidden: true,
                                         attentionReceived: AttentionReceivedRequest(layers: .all))
            let batch = try m.forward(seqs, request)
            for (b, s) in seqs.enumerated() {
                var single = request
                single.targets = ForwardRequest.nextTokenTargets([s])
                let one = try m.forward([s], single)
                assertClose(batch.targetLogProbs[b], one.targetLogProbs[0], 1e-5)
                assertClose(batch.finalHidden[b], one.finalHidden[0], 1e-5)
                assertClose(batch.attentionReceived[b], one.attentionReceived[0], 1e-6)
                XCTAssertTrue(batch.targetLogProbs[b].last!.isNaN)
                XCTAssertTrue(batch.attentionReceived[b].last!.isNaN)
            }
        }
    }

    /// RI from the maps by definition, including the uniform-relative weighting.
    func testAttentionReceivedDefinition() throws {
        let m = try fixture("qwen2-tiny")
        let s: [[Int32]] = [[3, 14, 15, 92, 65, 35, 89]]
        let maps = try m.forward(s, ForwardRequest(attentionMaps: true)).attentionMaps
        let T = s[0].count, H = m.config.heads, L = m.config.layers
        for uniform in [false, true] {
            let ri = try m.forward(s, ForwardRequest(attentionReceived: AttentionReceivedRequest(layers: .all, uniformRelative: uniform))).attentionReceived[0]
            for p in 0..<(T - 1) {
                var sum: Float = 0
                for l in 0..<L { for h in 0..<H { for q in (p + 1)..<T { sum += maps[l][0][(h * T + q) * T + p] * (uniform ? Float(q + 1) : 1) } } }
                XCTAssertEqual(ri[p], sum / Float(L * H * (T - 1 - p)), accuracy: 1e-5)
            }
            XCTAssertTrue(ri[T - 1].isNaN)
        }
    }

    /// Scoring's head takes the vocabulary in tiles with a running log-sum-exp: whatever the
    /// tile width (one that does not divide the vocabulary, or the whole of it), log p(target)
    /// is the one the whole row's logits give, soft-capped logits included (gemma2-tiny).
    func testTiledHeadMatchesWholeRows() throws {
        for m in [try fixture("llama3-tiny"), try Transformer.load(directory: try TestPaths.hfFixture("gemma2-tiny"))] {
            let s: [[Int32]] = [[10, 20, 30, 40, 50, 60, 70, 80], [3, 1, 4]]
            let targets = ForwardRequest.nextTokenTargets(s)
            let all = try m.forward(s, ForwardRequest(logits: .all)).logits
            let V = m.config.vocabSize
            m.headChunkRows = 4  // several chunks of rows: each starts its rows' sums afresh
            for tile in [16, 37, 100, V] {
                m.headTileColumns = tile
                let tiled = try m.forward(s, ForwardRequest(targets: targets)).targetLogProbs
                for b in s.indices {
                    for t in 0..<(s[b].count - 1) {
                        let row = all[b][(t * V)..<((t + 1) * V)].map(Double.init)
                        let top = row.max()!
                        let expected = row[row.startIndex + Int(targets[b][t])] - top - log(row.reduce(0) { $0 + exp($1 - top) })
                        XCTAssertEqual(Double(tiled[b][t]), expected, accuracy: 1e-5, "tile \(tile), sequence \(b), position \(t)")
                    }
                    XCTAssertTrue(tiled[b].last!.isNaN)
                }
            }
        }
    }

    func testLogitsAtTargetsMatchAll() throws {
        let m = try fixture("mistral-tiny")
        let s: [[Int32]] = [[10, 20, 30, 40, 50]]
        let all = try m.forward(s, ForwardRequest(logits: .all)).logits[0]
        let some = try m.forward(s, ForwardRequest(targets: [[-1, 7, -1, 9, -1]], logits: .atTargets))
        let V = m.config.vocabSize
        XCTAssertEqual(some.logits[0].count, 2 * V)
        assertClose(Array(some.logits[0][0..<V]), Array(all[V..<(2 * V)]), 1e-6)
        XCTAssertTrue(some.targetLogProbs[0][0].isNaN)
    }

    func testBatchedGenerationAndSampling() throws {
        let m = try fixture("llama3-tiny")
        let prompts: [[Int32]] = [[5, 6, 7], [100, 200, 300, 400, 500], [9]]
        let batched = try m.generate(prompts: prompts, maxNewTokens: 6)
        for (b, p) in prompts.enumerated() {
            XCTAssertEqual(batched[b], try m.generate(prompts: [p], maxNewTokens: 6)[0])
            // Greedy with the cache equals argmax of a full forward at each step.
            var seq = p
            for _ in 0..<6 {
                let logits = try m.forward([seq], ForwardRequest(logits: .all)).logits[0].suffix(m.config.vocabSize)
                seq.append(Int32(logits.indices.max { logits[$0] < logits[$1] }! - logits.startIndex))
            }
            XCTAssertEqual(batched[b], seq)
        }
        let a = try m.generate(prompts: prompts, maxNewTokens: 5, sampling: .temperature(1.0, seed: 42))
        let b = try m.generate(prompts: prompts, maxNewTokens: 5, sampling: .temperature(1.0, seed: 42))
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.map(\.count), prompts.map { $0.count + 5 })
    }

    func testInvalidRequests() throws {
        let m = try fixture("gpt2-tiny")
        XCTAssertThrowsError(try m.forward([[1, 5000]]))
        XCTAssertThrowsError(try m.forward([[]]))
        XCTAssertThrowsError(try m.forward([[1, 2]], ForwardRequest(targets: [[1]])))
    }

    func assertClose(_ a: [Float], _ b: [Float], _ tol: Float, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) where !(x.isNaN && y.isNaN) {
            XCTAssertEqual(x, y, accuracy: tol, file: file, line: line)
        }
    }
}

final class TrainingAPITests: XCTestCase {
    /// LoRA training moves only the adapters; saved adapters reload to the same outputs.
    func testLoRATrainSaveLoad() throws {
        let dir = try TestPaths.sharedFile("fixtures/hf/llama3-tiny")
        let m = try Transformer.load(directory: dir)
        let base = Array(m.parameters.buffer)
        try m.enableLoRA(LoRAConfig(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "down_proj"]))
        let seqs: [[Int32]] = [[5, 6, 7, 8, 9, 10], [11, 12, 13]]
        let targets = ForwardRequest.nextTokenTargets(seqs)
        let weights = targets.map { $0.map { $0 >= 0 ? Float(1) : 0 } }
        let opt = AdamW(parameterCount: m.trainableParameters.count, learningRate: 1e-2)
        var losses: [Float] = []
        for _ in 0..<5 {
            m.zeroGradients()
            losses.append(try m.accumulateGradients(seqs, targets: targets, weights: weights))
            opt.step(m.trainableParameters, m.trainableGradients)
        }
        XCTAssertLessThan(losses.last!, losses.first!)
        XCTAssertEqual(Array(m.parameters.buffer), base, "base weights must stay frozen")
        let out = try TestPaths.scratchDirectory("lora")
        defer { try? FileManager.default.removeItem(at: out) }
        try m.saveLoRA(directory: out)
        let reloaded = try Transformer.load(directory: dir)
        try reloaded.loadLoRA(directory: out)
        XCTAssertEqual(try reloaded.forward(seqs, ForwardRequest(targets: targets)).targetLogProbs.flatMap { $0 }.filter { !$0.isNaN },
                       try m.forward(seqs, ForwardRequest(targets: targets)).targetLogProbs.flatMap { $0 }.filter { !$0.isNaN })
    }

    /// Repeated steps of one shape reuse the arenas: no reallocation, so memory stays flat.
    func testFullTrainingLossDecreases() throws {
        let m = try Transformer.load(directory: try TestPaths.sharedFile("fixtures/hf/gpt2-tiny"))
        let seqs: [[Int32]] = [[1, 2, 3, 4, 5, 6, 7, 8]]
        let targets = ForwardRequest.nextTokenTargets(seqs)
        let weights = targets.map { $0.map { $0 >= 0 ? Float(1) / 7 : 0 } }
        let opt = AdamW(parameterCount: m.trainableParameters.count)
        var losses: [Float] = []
        for _ in 0..<10 {
            m.zeroGradients()
            losses.append(try m.accumulateGradients(seqs, targets: targets, weights: weights))
            opt.step(m.trainableParameters, m.trainableGradients)
        }
        XCTAssertLessThan(losses.last!, losses.first! - 0.1)
        XCTAssertEqual(opt.stepCount, 10)
    }
}

final class SlidingWindowTests: XCTestCase {
    /// Mistral's window: a query sees itself and the window - 1 keys before it, no more; a
    /// window at least the sequence length changes nothing.
    func testWindowMasksOldKeys() throws {
        var config = GradientCheckTests.tiny("mistral")
        config.slidingWindow = nil
        let full = Transformer(config: config, seed: 4)
        config.slidingWindow = 3
        let windowed = Transformer(config: config, seed: 4)
        config.slidingWindow = 64
        let wide = Transformer(config: config, seed: 4)
        let s: [[Int32]] = [[1, 2, 3, 4, 5, 6, 7, 8, 9]]
        let T = s[0].count
        let maps = try windowed.forward(s, ForwardRequest(attentionMaps: true)).attentionMaps
        for l in 0..<config.layers {
            for h in 0..<config.heads {
                for q in 0..<T {
                    var rowSum: Float = 0
                    for p in 0..<T {
                        let a = maps[l][0][(h * T + q) * T + p]
                        rowSum += a
                        if p > q || q - p >= 3 { XCTAssertEqual(a, 0) } else { XCTAssertGreaterThan(a, 0) }
                    }
                    XCTAssertEqual(rowSum, 1, accuracy: 1e-5)
                }
            }
        }
        let request = ForwardRequest(targets: ForwardRequest.nextTokenTargets(s))
        XCTAssertEqual(try wide.forward(s, request).targetLogProbs[0].dropLast(), try full.forward(s, request).targetLogProbs[0].dropLast())  // last is NaN
        XCTAssertNotEqual(try windowed.forward(s, request).targetLogProbs[0][T - 2], try full.forward(s, request).targetLogProbs[0][T - 2])
        XCTAssertEqual(Transformer.unpad([[1, 2, 0, 0], [3, 4, 5, 6]], lengths: [2, 4]), [[1, 2], [3, 4, 5, 6]])
    }
}
