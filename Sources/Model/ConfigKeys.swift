import Foundation

/// Typed access to config.json keys with errors that name the key.
struct ConfigKeys {
    let object: [String: Any]
    let modelType: String
    var prefix = ""

    func optionalDouble(_ key: String) throws -> Double? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber else { throw ModelError.invalidValue(key: prefix + key, detail: "not a number") }
        let d = n.doubleValue
        if let range = Self.realBounds[key], !(range.contains(d) && d != 0 && d.isFinite) {
            throw ModelError.invalidValue(key: prefix + key, detail: "\(d) is outside (\(range.lowerBound), \(range.upperBound)]: the model would compute NaN or nonsense")
        }
        return d
    }

    /// Real-valued settings that must be positive and finite (a zero or negative RoPE base or
    /// norm epsilon makes every activation NaN, and the run would end "0 masked" without a word).
    static let realBounds: [String: ClosedRange<Double>] = [
        "rope_theta": 0...1e15, "rope_local_base_freq": 0...1e15, "rms_norm_eps": 0...1, "layer_norm_epsilon": 0...1, "layer_norm_eps": 0...1,
        "partial_rotary_factor": 0...1, "factor": 0...1e6, "low_freq_factor": 0...1e6, "high_freq_factor": 0...1e6,
        "attn_logit_softcapping": 0...1e6, "final_logit_softcapping": 0...1e6, "query_pre_attn_scalar": 0...1e9,
    ]

    func optionalInt(_ key: String) throws -> Int? {
        guard let d = try optionalDouble(key) else { return nil }
        guard d == d.rounded(), d >= 0 else { throw ModelError.invalidValue(key: prefix + key, detail: "not a non-negative integer") }
        guard d <= 9_007_199_254_740_992 else { throw ModelError.invalidValue(key: prefix + key, detail: "\(d) is too large") }
        let n = Int(d)
        if let range = Self.sizeBounds[key], !range.contains(n) {
            throw ModelError.invalidValue(key: prefix + key, detail: "\(n) is outside \(range.lowerBound)...\(range.upperBound), the sizes xtf holds")
        }
        return n
    }

    /// Model dimensions beyond any real model's are refused before anything is sized by them
    /// (a typo, or a hostile file, must not become a huge allocation or a division by zero).
    static let sizeBounds: [String: ClosedRange<Int>] = [
        "vocab_size": 1...(1 << 24), "hidden_size": 1...(1 << 16), "n_embd": 1...(1 << 16),
        "intermediate_size": 1...(1 << 20), "n_inner": 1...(1 << 20),
        "num_hidden_layers": 1...1024, "n_layer": 1...1024,
        "num_attention_heads": 1...1024, "n_head": 1...1024, "num_key_value_heads": 1...1024,
        "head_dim": 1...4096, "max_position_embeddings": 1...(1 << 27), "n_positions": 1...(1 << 27),
    ]

    /// A list of non-negative integers; nil when absent or null.
    func optionalIntList(_ key: String) throws -> [Int]? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let list = v as? [Any] else { throw ModelError.invalidValue(key: prefix + key, detail: "not a list") }
        return try list.indices.map { i in
            guard let n = list[i] as? NSNumber, n.doubleValue == n.doubleValue.rounded(), n.doubleValue >= 0 else {
                throw ModelError.invalidValue(key: "\(prefix)\(key)[\(i)]", detail: "not a non-negative integer")
            }
            return n.intValue
        }
    }

    /// A number that may be switched off with null: `absent` when the key is missing (the
    /// family's default), nil when it is null.
    func optionalDouble(_ key: String, absent: Double?) throws -> Double? {
        object[key] == nil ? absent : try optionalDouble(key)
    }

    /// The layers layer_types marks "full_attention" (the rest must be "sliding_attention");
    /// nil when absent.
    func fullAttentionLayers(layers: Int) throws -> [Int]? {
        guard let v = object["layer_types"], !(v is NSNull) else { return nil }
        guard let types = v as? [String], types.count == layers else {
            throw ModelError.invalidValue(key: prefix + "layer_types", detail: "needs one string per layer (\(layers) layers)")
        }
        for (i, t) in types.enumerated() where t != "full_attention" && t != "sliding_attention" {
            throw ModelError.invalidValue(key: "\(prefix)layer_types[\(i)]", detail: "\(t) is not supported (full_attention, sliding_attention)")
        }
        return types.indices.filter { types[$0] == "full_attention" }
    }

    /// An integer or the first of a list (Llama 3 lists several eos ids); nil when absent.
    func firstInt(_ key: String) -> Int? {
        if let n = object[key] as? NSNumber { return n.intValue }
        return (object[key] as? [NSNumber])?.first?.intValue
    }

    func double(_ key: String) throws -> Double {
        guard let v = try optionalDouble(key) else { throw ModelError.missingKey(prefix + key, modelType: modelType) }
        return v
    }

    func int(_ key: String) throws -> Int {
        guard let v = try optionalInt(key) else { throw ModelError.missingKey(prefix + key, modelType: modelType) }
        return v
    }

    /// A boolean; nil when absent or not a boolean.
    func bool(_ key: String) -> Bool? { object[key] as? Bool }

    /// A string; nil when absent or not a string.
    func string(_ key: String) -> String? { object[key] as? String }
}
