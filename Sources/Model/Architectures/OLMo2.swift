extension Architecture {
    /// OLMo 2: Llama whose norms act on each sublayer's output before the residual add
    /// (post_attention_layernorm, post_feedforward_layernorm; no input norms), with RMSNorms of
    /// q and k over the whole projection (q_norm [heads * head_dim], k_norm [kv heads * head_dim]).
    public static let olmo2: Architecture = llamaFamily(
        modelType: "olmo2", huggingFaceClass: "Olmo2ForCausalLM", qkNorm: .wholeProjection,
        names: .olmo2,
        readConfig: { keys in
            try keys.refuseBiasedAttention()
            return try .llamaFamily(keys, .olmo2, defaultNormEps: 1e-5)
        },
        writeConfig: { c in c.llamaFamilyJSON.merging(["attention_bias": false]) { $1 } })
}

extension TensorNames {
    /// The sublayer norms under OLMo 2's names, q/k norms as Qwen3's.
    static let olmo2 = TensorNames.withQKNorms.changing {
        $0.attentionNorm = nil
        $0.attentionOutputNorm = "post_attention_layernorm"
        $0.mlpNorm = nil
        $0.mlpOutputNorm = "post_feedforward_layernorm"
    }
}
