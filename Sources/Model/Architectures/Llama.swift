extension Architecture {
    /// Llama: RMSNorm, RoPE (llama3 / linear scaling), SwiGLU, nn.Linear weights, GQA, no
    /// biases (attention_bias, which biases o_proj too, is refused).
    public static let llama: Architecture = llamaFamily(
        modelType: "llama", huggingFaceClass: "LlamaForCausalLM",
        readConfig: { keys in
            try keys.refuseBiasedAttention()
            return try .llamaFamily(keys, .llama)
        },
        writeConfig: { c in c.llamaFamilyJSON.merging(["attention_bias": false, "mlp_bias": false]) { $1 } })

    /// Llama's structure and tensor names; Mistral and Qwen2 differ only in config keys, the
    /// later families in a q/k norm or tensor names (`names`: also where the norms sit).
    static func llamaFamily(modelType: String, huggingFaceClass: String,
                            qkNorm: QKNorm = .none,
                            names: TensorNames = .llama,
                            readConfig: @escaping @Sendable (ConfigKeys) throws -> ModelConfig,
                            writeConfig: @escaping @Sendable (ModelConfig) -> [String: Any]) -> Architecture {
        Architecture(
            modelType: modelType, huggingFaceClass: huggingFaceClass,
            norm: .rmsNorm, mlp: .swiGLU, positions: .rope, qkNorm: qkNorm, scaledEmbeddings: false,
            conv1D: false, biasedLinears: false, names: names, readConfig: readConfig, writeConfig: writeConfig)
    }
}

extension TensorNames {
    /// Llama's tensor names, which most later families keep.
    static let llama = TensorNames(
        tokenEmbedding: "model.embed_tokens.weight", blockPrefix: "model.layers.", attentionNorm: "input_layernorm",
        qkv: ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"], attentionOutput: "self_attn.o_proj",
        mlpNorm: "post_attention_layernorm", up: ["mlp.gate_proj", "mlp.up_proj"], down: "mlp.down_proj",
        finalNorm: "model.norm")
}

extension ModelConfig {
    /// The config.json keys the Llama family shares (no biases, no window).
    /// `defaultTheta` and `defaultNormEps` are the family's transformers defaults, used when
    /// config.json omits rope_theta or rms_norm_eps.
    static func llamaFamily(_ keys: ConfigKeys, _ architecture: Architecture, defaultTheta: Double = 10000,
                            defaultNormEps: Double = 1e-6) throws -> ModelConfig {
        let act = keys.string("hidden_act") ?? "silu"
        guard act == "silu" else { throw ModelError.invalidValue(key: "hidden_act", detail: "\(act) is not supported (silu)") }
        let c = try keys.int("hidden_size"), heads = try keys.int("num_attention_heads")
        let (theta, scaling) = try keys.rope(defaultTheta: defaultTheta)
        if keys.bool("mlp_bias") == true {
            throw ModelError.invalidValue(key: "mlp_bias", detail: "MLP biases are not supported")
        }
        return ModelConfig(architecture: architecture, vocabSize: try keys.int("vocab_size"), hiddenSize: c,
                           layers: try keys.int("num_hidden_layers"), heads: heads,
                           kvHeads: try keys.optionalInt("num_key_value_heads") ?? heads,
                           headDim: try keys.optionalInt("head_dim"), intermediateSize: try keys.int("intermediate_size"),
                           maxPositions: try keys.optionalInt("max_position_embeddings") ?? 4096,
                           normEps: Float(try keys.optionalDouble("rms_norm_eps") ?? defaultNormEps), ropeTheta: theta, ropeScaling: scaling,
                           tiedEmbeddings: keys.bool("tie_word_embeddings") ?? false, qkvBias: false,
                           eosTokenId: keys.firstInt("eos_token_id"))
    }

    /// The config.json keys the Llama family shares.
    var llamaFamilyJSON: [String: Any] {
        ropeJSON.merging([
            "hidden_size": hiddenSize, "intermediate_size": intermediateSize, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": kvHeads, "head_dim": headDim,
            "max_position_embeddings": maxPositions, "rms_norm_eps": Double(normEps), "hidden_act": "silu",
        ]) { $1 }
    }
}
