extension Architecture {
    /// Qwen3: Llama with an RMSNorm over each query and key head before RoPE (self_attn.q_norm,
    /// k_norm, [head_dim] each), no q/k/v biases, and head_dim 128 when config.json omits it
    /// (transformers' default, not hidden_size / heads).
    public static let qwen3: Architecture = llamaFamily(
        modelType: "qwen3", huggingFaceClass: "Qwen3ForCausalLM", qkNorm: .perHead, names: .withQKNorms,
        readConfig: { keys in
            try keys.refuseBiasedAttention()
            try keys.refuseSlidingWindow()
            var c = try ModelConfig.llamaFamily(keys, .qwen3)
            if try keys.optionalInt("head_dim") == nil { c.headDim = 128 }
            return c
        },
        writeConfig: { c in c.llamaFamilyJSON.merging(["attention_bias": false, "use_sliding_window": false]) { $1 } })
}

extension TensorNames {
    /// Llama's names plus self_attn.q_norm and self_attn.k_norm.
    static let withQKNorms = TensorNames.llama.changing { $0.qNorm = "self_attn.q_norm"; $0.kNorm = "self_attn.k_norm" }
}
