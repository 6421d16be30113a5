import Foundation

extension Architecture {
    /// Phi-3: Llama with q|k|v fused in one self_attn.qkv_proj and gate|up in one
    /// mlp.gate_up_proj (the layout the shared passes already use, so LoRA adapts each fused
    /// weight as one module, as PEFT does), a sliding window on every layer when sliding_window
    /// is set, no biases. longrope and partial_rotary_factor below 1 (Phi-3.5 / Phi-4-mini) are
    /// refused by the shared RoPE reader.
    public static let phi3: Architecture = llamaFamily(
        modelType: "phi3", huggingFaceClass: "Phi3ForCausalLM",
        names: TensorNames.llama.changing {
            $0.qkv = ["self_attn.qkv_proj"]
            $0.up = ["mlp.gate_up_proj"]
        },
        readConfig: { keys in
            var c = try ModelConfig.llamaFamily(keys, .phi3, defaultNormEps: 1e-5)
            // Phi3Attention has no attention_bias option: transformers ignores the key.
            c.qkvBias = false
            c.slidingWindow = try keys.optionalInt("sliding_window")
            return c
        },
        writeConfig: { c in c.llamaFamilyJSON.merging(["sliding_window": c.slidingWindow ?? NSNull()]) { $1 } })
}
