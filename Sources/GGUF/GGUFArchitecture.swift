import Foundation

/// What llama.cpp's converter (convert_hf_to_gguf.py) did to one Hugging Face architecture, so
/// the import can undo it: the `general.architecture` name, the Hugging Face model_type, the
/// tensor names of a block, whether q/k rows were put in interleaved rotary order, Gemma's
/// "+ 1" on norm weights, and the config.json keys its metadata (and llama.cpp's fixed
/// conventions, where the metadata is silent) give.
struct GGUFArchitecture: Sendable {
    /// general.architecture.
    let name: String
    /// config.json's model_type.
    let modelType: String
    /// GGUF block tensor (after "blk.N.") to the Hugging Face one (after "model.layers.N.").
    let blockTensors: [String: String]
    /// convert_hf_to_gguf's LlamaModel permutes q_proj and k_proj rows for llama.cpp's rope.
    let permutesRotaryRows: Bool
    /// The converter stored Gemma's (1 + w) norm weights as 1 + w; the import subtracts it.
    let normWeightShift: Float
    /// config.json keys beyond the common ones.
    let extraConfig: @Sendable (GGUFFile, _ common: [String: Any]) throws -> [String: Any]

    static let all: [GGUFArchitecture] = [llama, qwen2, qwen3, olmo2, smollm3, phi3, gemma2, gemma3]
    static func named(_ name: String) -> GGUFArchitecture? { all.first { $0.name == name } }

    private static let attention = [
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj",
    ]
    private static let mlp = ["ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"]
    private static let preNorms = ["attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"]
    private static let qkNorms = ["attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm"]

    /// `.weight` (and `.bias` where `biased`) for each module.
    private static func tensors(_ modules: [String: String]..., biased: Set<String> = []) -> [String: String] {
        var out: [String: String] = [:]
        for map in modules {
            for (gguf, hf) in map {
                out[gguf + ".weight"] = hf + ".weight"
                if biased.contains(gguf) { out[gguf + ".bias"] = hf + ".bias" }
            }
        }
        return out
    }

    static let llama = GGUFArchitecture(
        name: "llama", modelType: "llama", blockTensors: tensors(preNorms, attention, mlp),
        permutesRotaryRows: true, normWeightShift: 0, extraConfig: { _, _ in ["attention_bias": false, "mlp_bias": false] })

    static let qwen2 = GGUFArchitecture(
        name: "qwen2", modelType: "qwen2", blockTensors: tensors(preNorms, attention, mlp, biased: ["attn_q", "attn_k", "attn_v"]),
        permutesRotaryRows: false, normWeightShift: 0, extraConfig: { file, _ in
            try refuseSlidingWindow(file, "qwen2")
            return ["use_sliding_window": false]
        })

    static let qwen3 = GGUFArchitecture(
        name: "qwen3", modelType: "qwen3", blockTensors: tensors(preNorms, attention, mlp, qkNorms),
        permutesRotaryRows: false, normWeightShift: 0, extraConfig: { file, _ in
            try refuseSlidingWindow(file, "qwen3")
            return ["use_sliding_window": false, "attention_bias": false]
        })

    static let olmo2 = GGUFArchitecture(
        name: "olmo2", modelType: "olmo2",
        blockTensors: tensors(attention, mlp, qkNorms, ["post_attention_norm": "post_attention_layernorm",
                                                        "post_ffw_norm": "post_feedforward_layernorm"]),
        permutesRotaryRows: false, normWeightShift: 0, extraConfig: { file, _ in
            try refuseSlidingWindow(file, "olmo2")  // OLMo 3's sliding layers
            return ["attention_bias": false]
        })

    /// SmolLM3's GGUF carries no no_rope_layers: llama.cpp leaves RoPE out of every 4th layer
    /// (n_no_rope_layer_step), which is SmolLM3's own no_rope_layer_interval.
    static let smollm3 = GGUFArchitecture(
        name: "smollm3", modelType: "smollm3", blockTensors: tensors(preNorms, attention, mlp),
        permutesRotaryRows: true, normWeightShift: 0, extraConfig: { _, _ in
            ["no_rope_layer_interval": 4, "use_sliding_window": false, "attention_bias": false, "mlp_bias": false]
        })

    /// Phi-3: fused qkv_proj and gate_up_proj. The metadata's sliding window is the Hugging
    /// Face model's, applied to every layer as transformers does (llama.cpp switches it off).
    /// longrope's per-frequency factors (rope_factors_long/short) have no Hugging Face name and
    /// are refused with the tensor's name.
    static let phi3 = GGUFArchitecture(
        name: "phi3", modelType: "phi3",
        blockTensors: tensors(preNorms, ["attn_qkv": "self_attn.qkv_proj", "attn_output": "self_attn.o_proj",
                                         "ffn_up": "mlp.gate_up_proj", "ffn_down": "mlp.down_proj"]),
        permutesRotaryRows: false, normWeightShift: 0, extraConfig: { file, common in
            var c: [String: Any] = ["sliding_window": try file.optionalInt("phi3.attention.sliding_window") ?? NSNull()]
            c["original_max_position_embeddings"] = try file.optionalInt("phi3.rope.scaling.original_context_length") ?? common["max_position_embeddings"]!
            return c
        })

    private static let gemmaNorms = [
        "attn_norm": "input_layernorm", "post_attention_norm": "post_attention_layernorm",
        "ffn_norm": "pre_feedforward_layernorm", "post_ffw_norm": "post_feedforward_layernorm",
    ]

    /// Gemma 2: as llama.cpp reads it, even layers slide (attention.sliding_window_pattern,
    /// default 2; window 4096 when absent), queries are scaled by 1/sqrt(head_dim) or
    /// 1/sqrt(hidden/heads) for the 46-layer (27B) model, soft-caps from the metadata.
    static let gemma2 = GGUFArchitecture(
        name: "gemma2", modelType: "gemma2", blockTensors: tensors(attention, mlp, gemmaNorms),
        permutesRotaryRows: false, normWeightShift: 1, extraConfig: { file, common in
            var c = try gemmaConfig(file, common, prefix: "gemma2.", defaultWindow: 4096, defaultPattern: 2, bigModelLayers: 46)
            c["attn_logit_softcapping"] = try file.optionalDouble("gemma2.attn_logit_softcapping") ?? NSNull()
            return c
        })

    /// Gemma 3 (text): the sliding-layer pattern defaults to 6 (five sliding layers, then a
    /// full one), sliding only when attention.sliding_window is set; the sliding layers' RoPE
    /// base is rope.freq_base_swa (10000, unscaled); the 62-layer (27B) model scales queries by
    /// 1/sqrt(hidden/heads).
    static let gemma3 = GGUFArchitecture(
        name: "gemma3", modelType: "gemma3_text", blockTensors: tensors(attention, mlp, qkNorms, gemmaNorms),
        permutesRotaryRows: false, normWeightShift: 1, extraConfig: { file, common in
            var c = try gemmaConfig(file, common, prefix: "gemma3.", defaultWindow: nil, defaultPattern: 6, bigModelLayers: 62)
            c["attn_logit_softcapping"] = NSNull()
            var full = ["rope_type": "default", "rope_theta": common["rope_theta"]!]
            if let scaling = common["rope_scaling"] as? [String: Any] { full.merge(scaling) { $1 } }
            c["rope_parameters"] = ["full_attention": full,
                                    "sliding_attention": ["rope_type": "default", "rope_theta": try file.optionalDouble("gemma3.rope.freq_base_swa") ?? 10000]]
            return c
        })

    /// The keys Gemma 2 and 3 share, with llama.cpp's conventions where the metadata is silent.
    private static func gemmaConfig(_ file: GGUFFile, _ common: [String: Any], prefix p: String, defaultWindow: Int?,
                                    defaultPattern: Int, bigModelLayers: Int) throws -> [String: Any] {
        let layers = common["num_hidden_layers"] as! Int, hidden = common["hidden_size"] as! Int, heads = common["num_attention_heads"] as! Int
        var c: [String: Any] = ["hidden_activation": "gelu_pytorch_tanh", "attention_bias": false,
                                "query_pre_attn_scalar": layers == bigModelLayers ? hidden / heads : common["head_dim"] as! Int,
                                "final_logit_softcapping": try file.optionalDouble(p + "final_logit_softcapping") ?? NSNull()]
        let window = try file.optionalInt(p + "attention.sliding_window") ?? defaultWindow ?? 0
        var sliding = [Bool](repeating: false, count: layers)
        if window > 0 {
            c["sliding_window"] = window
            let key = p + "attention.sliding_window_pattern"
            if file.value(key)?.array != nil {
                let flags = try file.optionalBools(key)!
                guard flags.count == layers else {
                    throw GGUFError.invalidField(path: file.path, field: key, detail: "\(flags.count) flags for \(layers) layers")
                }
                sliding = flags
            } else {
                let n = try file.optionalInt(key) ?? defaultPattern
                sliding = (0..<layers).map { n == 0 || $0 % n < n - 1 }
            }
        } else {
            c["sliding_window"] = NSNull()
        }
        c["layer_types"] = sliding.map { $0 ? "sliding_attention" : "full_attention" }
        return c
    }

    private static func refuseSlidingWindow(_ file: GGUFFile, _ arch: String) throws {
        if let window = try file.optionalInt(arch + ".attention.sliding_window"), window > 0 {
            throw GGUFError.unsupported(path: file.path, field: arch + ".attention.sliding_window",
                                        detail: "sliding-window attention (\(window)) in a \(arch) model")
        }
    }
}
