import Foundation

extension Architecture {
    /// Gemma 2: (1 + w) RMSNorms before and after each sublayer, GeGLU (tanh GELU), token
    /// embeddings scaled by sqrt(hidden_size), scores scaled by 1/sqrt(query_pre_attn_scalar)
    /// and soft-capped (attn_logit_softcapping), soft-capped logits (final_logit_softcapping),
    /// sliding and full attention layers (layer_types; by default even layers slide), tied head.
    public static let gemma2 = Architecture(
        modelType: "gemma2", huggingFaceClass: "Gemma2ForCausalLM",
        norm: .rmsNormPlusOne, mlp: .geGLU, positions: .rope, qkNorm: .none, scaledEmbeddings: true,
        conv1D: false, biasedLinears: false, names: .gemma2,
        readConfig: { keys in try .gemma2(keys) },
        writeConfig: { c in c.gemmaFamilyJSON })
}

extension TensorNames {
    /// Llama's names with a norm on both sides of each sublayer.
    static let gemma2 = TensorNames.llama.changing {
        $0.attentionOutputNorm = "post_attention_layernorm"
        $0.mlpNorm = "pre_feedforward_layernorm"
        $0.mlpOutputNorm = "post_feedforward_layernorm"
    }
}

extension ModelConfig {
    /// Gemma2Config's keys and defaults.
    static func gemma2(_ keys: ConfigKeys) throws -> ModelConfig {
        let (theta, scaling) = try keys.rope()
        return try gemmaFamily(keys, .gemma2, rope: RopeSettings(theta: theta, scaling: scaling), softcaps: (50, 30),
                               fullLayerEvery: 2, maxPositions: 8192)
    }

    /// The keys Gemma 2 and 3 share, with transformers' defaults where a key is missing (a
    /// null soft-cap or window switches it off): `softcaps` (attention, final logits) when
    /// absent, and every `fullLayerEvery`-th layer full when layer_types is absent.
    static func gemmaFamily(_ keys: ConfigKeys, _ architecture: Architecture, rope: RopeSettings, softcaps: (Double?, Double?),
                            fullLayerEvery: Int, maxPositions: Int) throws -> ModelConfig {
        guard fullLayerEvery >= 1 else {
            throw ModelError.invalidValue(key: "sliding_window_pattern", detail: "\(fullLayerEvery): every N-th layer is full, N >= 1")
        }
        let act = keys.string("hidden_activation") ?? "gelu_pytorch_tanh"
        guard act == "gelu_pytorch_tanh" else {
            throw ModelError.invalidValue(key: "hidden_activation", detail: "\(act) is not supported (gelu_pytorch_tanh)")
        }
        try keys.refuseBiasedAttention()
        if keys.bool("use_bidirectional_attention") == true {
            throw ModelError.invalidValue(key: "use_bidirectional_attention", detail: "only causal attention is supported")
        }
        let layers = try keys.int("num_hidden_layers")
        var c = ModelConfig(architecture: architecture, vocabSize: try keys.int("vocab_size"), hiddenSize: try keys.int("hidden_size"),
                            layers: layers, heads: try keys.int("num_attention_heads"),
                            kvHeads: try keys.optionalInt("num_key_value_heads") ?? 4, headDim: try keys.optionalInt("head_dim") ?? 256,
                            intermediateSize: try keys.int("intermediate_size"),
                            maxPositions: try keys.optionalInt("max_position_embeddings") ?? maxPositions,
                            normEps: Float(try keys.optionalDouble("rms_norm_eps") ?? 1e-6), ropeTheta: rope.theta,
                            ropeScaling: rope.scaling, tiedEmbeddings: keys.bool("tie_word_embeddings") ?? true,
                            eosTokenId: keys.firstInt("eos_token_id"))
        c.queryPreAttentionScalar = try keys.optionalDouble("query_pre_attn_scalar") ?? 256
        c.attentionSoftcap = try keys.optionalDouble("attn_logit_softcapping", absent: softcaps.0).map { Float($0) }
        c.finalLogitSoftcap = try keys.optionalDouble("final_logit_softcapping", absent: softcaps.1).map { Float($0) }
        c.slidingWindow = keys.object["sliding_window"] == nil ? 4096 : try keys.optionalInt("sliding_window")
        c.fullAttentionLayers = try keys.fullAttentionLayers(layers: layers)
            ?? (0..<layers).filter { ($0 + 1) % fullLayerEvery == 0 }
        return c
    }

    /// The keys Gemma 2 and 3 share, as config.json spells them.
    var gemmaFamilyJSON: [String: Any] {
        var o = llamaFamilyJSON
        o["hidden_act"] = nil
        return o.merging([
            "hidden_activation": "gelu_pytorch_tanh", "attention_bias": false,
            "query_pre_attn_scalar": queryPreAttentionScalar ?? Double(headDim),
            "attn_logit_softcapping": attentionSoftcap.map { Double($0) } ?? NSNull(),
            "final_logit_softcapping": finalLogitSoftcap.map { Double($0) } ?? NSNull(),
            "sliding_window": slidingWindow ?? NSNull(),
            "layer_types": (0..<layers).map { fullAttentionLayers.contains($0) ? "full_attention" : "sliding_attention" },
        ]) { $1 }
    }
}
