import Foundation

/// The RoPE of some layers: its base and scaling.
public struct RopeSettings: Codable, Sendable, Equatable {
    public var theta: Double
    public var scaling: RopeScaling
    public init(theta: Double, scaling: RopeScaling = .none) {
        self.theta = theta
        self.scaling = scaling
    }
}

/// How RoPE frequencies are rescaled.
public enum RopeScaling: Codable, Sendable, Equatable {
    case none
    case linear(factor: Double)
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
}

extension ConfigKeys {
    /// theta and scaling from `rope_theta` + `rope_scaling`, or from the newer `rope_parameters`;
    /// `defaultTheta` is the family's when neither names one (transformers' default_theta).
    /// RoPE over part of each head (partial_rotary_factor below 1) is refused. `parametersName`
    /// names the rope_parameters object in errors (Gemma 3 nests one per layer type).
    func rope(defaultTheta: Double = 10000, parametersName: String = "rope_parameters") throws -> (theta: Double, scaling: RopeScaling) {
        var theta = try optionalDouble("rope_theta")
        var scaling = object["rope_scaling"] as? [String: Any]
        var scalingName = "rope_scaling."
        var partial = try optionalDouble("partial_rotary_factor")
        if let params = object["rope_parameters"] as? [String: Any] {
            scalingName = parametersName + "."
            let p = ConfigKeys(object: params, modelType: modelType, prefix: scalingName)
            theta = try p.optionalDouble("rope_theta") ?? theta
            partial = try p.optionalDouble("partial_rotary_factor") ?? partial
            scaling = params
        }
        if let partial, partial != 1 {
            throw ModelError.invalidValue(key: "partial_rotary_factor", detail: "\(partial): RoPE over part of each head is not supported")
        }
        let resolvedTheta = theta ?? defaultTheta
        guard let scaling else { return (resolvedTheta, .none) }
        let s = ConfigKeys(object: scaling, modelType: modelType, prefix: scalingName)
        let type = (scaling["rope_type"] as? String) ?? (scaling["type"] as? String) ?? "default"
        switch type {
        case "default": return (resolvedTheta, .none)
        case "linear": return (resolvedTheta, .linear(factor: try s.double("factor")))
        case "llama3":
            return (resolvedTheta, .llama3(factor: try s.double("factor"), lowFreqFactor: try s.double("low_freq_factor"),
                                            highFreqFactor: try s.double("high_freq_factor"),
                                            originalMaxPositions: try s.int("original_max_position_embeddings")))
        default: throw ModelError.unsupportedRopeScaling(type)
        }
    }
}

extension ModelConfig {
    /// One rope_parameters object for `settings` (Gemma 3 writes one per layer type).
    static func ropeParametersJSON(_ settings: RopeSettings) -> [String: Any] {
        var o: [String: Any] = ["rope_type": "default", "rope_theta": settings.theta]
        switch settings.scaling {
        case .none: break
        case let .linear(factor): o.merge(["rope_type": "linear", "factor": factor]) { $1 }
        case let .llama3(factor, low, high, original):
            o.merge(["rope_type": "llama3", "factor": factor, "low_freq_factor": low, "high_freq_factor": high,
                     "original_max_position_embeddings": original]) { $1 }
        }
        return o
    }

    /// `rope_theta` and `rope_scaling` as config.json spells them.
    var ropeJSON: [String: Any] {
        var o: [String: Any] = ["rope_theta": ropeTheta]
        switch ropeScaling {
        case .none: break
        case let .linear(factor): o["rope_scaling"] = ["rope_type": "linear", "factor": factor]
        case let .llama3(factor, low, high, original):
            o["rope_scaling"] = ["rope_type": "llama3", "factor": factor, "low_freq_factor": low,
                                 "high_freq_factor": high, "original_max_position_embeddings": original]
        }
        return o
    }

    /// RoPE inverse frequencies of `settings` (by default the model's rope_theta and scaling).
    /// HF computes them in float32; so do we, to match to the last bit.
    public func ropeInverseFrequencies(_ settings: RopeSettings? = nil) -> [Float] {
        let half = headDim / 2
        let theta = settings?.theta ?? ropeTheta, scaling = settings?.scaling ?? ropeScaling
        var inv = (0..<half).map { i in Float(1.0) / powf(Float(theta), Float(2 * i) / Float(headDim)) }
        switch scaling {
        case .none: break
        case let .linear(factor): inv = inv.map { $0 / Float(factor) }
        case let .llama3(factor, low, high, original):
            let lowWavelen = Float(original) / Float(low), highWavelen = Float(original) / Float(high)
            inv = inv.map { f in
                let wavelen = 2 * Float.pi / f
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / Float(factor) }
                let smooth = (Float(original) / wavelen - Float(low)) / Float(high - low)
                return (1 - smooth) * f / Float(factor) + smooth * f
            }
        }
        return inv
    }
}
