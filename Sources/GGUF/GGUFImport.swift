import Artifacts
import Foundation
import Model

/// A GGUF file to a Hugging Face checkpoint directory xtf (and transformers) loads:
/// config.json, model.safetensors (fp32 or bf16), tokenizer.json, tokenizer_config.json and
/// generation_config.json. Weights are dequantized to Float, so the checkpoint computes what
/// the quantized model computes (up to bf16 rounding when asked for bf16).
public enum GGUFImport {
    public struct Summary: Sendable {
        public let architecture: String
        public let config: ModelConfig
        /// Tensors per ggml type name.
        public let tensorTypes: [String: Int]
        public let parameters: Int
        public let files: [String]
    }

    /// general.architecture values this importer maps to a registered architecture.
    public static let supportedArchitectures = ["llama"]

    public static func run(gguf path: String, out: URL, bf16: Bool = false) throws -> Summary {
        let file = try GGUFFile(path: path)
        let architecture = try file.string("general.architecture")
        guard supportedArchitectures.contains(architecture) else {
            throw GGUFError.unsupportedArchitecture(path: path, architecture: architecture, supported: supportedArchitectures)
        }
        let config = try llamaConfig(file)
        let tokenizer = try GGUFTokenizer(file: file)
        guard tokenizer.tokens.count <= config.vocabSize else {
            throw GGUFError.invalidField(path: path, field: "tokenizer.ggml.tokens",
                                         detail: "\(tokenizer.tokens.count) tokens for an embedding of \(config.vocabSize) rows")
        }

        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        var types: [String: Int] = [:]
        var parameters = 0
        for (info, name, heads) in try llamaTensors(file, config) {
            var values = try file.floats(info)
            if let heads { values = unpermuteRotaryRows(values, heads: heads, rowLength: info.dims[0]) }
            if bf16 { writer.addBF16(name, shape: info.shape, floats: values) } else { writer.add(name, shape: info.shape, floats: values) }
            types[info.type.name, default: 0] += 1
            parameters += values.count
        }

        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        func write(_ name: String, _ object: [String: Any]) throws {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try AtomicFile.write(Array(data), to: out.appendingPathComponent(name).path)
        }
        try writer.write(to: out.appendingPathComponent("model.safetensors").path)
        let bos = try tokenizer.token("tokenizer.ggml.bos_token_id")?.id
        let pad = try tokenizer.token("tokenizer.ggml.padding_token_id")?.id
        var configJSON = try JSONSerialization.jsonObject(with: try config.huggingFaceJSON(bf16: bf16)) as! [String: Any]
        configJSON["bos_token_id"] = bos
        try write("config.json", configJSON)
        try write("tokenizer.json", try tokenizer.tokenizerJSON())
        try write("tokenizer_config.json", try tokenizer.tokenizerConfig(contextLength: config.maxPositions))
        var generation: [String: Any] = [:]
        generation["bos_token_id"] = bos
        generation["eos_token_id"] = config.eosTokenId
        generation["pad_token_id"] = pad
        try write("generation_config.json", generation)
        return Summary(architecture: architecture, config: config, tensorTypes: types, parameters: parameters,
                       files: ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"])
    }

    // MARK: Llama

    /// config.json's values from `llama.*` metadata; checked by parsing the config.json they make.
    static func llamaConfig(_ file: GGUFFile) throws -> ModelConfig {
        let p = "llama."
        let hidden = try file.int(p + "embedding_length"), heads = try file.int(p + "attention.head_count")
        guard heads > 0 else { throw GGUFError.invalidField(path: file.path, field: p + "attention.head_count", detail: "0 heads") }
        let headDim = try file.optionalInt(p + "attention.key_length") ?? hidden / heads
        if let v = try file.optionalInt(p + "attention.value_length"), v != headDim {
            throw GGUFError.unsupported(path: file.path, field: p + "attention.value_length", detail: "value width \(v) != key width \(headDim)")
        }
        if let rotary = try file.optionalInt(p + "rope.dimension_count"), rotary != headDim {
            throw GGUFError.unsupported(path: file.path, field: p + "rope.dimension_count", detail: "partial rotary embedding (\(rotary) of \(headDim))")
        }
        var scaling = RopeScaling.none
        switch try file.optionalString(p + "rope.scaling.type") ?? "none" {
        case "none": break
        case "linear":
            guard let factor = try file.optionalDouble(p + "rope.scaling.factor") else {
                throw GGUFError.missingField(path: file.path, field: p + "rope.scaling.factor")
            }
            scaling = .linear(factor: factor)
        case let other: throw GGUFError.unsupported(path: file.path, field: p + "rope.scaling.type", detail: "rope scaling \"\(other)\" (supported: none, linear)")
        }
        if file.tensor("rope_freqs.weight") != nil {
            throw GGUFError.unsupported(path: file.path, field: "tensor rope_freqs.weight", detail: "per-frequency rope factors (Llama 3.1 rope scaling)")
        }
        guard let embedding = file.tensor("token_embd.weight") else { throw GGUFError.missingTensor(path: file.path, tensor: "token_embd.weight") }
        let vocab = embedding.shape[0]
        if let declared = try file.optionalInt(p + "vocab_size"), declared != vocab {
            throw GGUFError.invalidField(path: file.path, field: p + "vocab_size", detail: "\(declared), token_embd.weight has \(vocab) rows")
        }
        guard let eps = try file.optionalDouble(p + "attention.layer_norm_rms_epsilon") else {
            throw GGUFError.missingField(path: file.path, field: p + "attention.layer_norm_rms_epsilon")
        }
        let config = ModelConfig(
            architecture: .llama, vocabSize: vocab, hiddenSize: hidden, layers: try file.int(p + "block_count"), heads: heads,
            kvHeads: try file.optionalInt(p + "attention.head_count_kv") ?? heads, headDim: headDim,
            intermediateSize: try file.int(p + "feed_forward_length"), maxPositions: try file.int(p + "context_length"),
            normEps: Float(eps), ropeTheta: try file.optionalDouble(p + "rope.freq_base") ?? 10000, ropeScaling: scaling,
            tiedEmbeddings: file.tensor("output.weight") == nil, eosTokenId: try file.optionalInt("tokenizer.ggml.eos_token_id"))
        // The same checks as any config.json xtf loads (heads divisible by kv heads, ids in range).
        do { _ = try ModelConfig(huggingFaceJSON: try config.huggingFaceJSON()) } catch let error as ModelError {
            throw GGUFError.invalidField(path: file.path, field: "llama.* metadata", detail: error.description)
        }
        return config
    }

    /// Every tensor of the file with its Hugging Face name and, for q and k, the head count
    /// whose rotary row order to undo. Each must have the shape the config implies; a tensor
    /// with no Hugging Face name, or one missing, is an error.
    static func llamaTensors(_ file: GGUFFile, _ c: ModelConfig) throws -> [(GGUFTensorInfo, String, Int?)] {
        var expected: [String: (name: String, shape: [Int], heads: Int?)] = [
            "token_embd.weight": ("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize], nil),
            "output_norm.weight": ("model.norm.weight", [c.hiddenSize], nil),
        ]
        if !c.tiedEmbeddings { expected["output.weight"] = ("lm_head.weight", [c.vocabSize, c.hiddenSize], nil) }
        for l in 0..<c.layers {
            let hf = "model.layers.\(l)."
            let block: [String: (String, [Int], Int?)] = [
                "attn_norm": ("input_layernorm", [c.hiddenSize], nil),
                "attn_q": ("self_attn.q_proj", [c.qDim, c.hiddenSize], c.heads),
                "attn_k": ("self_attn.k_proj", [c.kvDim, c.hiddenSize], c.kvHeads),
                "attn_v": ("self_attn.v_proj", [c.kvDim, c.hiddenSize], nil),
                "attn_output": ("self_attn.o_proj", [c.hiddenSize, c.qDim], nil),
                "ffn_norm": ("post_attention_layernorm", [c.hiddenSize], nil),
                "ffn_gate": ("mlp.gate_proj", [c.intermediateSize, c.hiddenSize], nil),
                "ffn_up": ("mlp.up_proj", [c.intermediateSize, c.hiddenSize], nil),
                "ffn_down": ("mlp.down_proj", [c.hiddenSize, c.intermediateSize], nil),
            ]
            for (gguf, (name, shape, heads)) in block { expected["blk.\(l).\(gguf).weight"] = (hf + name + ".weight", shape, heads) }
        }
        let mapped = try file.tensors.map { info -> (GGUFTensorInfo, String, Int?) in
            guard let e = expected[info.name] else {
                throw GGUFError.unsupported(path: file.path, field: "tensor \(info.name)", detail: "tensor: no Hugging Face name in a llama model")
            }
            guard info.shape == e.shape else {
                throw GGUFError.invalidField(path: file.path, field: "tensor \(info.name)", detail: "shape \(info.shape), the metadata implies \(e.shape)")
            }
            return (info, e.name, e.heads)
        }
        if let missing = expected.keys.sorted().first(where: { file.tensor($0) == nil }) {
            throw GGUFError.missingTensor(path: file.path, tensor: missing)
        }
        return mapped
    }

    /// convert_hf_to_gguf reorders the rows of each head of llama's q_proj and k_proj from
    /// Hugging Face's rotate-half layout (first half, second half) to interleaved pairs, the
    /// layout llama.cpp's rope expects: GGUF row 2i + j of a head is HF row j * D/2 + i. This
    /// puts them back.
    static func unpermuteRotaryRows(_ values: [Float], heads: Int, rowLength: Int) -> [Float] {
        let rows = values.count / rowLength, headDim = rows / heads, half = headDim / 2
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for h in 0..<heads {
                    for i in 0..<half {
                        for j in 0..<2 {
                            let from = (h * headDim + 2 * i + j) * rowLength, to = (h * headDim + j * half + i) * rowLength
                            for k in 0..<rowLength { dst[to + k] = src[from + k] }
                        }
                    }
                }
            }
        }
        return out
    }
}
