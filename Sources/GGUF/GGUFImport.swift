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
    public static let supportedArchitectures = GGUFArchitecture.all.map(\.name)

    public static func run(gguf path: String, out: URL, bf16: Bool = false) throws -> Summary {
        let file = try GGUFFile(path: path)
        let name = try file.string("general.architecture")
        guard let architecture = GGUFArchitecture.named(name) else {
            throw GGUFError.unsupportedArchitecture(path: path, architecture: name, supported: supportedArchitectures)
        }
        var metadataConfig = try configObject(file, architecture)
        let tokenizer = try GGUFTokenizer(file: file)
        metadataConfig["eos_token_id"] = try tokenizer.token("tokenizer.ggml.eos_token_id")?.id
        // Read by the same code as any config.json xtf loads (heads divisible by kv heads, ids in
        // range, the architecture's own keys), then written back in full by it.
        let config: ModelConfig
        do { config = try ModelConfig(huggingFaceJSON: try JSONSerialization.data(withJSONObject: metadataConfig)) } catch let error as ModelError {
            throw GGUFError.invalidField(path: file.path, field: "\(name).* metadata", detail: error.description)
        }
        guard tokenizer.tokens.count <= config.vocabSize else {
            throw GGUFError.invalidField(path: path, field: "tokenizer.ggml.tokens",
                                         detail: "\(tokenizer.tokens.count) tokens for an embedding of \(config.vocabSize) rows")
        }

        // Everything that can fail on the file's contents, before anything is written.
        let tensors = try mappedTensors(file, architecture, config)
        let bos = try tokenizer.token("tokenizer.ggml.bos_token_id")?.id
        let pad = try tokenizer.token("tokenizer.ggml.padding_token_id")?.id
        let configJSON = try config.huggingFaceJSON(bf16: bf16, extra: ["bos_token_id": bos ?? NSNull(), "pad_token_id": pad ?? NSNull()])
        let tokenizerJSON = try tokenizer.tokenizerJSON()
        let tokenizerConfig = try tokenizer.tokenizerConfig(contextLength: config.maxPositions)
        var generation: [String: Any] = [:]
        generation["bos_token_id"] = bos
        generation["eos_token_id"] = config.eosTokenId
        generation["pad_token_id"] = pad

        // Streamed tensor by tensor: the import holds one dequantized tensor, not the model.
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        func write(_ name: String, _ object: [String: Any]) throws {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try AtomicFile.write(Array(data), to: out.appendingPathComponent(name).path)
        }
        let weights = try SafetensorsStreamWriter(path: out.appendingPathComponent("model.safetensors").path, metadata: ["format": "pt"],
                                                  tensors: tensors.map { ($0.1, bf16 ? .bf16 : .f32, $0.0.shape) })
        var types: [String: Int] = [:]
        var parameters = 0
        for (info, hfName, heads) in tensors {
            var values = try file.floats(info)
            if let heads { values = unpermuteRotaryRows(values, heads: heads, rowLength: info.dims[0]) }
            if architecture.normWeightShift != 0 && hfName.hasSuffix("norm.weight") {
                for i in values.indices { values[i] -= architecture.normWeightShift }
            }
            if bf16 { try weights.append(hfName, bfloat16: values) } else { try weights.append(hfName, floats: values) }
            types[info.type.name, default: 0] += 1
            parameters += values.count
        }
        try weights.commit()
        try AtomicFile.write(Array(configJSON), to: out.appendingPathComponent("config.json").path)
        try write("tokenizer.json", tokenizerJSON)
        try write("tokenizer_config.json", tokenizerConfig)
        try write("generation_config.json", generation)
        return Summary(architecture: name, config: config, tensorTypes: types, parameters: parameters,
                       files: ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"])
    }

    // MARK: config.json

    /// config.json from `ARCH.*` metadata: the keys every architecture shares, then its own.
    static func configObject(_ file: GGUFFile, _ architecture: GGUFArchitecture) throws -> [String: Any] {
        let p = architecture.name + "."
        let hidden = try file.int(p + "embedding_length"), heads = try file.int(p + "attention.head_count")
        guard heads > 0 else { throw GGUFError.invalidField(path: file.path, field: p + "attention.head_count", detail: "0 heads") }
        let headDim = try file.optionalInt(p + "attention.key_length") ?? hidden / heads
        if let v = try file.optionalInt(p + "attention.value_length"), v != headDim {
            throw GGUFError.unsupported(path: file.path, field: p + "attention.value_length", detail: "value width \(v) != key width \(headDim)")
        }
        if let rotary = try file.optionalInt(p + "rope.dimension_count"), rotary != headDim {
            throw GGUFError.unsupported(path: file.path, field: p + "rope.dimension_count", detail: "partial rotary embedding (\(rotary) of \(headDim))")
        }
        var c: [String: Any] = ["model_type": architecture.modelType]
        switch try file.optionalString(p + "rope.scaling.type") ?? "none" {
        case "none": break
        case "linear":
            guard let factor = try file.optionalDouble(p + "rope.scaling.factor") else {
                throw GGUFError.missingField(path: file.path, field: p + "rope.scaling.factor")
            }
            c["rope_scaling"] = ["rope_type": "linear", "factor": factor]
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
        c["vocab_size"] = vocab
        c["hidden_size"] = hidden
        let layers = try file.int(p + "block_count")
        // Bounded before anything (an architecture's per-layer lists) is sized by it.
        guard (1...1024).contains(layers) else {
            throw GGUFError.invalidField(path: file.path, field: p + "block_count", detail: "\(layers) layers (1...1024 are read)")
        }
        c["num_hidden_layers"] = layers
        c["num_attention_heads"] = heads
        c["num_key_value_heads"] = try file.optionalInt(p + "attention.head_count_kv") ?? heads
        c["head_dim"] = headDim
        c["intermediate_size"] = try file.int(p + "feed_forward_length")
        c["max_position_embeddings"] = try file.int(p + "context_length")
        c["rms_norm_eps"] = Double(Float(eps))
        c["rope_theta"] = try file.optionalDouble(p + "rope.freq_base") ?? 10000
        c["tie_word_embeddings"] = file.tensor("output.weight") == nil
        c.merge(try architecture.extraConfig(file, c)) { $1 }
        if c["rope_parameters"] != nil { c["rope_theta"] = nil; c["rope_scaling"] = nil }
        return c
    }

    // MARK: Tensors

    /// Every tensor of the file with its Hugging Face name and, for rotary-permuted q and k, the
    /// head count whose row order to undo. Each must have the shape the config implies; a tensor
    /// with no Hugging Face name, or one the model needs and the file lacks, is an error.
    static func mappedTensors(_ file: GGUFFile, _ architecture: GGUFArchitecture, _ c: ModelConfig) throws -> [(GGUFTensorInfo, String, Int?)] {
        let shapes = Dictionary(uniqueKeysWithValues: c.parameterLayout.entries.map { ($0.name, $0.shape) })
        let mapped = try file.tensors.map { info -> (GGUFTensorInfo, String, Int?) in
            let hf: String?
            var heads: Int?
            switch info.name {
            case "token_embd.weight": hf = "model.embed_tokens.weight"
            case "output_norm.weight": hf = "model.norm.weight"
            case "output.weight": hf = "lm_head.weight"
            default:
                let parts = info.name.split(separator: ".", maxSplits: 2)
                if parts.count == 3, parts[0] == "blk", let l = Int(parts[1]), String(l) == parts[1], let block = architecture.blockTensors[String(parts[2])] {
                    hf = "model.layers.\(l).\(block)"
                    if architecture.permutesRotaryRows {
                        if parts[2] == "attn_q.weight" { heads = c.heads } else if parts[2] == "attn_k.weight" { heads = c.kvHeads }
                    }
                } else {
                    hf = nil
                }
            }
            guard let hf, let shape = shapes[hf] else {
                throw GGUFError.unsupported(path: file.path, field: "tensor \(info.name)", detail: "tensor: no Hugging Face name in a \(architecture.name) model")
            }
            guard info.shape == shape else {
                throw GGUFError.invalidField(path: file.path, field: "tensor \(info.name)", detail: "shape \(info.shape), the metadata implies \(shape)")
            }
            // Before anything is written: a type found only while streaming would leave a half import.
            guard GGMLType.dequantizable.contains(info.type) else {
                throw GGUFError.unsupportedTensorType(path: file.path, tensor: info.name, type: info.type.name)
            }
            return (info, hf, heads)
        }
        let present = Set(mapped.map(\.1))
        if let missing = c.parameterLayout.entries.first(where: { !present.contains($0.name) }) {
            let gguf = ggufName(of: missing.name, architecture) ?? missing.name
            throw GGUFError.missingTensor(path: file.path, tensor: gguf)
        }
        return mapped
    }

    /// The GGUF name of a Hugging Face tensor, for error messages.
    static func ggufName(of hf: String, _ architecture: GGUFArchitecture) -> String? {
        let globals = ["model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"]
        if let g = globals[hf] { return g }
        let parts = hf.split(separator: ".", maxSplits: 3)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers" else { return nil }
        return architecture.blockTensors.first { $0.value == String(parts[3]) }.map { "blk.\(parts[2]).\($0.key)" }
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
