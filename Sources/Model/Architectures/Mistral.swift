import Foundation

extension Architecture {
    /// Mistral: Llama with a sliding attention window (sliding_window; null = unlimited).
    public static let mistral: Architecture = llamaFamily(
        modelType: "mistral", huggingFaceClass: "MistralForCausalLM",
        readConfig: { keys in
            var c = try ModelConfig.llamaFamily(keys, .mistral)
            c.slidingWindow = try keys.optionalInt("sliding_window")
            return c
        },
        writeConfig: { c in c.llamaFamilyJSON.merging(["sliding_window": c.slidingWindow ?? NSNull()]) { $1 } })
}
