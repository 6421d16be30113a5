import Foundation
import Model
import XCTest

/// Attention over long sequences streamed in blocks of queries, each against only the keys it
/// can see and without a stored map (`attentionQueryBlock`), gives what the whole products
/// give: log-probs, states, RI, gradients and greedy generations, up to the summation order of
/// the shorter products; and keeps no [heads, T, T] maps for the backward.
final class CausalBlockTests: XCTestCase {
    /// With blocks of 3: 13 queries (five blocks, the last of one query), 7 (a last block of
    /// one) and 6 (two whole blocks) are streamed; 3, one block, keeps its maps and the whole
    /// products in the same batch.
    static let sequences: [[Int32]] = [[1, 5, 9, 2, 7, 3, 30, 11, 4, 6, 13, 8, 21], [4, 8, 15, 16, 23, 17, 2], [12, 3, 7, 19, 2, 2],
                                       [9, 14, 5]]

    struct Outputs {
        var logProbs: [[Float]], hidden: [[Float]], received: [[Float]], uniformReceived: [[Float]], gradients: [Float], loss: Float
        var generated: [[Int32]]
    }

    func outputs(_ kind: String, block: Int) throws -> Outputs {
        let m = GradientCheckTests.model(kind, seed: 11)
        m.attentionQueryBlock = block
        // Other shapes first, so the arenas hold nonzero values: a block row read before it is
        // written would show.
        _ = try m.forward([[2, 9, 4, 1, 3, 8, 5, 7, 6, 10, 12, 14, 11, 13], [3, 3, 5]], ForwardRequest(attentionMaps: true))
        _ = try m.accumulateGradients([[2, 9, 4, 1, 3, 8, 5, 7, 6, 10, 12, 14, 11, 13]], targets: [[9, 4, 1, 3, 8, 5, 7, 6, 10, 12, 14, 11, 13, -1]],
                                      weights: [[Float](repeating: 1, count: 14)])
        m.zeroGradients()
        let targets = ForwardRequest.nextTokenTargets(Self.sequences)
        let r = try m.forward(Self.sequences, ForwardRequest(targets: targets, finalHidden: true,
                                                             attentionReceived: AttentionReceivedRequest(layers: .all)))
        let uniform = try m.forward(Self.sequences, ForwardRequest(attentionReceived: AttentionReceivedRequest(layers: .last, uniformRelative: true)))
        let weights = Self.sequences.map { s in s.indices.map { Float($0 % 3) } }
        let loss = try m.accumulateGradients(Self.sequences, targets: targets, weights: weights)
        // The prompt's forward fills the cache in blocks; each new token is one query.
        let generated = try m.generate(prompts: [Self.sequences[0], Self.sequences[1]], maxNewTokens: 3)
        return Outputs(logProbs: r.targetLogProbs, hidden: r.finalHidden, received: r.attentionReceived,
                       uniformReceived: uniform.attentionReceived, gradients: Array(m.gradients!.buffer), loss: loss, generated: generated)
    }

    func assertClose(_ a: [Float], _ b: [Float], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, label, file: file, line: line)
        for (i, (x, y)) in zip(a, b).enumerated() where !(x.isNaN && y.isNaN) {
            guard abs(x - y) <= 2e-5 * max(1, abs(y)) else {
                XCTFail("\(label)[\(i)]: \(x) streamed, \(y) whole", file: file, line: line)
                return
            }
        }
    }

    /// GQA groups (llama), one head per group (gpt2), a sliding window (mistral), soft-capped
    /// scores (gemma2).
    func testStreamedBlocksMatchWholeProducts() throws {
        for kind in ["llama", "gpt2", "mistral", "gemma2"] {
            let streamed = try outputs(kind, block: 3), whole = try outputs(kind, block: 256)
            for b in Self.sequences.indices {
                assertClose(streamed.logProbs[b], whole.logProbs[b], "\(kind) log-probs")
                assertClose(streamed.hidden[b], whole.hidden[b], "\(kind) final hidden")
                assertClose(streamed.received[b], whole.received[b], "\(kind) attention received")
                assertClose(streamed.uniformReceived[b], whole.uniformReceived[b], "\(kind) attention received, uniform-relative")
            }
            assertClose(streamed.gradients, whole.gradients, "\(kind) gradients")
            XCTAssertEqual(streamed.loss, whole.loss, accuracy: 1e-5 * max(1, abs(whole.loss)), kind)
            XCTAssertEqual(streamed.generated, whole.generated, kind)
        }
    }

    /// A training step over one long sequence keeps each layer's activations but no maps: the
    /// arenas grow with T when streamed and with heads x T^2 per layer when not.
    func testStreamedTrainingKeepsNoMaps() throws {
        let T = 60, sequence = (0..<T).map { Int32(1 + $0 % 29) }
        func arenaBytes(block: Int) throws -> Int {
            let m = GradientCheckTests.model("llama", seed: 3)
            m.attentionQueryBlock = block
            _ = try m.accumulateGradients([sequence], targets: ForwardRequest.nextTokenTargets([sequence]),
                                          weights: [[Float](repeating: 1, count: T)])
            return m.workingMemoryBytes
        }
        let config = GradientCheckTests.model("llama", seed: 3).config
        let maps = config.layers * config.heads * T * T * MemoryLayout<Float>.stride
        let whole = try arenaBytes(block: T), streamed = try arenaBytes(block: 8)
        // Whole: every layer's maps plus a group's map gradient; streamed: three blocks of rows.
        XCTAssertGreaterThanOrEqual(whole - streamed, maps, "streamed \(streamed) bytes, whole \(whole) bytes")
    }
}
