extension Architecture {
    /// Qwen2: Llama with q/k/v biases always, and a sliding window only when
    /// use_sliding_window is set.
    public static let qwen2: Architecture = llamaFamily(
        modelType: "qwen2", huggingFaceClass: "Qwen2ForCausalLM",
        readConfig: { keys in
            var c = try ModelConfig.llamaFamily(keys, .qwen2)
            c.qkvBias = true
            if keys.bool("use_sliding_window") == true { c.slidingWindow = try keys.optionalInt("sliding_window") }
            return c
        },
        writeConfig: { c in c.llamaFamilyJSON })
}
