import Foundation
import Model
import XCTest

/// Attention over long sequences in blocks of queries, each against only the keys it can see
/// (`attentionQueryBlock`), gives what the whole products give: the same maps (the skipped
/// upper triangle is zero in both), log-probs, states, RI, gradients and greedy generations,
/// up to the summation order of the shorter products.
final class CausalBlockTests: XCTestCase {
    /// With blocks of 3: 13 queries (five blocks, the last of one query) and 7 (a last block of
    /// one) are blocked; 6, two whole blocks, keeps the whole products.
    static let sequences: [[Int32]] = [[1, 5, 9, 2, 7, 3, 30, 11, 4, 6, 13, 8, 21], [4, 8, 15, 16, 23, 17, 2], [12, 3, 7, 19, 2, 2]]

    struct Outputs {
        var logProbs: [[Float]], hidden: [[Float]], received: [[Float]], maps: [[[Float]]], gradients: [Float], loss: Float
        var generated: [[Int32]]
    }

    func outputs(_ kind: String, block: Int) throws -> Outputs {
        let m = GradientCheckTests.model(kind, seed: 11)
        m.attentionQueryBlock = block
        // Other shapes first, so the arena holds nonzero values where these maps' upper
        // triangles go: a blocked row left unzeroed would show.
        _ = try m.forward([[2, 9, 4, 1, 3, 8, 5, 7, 6, 10, 12, 14, 11, 13], [3, 3, 5]], ForwardRequest(attentionMaps: true))
        let targets = ForwardRequest.nextTokenTargets(Self.sequences)
        let r = try m.forward(Self.sequences, ForwardRequest(targets: targets, finalHidden: true,
                                                             attentionReceived: AttentionReceivedRequest(layers: .all), attentionMaps: true))
        let weights = Self.sequences.map { s in s.indices.map { Float($0 % 3) } }
        let loss = try m.accumulateGradients(Self.sequences, targets: targets, weights: weights)
        // The prompt's forward fills the cache in blocks; each new token is one query.
        let generated = try m.generate(prompts: [Self.sequences[0], Self.sequences[1]], maxNewTokens: 3)
        return Outputs(logProbs: r.targetLogProbs, hidden: r.finalHidden, received: r.attentionReceived, maps: r.attentionMaps,
                       gradients: Array(m.gradients!.buffer), loss: loss, generated: generated)
    }

    func assertClose(_ a: [Float], _ b: [Float], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, label, file: file, line: line)
        for (i, (x, y)) in zip(a, b).enumerated() where !(x.isNaN && y.isNaN) {
            guard abs(x - y) <= 2e-5 * max(1, abs(y)) else {
                XCTFail("\(label)[\(i)]: \(x) blocked, \(y) whole", file: file, line: line)
                return
            }
        }
    }

    /// GQA groups (llama), one head per group (gpt2), a sliding window (mistral), soft-capped
    /// scores (gemma2).
    func testBlocksMatchWholeProducts() throws {
        for kind in ["llama", "gpt2", "mistral", "gemma2"] {
            let blocked = try outputs(kind, block: 3), whole = try outputs(kind, block: 256)
            for b in Self.sequences.indices {
                assertClose(blocked.logProbs[b], whole.logProbs[b], "\(kind) log-probs")
                assertClose(blocked.hidden[b], whole.hidden[b], "\(kind) final hidden")
                assertClose(blocked.received[b], whole.received[b], "\(kind) attention received")
            }
            for (l, layer) in blocked.maps.enumerated() {
                for b in layer.indices {
                    assertClose(layer[b], whole.maps[l][b], "\(kind) layer \(l) map \(b)")
                    // The upper triangle is exactly zero, as the whole product's softmax leaves it.
                    let T = Self.sequences[b].count
                    for h in 0..<(layer[b].count / (T * T)) {
                        for q in 0..<T { for p in (q + 1)..<T { XCTAssertEqual(layer[b][(h * T + q) * T + p], 0) } }
                    }
                }
            }
            assertClose(blocked.gradients, whole.gradients, "\(kind) gradients")
            XCTAssertEqual(blocked.loss, whole.loss, accuracy: 1e-5 * max(1, abs(whole.loss)), kind)
            XCTAssertEqual(blocked.generated, whole.generated, kind)
        }
    }
}
