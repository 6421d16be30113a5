extension Architecture {
    /// Gemma 3, text only (Gemma3ForCausalLM): Gemma 2 plus (1 + w) RMSNorms of each query and
    /// key head before RoPE (q_norm, k_norm), no soft-capping unless config.json sets it, one
    /// full-attention layer in sliding_window_pattern (6), and a RoPE of its own for the
    /// sliding layers (base 10000) beside the full layers' (rope_theta 1e6 and any scaling).
    public static let gemma3Text = Architecture(
        modelType: "gemma3_text", huggingFaceClass: "Gemma3ForCausalLM",
        norm: .rmsNormPlusOne, mlp: .geGLU, positions: .rope, qkNorm: .perHead, scaledEmbeddings: true,
        conv1D: false, biasedLinears: false,
        names: TensorNames.gemma2.changing { $0.qNorm = "self_attn.q_norm"; $0.kNorm = "self_attn.k_norm" },
        readConfig: { keys in try .gemma3Text(keys) },
        writeConfig: { c in
            var o = c.gemmaFamilyJSON
            (o["rope_theta"], o["rope_scaling"]) = (nil, nil)
            o["rope_parameters"] = [
                "full_attention": ModelConfig.ropeParametersJSON(RopeSettings(theta: c.ropeTheta, scaling: c.ropeScaling)),
                "sliding_attention": ModelConfig.ropeParametersJSON(c.slidingLayerRope ?? RopeSettings(theta: 10000)),
            ]
            return o
        })
}

extension ModelConfig {
    /// Gemma3TextConfig's keys and defaults.
    static func gemma3Text(_ keys: ConfigKeys) throws -> ModelConfig {
        let (full, sliding) = try keys.gemma3Ropes()
        var c = try gemmaFamily(keys, .gemma3Text, rope: full, softcaps: (nil, nil),
                                fullLayerEvery: try keys.optionalInt("sliding_window_pattern") ?? 6, maxPositions: 131_072)
        c.slidingLayerRope = sliding
        return c
    }
}

extension ConfigKeys {
    /// The full and sliding layers' RoPE: rope_parameters keyed by layer type, or (older files)
    /// rope_theta + rope_scaling for full layers and rope_local_base_freq for sliding ones.
    func gemma3Ropes() throws -> (full: RopeSettings, sliding: RopeSettings) {
        let fullTheta = try optionalDouble("rope_theta") ?? 1_000_000
        let slidingTheta = try optionalDouble("rope_local_base_freq") ?? 10000
        guard let params = object["rope_parameters"] as? [String: Any] else {
            let (theta, scaling) = try rope(defaultTheta: fullTheta)
            return (RopeSettings(theta: theta, scaling: scaling), RopeSettings(theta: slidingTheta))
        }
        func settings(_ layerType: String, defaultTheta: Double) throws -> RopeSettings {
            let name = "rope_parameters.\(layerType)"
            guard let own = params[layerType] else { return RopeSettings(theta: defaultTheta) }
            guard own is [String: Any] else { throw ModelError.invalidValue(key: name, detail: "not an object") }
            let (theta, scaling) = try ConfigKeys(object: ["rope_parameters": own], modelType: modelType)
                .rope(defaultTheta: defaultTheta, parametersName: name)
            return RopeSettings(theta: theta, scaling: scaling)
        }
        return (try settings("full_attention", defaultTheta: fullTheta), try settings("sliding_attention", defaultTheta: slidingTheta))
    }
}
