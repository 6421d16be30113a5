extension Architecture {
    /// GPT-2: LayerNorm, learned positions, gelu_new MLP, Conv1D weights ([in, out]) and a
    /// bias on every linear; one fused c_attn for q|k|v.
    public static let gpt2: Architecture = Architecture(
        modelType: "gpt2", huggingFaceClass: "GPT2LMHeadModel",
        norm: .layerNorm, mlp: .geluTanh, positions: .learned, qkNorm: .none, scaledEmbeddings: false, conv1D: true, biasedLinears: true,
        names: TensorNames(
            tokenEmbedding: "transformer.wte.weight", positionEmbedding: "transformer.wpe.weight",
            blockPrefix: "transformer.h.", attentionNorm: "ln_1", qkv: ["attn.c_attn"], attentionOutput: "attn.c_proj",
            mlpNorm: "ln_2", up: ["mlp.c_fc"], down: "mlp.c_proj", finalNorm: "transformer.ln_f",
            optionalPrefix: "transformer."),
        readConfig: { keys in
            let c = try keys.int("n_embd")
            let inner = try keys.optionalInt("n_inner") ?? 4 * c
            let act = keys.string("activation_function") ?? "gelu_new"
            guard ["gelu_new", "gelu_pytorch_tanh"].contains(act) else {
                throw ModelError.invalidValue(key: "activation_function", detail: "\(act) is not supported (gelu_new)")
            }
            let heads = try keys.int("n_head")
            return ModelConfig(architecture: .gpt2, vocabSize: try keys.int("vocab_size"), hiddenSize: c,
                               layers: try keys.int("n_layer"), heads: heads, kvHeads: heads, intermediateSize: inner,
                               maxPositions: try keys.int("n_positions"),
                               normEps: Float(try keys.optionalDouble("layer_norm_epsilon") ?? 1e-5),
                               tiedEmbeddings: keys.bool("tie_word_embeddings") ?? true, eosTokenId: keys.firstInt("eos_token_id"))
        },
        writeConfig: { c in
            ["n_embd": c.hiddenSize, "n_layer": c.layers, "n_head": c.heads, "n_positions": c.maxPositions,
             "n_inner": c.intermediateSize, "layer_norm_epsilon": Double(c.normEps), "activation_function": "gelu_new"]
        })
}
