/// config.json settings some later families accept and xtf does not compute: refused by name,
/// never ignored, since each changes the model's output.
extension ConfigKeys {
    /// attention_bias in Llama, Qwen3, OLMo 2 and SmolLM3 biases o_proj as well as q/k/v, which the
    /// shared layout has no place for.
    func refuseBiasedAttention() throws {
        if bool("attention_bias") == true {
            throw ModelError.invalidValue(key: "attention_bias", detail: "attention biases (q/k/v/o) are not supported for \(modelType)")
        }
    }

    /// use_sliding_window turns on windows for only some layers (layer_types / max_window_layers),
    /// which the shared attention, one window for every layer, does not compute.
    func refuseSlidingWindow() throws {
        if bool("use_sliding_window") == true {
            throw ModelError.invalidValue(key: "use_sliding_window", detail: "per-layer sliding windows are not supported for \(modelType)")
        }
    }
}
