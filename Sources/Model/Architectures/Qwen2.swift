import Foundation

extension Architecture {
    /// Qwen2: Llama with q/k/v biases always. With use_sliding_window, layers slide as
    /// layer_types says, or (older configs) every layer from max_window_layers on, as
    /// transformers derives it; the others attend to everything.
    public static let qwen2: Architecture = llamaFamily(
        modelType: "qwen2", huggingFaceClass: "Qwen2ForCausalLM",
        readConfig: { keys in
            var c = try ModelConfig.llamaFamily(keys, .qwen2)
            c.qkvBias = true
            if keys.bool("use_sliding_window") == true, let window = try keys.optionalInt("sliding_window") {
                c.slidingWindow = window
                c.fullAttentionLayers = try keys.fullAttentionLayers(layers: c.layers)
                    ?? Array(0..<min(c.layers, try keys.optionalInt("max_window_layers") ?? 28))
            }
            return c
        },
        writeConfig: { c in
            c.llamaFamilyJSON.merging([
                "use_sliding_window": c.slidingWindow != nil, "sliding_window": c.slidingWindow ?? NSNull(),
                "layer_types": (0..<c.layers).map { c.window(layer: $0) == nil ? "full_attention" : "sliding_attention" },
            ]) { $1 }
        })
}
