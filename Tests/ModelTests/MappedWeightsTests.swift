import Artifacts
import Foundation
import Model
import TestSupport
import XCTest

/// Weights left in the mapped checkpoint (BF16 or F32 as stored) and widened a layer at a time
/// compute what the same values read into fp32 compute: every architecture's fixture, fp32
/// and bf16, forward (log-probs, attention received, final states), greedy generation and LoRA gradients, with
/// the LM head widened in several uneven blocks.
final class MappedWeightsTests: XCTestCase {
    static let fixtures = ["gpt2-tiny", "llama3-tiny", "mistral-tiny", "qwen2-tiny", "qwen3-tiny", "olmo2-tiny", "smollm3-tiny",
                           "phi3-tiny", "gemma2-tiny", "gemma3-text-tiny"]

    func assertClose(_ a: [Float], _ b: [Float], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, label, file: file, line: line)
        let scale = max(1e-6, a.map { $0.isNaN ? 0 : abs($0) }.max() ?? 0)
        for (x, y) in zip(a, b) where !(x.isNaN && y.isNaN) {
            XCTAssertLessThanOrEqual(abs(x - y), 1e-5 * scale, "\(label): \(x) vs \(y)", file: file, line: line)
            if abs(x - y) > 1e-5 * scale { return }
        }
    }

    func testMappedWeightsComputeWhatFP32WeightsCompute() throws {
        var checked = 0, releasedTables = 0
        for name in Self.fixtures {
            for variant in [name, name + "/bf16"] {
                guard let dir = try? TestPaths.hfFixture(variant), FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) else { continue }
                let fp32 = try Transformer.load(directory: dir), mapped = try Transformer.load(directory: dir, weights: .mapped)
                XCTAssertEqual(fp32.weightStorage, .fp32)
                XCTAssertEqual(mapped.weightStorage, .mapped)
                // Several blocks, the last one short; blocks of 7 rows fit in a page, of 300
                // rows free whole pages (and so must be widened again on the next pass).
                mapped.mappedHeadBlockRows = name.hasPrefix("gpt2") || name.hasPrefix("llama") ? 7 : 300
                // Scoring's head widens whole tiles: tiles of 7 (one per block) and 100 (three).
                for m in [fp32, mapped] { m.headTileColumns = mapped.mappedHeadBlockRows == 7 ? 7 : 100 }
                let V = fp32.config.vocabSize
                let sequences: [[Int32]] = [(0..<9).map { Int32(($0 * 13 + 5) % V) }, (0..<5).map { Int32(($0 * 7 + 2) % V) }]
                let request = ForwardRequest(targets: ForwardRequest.nextTokenTargets(sequences), finalHidden: true,
                                             attentionReceived: AttentionReceivedRequest(layers: .all))
                // Twice: a second forward finds the released layers as zeros and widens them again.
                for pass in 1...2 {
                    let a = try fp32.forward(sequences, request), b = try mapped.forward(sequences, request)
                    for i in sequences.indices {
                        assertClose(a.targetLogProbs[i], b.targetLogProbs[i], "\(variant) pass \(pass) log-probs")
                        assertClose(a.attentionReceived[i], b.attentionReceived[i], "\(variant) pass \(pass) RI")
                        assertClose(a.finalHidden[i], b.finalHidden[i], "\(variant) pass \(pass) final states")
                    }
                }
                // Generation (xtf eval): the KV-cached steps widen every layer per token; greedy
                // picks the same tokens.
                XCTAssertEqual(try mapped.generate(prompts: sequences, maxNewTokens: 5), try fp32.generate(prompts: sequences, maxNewTokens: 5),
                               "\(variant) greedy generation")
                // The embedding table went back after the gather (and a tied head's blocks of 300
                // rows after the head): its whole pages read as zeros.
                let table = mapped.parameters.view(mapped.parameterNames.first { $0.hasSuffix("embed_tokens.weight") || $0.hasSuffix("wte.weight") }!)!
                let page = 4096 / MemoryLayout<Float>.stride
                if mapped.mappedHeadBlockRows == 300, table.count > 3 * page {
                    XCTAssertTrue(table[page..<(2 * page)].allSatisfy { $0 == 0 }, "\(variant): embedding released")
                    releasedTables += 1
                }
                // LoRA on the frozen base: the same adapter gradients.
                let lora = LoRAConfig(rank: 2, alpha: 4, targetModules: fp32.config.architecture == .gpt2 ? ["c_attn", "c_proj"] : ["o_proj", "down_proj"])
                try fp32.enableLoRA(lora, seed: 5)
                try mapped.enableLoRA(lora, seed: 5)
                let weights = sequences.map { $0.map { _ in Float(0.05) } }
                for model in [fp32, mapped] {
                    model.zeroGradients()
                    _ = try model.accumulateGradients(sequences, targets: ForwardRequest.nextTokenTargets(sequences), weights: weights)
                }
                assertClose(Array(fp32.trainableGradients.buffer), Array(mapped.trainableGradients.buffer), "\(variant) LoRA gradients")
                XCTAssertThrowsError(try mapped.save(directory: try TestPaths.scratchDirectory("mapped-save")), "no fp32 copy to save")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 20, "every fixture, fp32 and bf16")
        XCTAssertGreaterThan(releasedTables, 4, "embedding tables large enough to free pages")
    }

    /// The reserved buffer asks for transparent huge pages (a widening then faults once per
    /// 2 MiB, not per 4 KiB: docs/BENCHMARKS.md): its mapping carries the kernel's "hg" flag
    /// (VM_HUGEPAGE, set by the request whatever the THP mode).
    func testReservedBufferAsksForHugePages() throws {
        guard FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled") else {
            let message = "*** SKIP huge pages: this kernel has no transparent huge pages ***"
            print(message)
            throw XCTSkip(message)
        }
        let config = try ModelConfig(huggingFaceJSON: Data(#"{"model_type": "llama", "vocab_size": 300, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 64}"#.utf8))
        let dir = try TestPaths.scratchDirectory("huge-pages")
        try Transformer.writeRandomCheckpoint(config: config, seed: 3, directory: dir, bf16: true)
        let mapped = try Transformer.load(directory: dir, weights: .mapped)
        defer { withExtendedLifetime(mapped) {} }  // the mapping lives as long as the model
        let address = UInt(bitPattern: mapped.parameters.base)
        // /proc/self/smaps: a mapping's "start-end ..." line, then its "Field: ..." lines.
        // (Read to the end: String(contentsOfFile:) stops at the first page of a /proc file.)
        let text = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps")).readToEnd() ?? Data()
        let smaps = String(decoding: text, as: UTF8.self).split(separator: "\n")
        guard let header = smaps.firstIndex(where: { line in
            let range = line.split(separator: " ").first?.split(separator: "-").compactMap { UInt($0, radix: 16) } ?? []
            return range.count == 2 && range[0] <= address && address < range[1]
        }) else { return XCTFail("no mapping holds the parameter buffer") }
        let fields = smaps[(header + 1)...].prefix { $0.split(separator: " ").first?.hasSuffix(":") ?? false }
        let flags = fields.first { $0.hasPrefix("VmFlags:") }?.split(separator: " ").dropFirst() ?? []
        XCTAssertTrue(flags.contains("hg"), "VmFlags of the reserved buffer: \(flags.joined(separator: " "))")
    }

    /// `xtf model init` writes a tensor at a time what building the model and saving it writes.
    func testStreamedRandomCheckpointIsTheSavedModel() throws {
        let config = try ModelConfig(huggingFaceJSON: Data(#"{"model_type": "llama", "vocab_size": 300, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 64}"#.utf8))
        for bf16 in [false, true] {
            let saved = try TestPaths.scratchDirectory("init-saved"), streamed = try TestPaths.scratchDirectory("init-streamed")
            try Transformer(config: config, seed: 11).save(directory: saved, bf16: bf16)
            try Transformer.writeRandomCheckpoint(config: config, seed: 11, directory: streamed, bf16: bf16)
            for file in ["model.safetensors", "config.json"] {
                XCTAssertEqual(try Data(contentsOf: streamed.appendingPathComponent(file)), try Data(contentsOf: saved.appendingPathComponent(file)), "\(file) bf16 \(bf16)")
            }
        }
    }
}
