extension Architecture {
    /// SmolLM3: Llama where some layers use no RoPE at all. no_rope_layers holds one flag per
    /// layer (1 = RoPE, 0 = none); without it transformers drops RoPE from every
    /// no_rope_layer_interval-th layer (default 4). Tied head and rope_theta 2e6 by default.
    public static let smollm3: Architecture = llamaFamily(
        modelType: "smollm3", huggingFaceClass: "SmolLM3ForCausalLM",
        readConfig: { keys in
            try keys.refuseBiasedAttention()
            try keys.refuseSlidingWindow()
            var c = try ModelConfig.llamaFamily(keys, .smollm3, defaultTheta: 2_000_000)
            c.tiedEmbeddings = keys.bool("tie_word_embeddings") ?? true
            c.layersWithoutRope = try keys.smolLM3LayersWithoutRope(layers: c.layers)
            return c
        },
        writeConfig: { c in
            c.llamaFamilyJSON.merging([
                "attention_bias": false, "mlp_bias": false, "use_sliding_window": false,
                "no_rope_layers": (0..<c.layers).map { c.usesRope(layer: $0) ? 1 : 0 },
            ]) { $1 }
        })
}

extension ConfigKeys {
    /// The layers no_rope_layers (or no_rope_layer_interval) leaves without RoPE.
    func smolLM3LayersWithoutRope(layers: Int) throws -> [Int] {
        guard let flags = try optionalIntList("no_rope_layers") else {
            let interval = try optionalInt("no_rope_layer_interval") ?? 4
            guard interval > 0 else { throw ModelError.invalidValue(key: "no_rope_layer_interval", detail: "must be at least 1") }
            return (0..<layers).filter { ($0 + 1) % interval == 0 }
        }
        guard flags.count == layers, flags.allSatisfy({ $0 <= 1 }) else {
            throw ModelError.invalidValue(key: "no_rope_layers", detail: "needs one 0 or 1 per layer (\(layers) layers)")
        }
        return flags.indices.filter { flags[$0] == 0 }
    }
}
