import Foundation

/// Errors of the Model layer; each names the key, tensor or file concerned.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unsupportedModelType(String)
    case missingKey(String, modelType: String)
    case invalidValue(key: String, detail: String)
    case unsupportedRopeScaling(String)
    case io(path: String, detail: String)
    case missingTensor(String, path: String)
    case invalidRequest(String)
    /// A weight that is NaN or infinite: `index` is the first bad element of the tensor.
    case nonFiniteWeight(tensor: String, path: String, index: Int, value: String)
    /// An error in the config.json at `path`.
    indirect case configFile(path: String, ModelError)

    public var description: String {
        switch self {
        case let .unsupportedModelType(t): return "unsupported model_type \"\(t)\" (supported: gpt2, llama, mistral, qwen2)"
        case let .missingKey(k, t): return "config.json (\(t)): missing key \"\(k)\""
        case let .invalidValue(k, d): return "config.json: \(k): \(d)"
        case let .unsupportedRopeScaling(t): return "unsupported rope scaling type \"\(t)\" (supported: llama3, linear, default)"
        case let .io(p, d): return "\(p): \(d)"
        case let .missingTensor(n, p): return "\(p): checkpoint has no tensor \(n)"
        case let .invalidRequest(d): return "invalid request: \(d)"
        case let .nonFiniteWeight(tensor, path, index, value):
            return "\(path): tensor \(tensor) holds \(value) at element \(index): the checkpoint is corrupt or was saved from a diverged run"
        case let .configFile(path, error):
            // The inner message starts with "config.json" when it is about the file: say which one.
            let text = error.description
            return text.hasPrefix("config.json") ? path + text.dropFirst("config.json".count) : "\(path): \(text)"
        }
    }
}

public enum Architecture: String, Codable, Sendable {
    /// GPT-2: LayerNorm, learned positions, Conv1D weights ([in, out]), gelu_new MLP.
    case gpt2
    /// Llama family (llama, mistral, qwen2): RMSNorm, RoPE, SwiGLU MLP, Linear weights ([out, in]).
    case llama
}

/// How RoPE frequencies are rescaled.
public enum RopeScaling: Codable, Sendable, Equatable {
    case none
    case linear(factor: Double)
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
}

/// A model's shape, read from Hugging Face config.json (or built for benchmarks).
public struct ModelConfig: Codable, Sendable, Equatable {
    public var modelType: String
    public var architecture: Architecture
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var normEps: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    public var tiedEmbeddings: Bool
    /// Qwen2: q/k/v projections carry biases.
    public var qkvBias: Bool
    /// Mistral: each query sees at most this many keys (itself included); nil = unlimited.
    public var slidingWindow: Int?
    public var eosTokenId: Int?

    public var qDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }
    /// Width of the fused q|k|v projection output.
    public var qkvDim: Int { qDim + 2 * kvDim }

    public init(modelType: String, architecture: Architecture, vocabSize: Int, hiddenSize: Int, layers: Int,
                heads: Int, kvHeads: Int, headDim: Int? = nil, intermediateSize: Int, maxPositions: Int,
                normEps: Float, ropeTheta: Double = 10000, ropeScaling: RopeScaling = .none,
                tiedEmbeddings: Bool, qkvBias: Bool = false, slidingWindow: Int? = nil, eosTokenId: Int? = nil) {
        self.modelType = modelType
        self.architecture = architecture
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim ?? hiddenSize / heads
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.normEps = normEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.tiedEmbeddings = tiedEmbeddings
        self.qkvBias = qkvBias
        self.slidingWindow = slidingWindow
        self.eosTokenId = eosTokenId
    }

    /// Reads `config.json` of a Hugging Face checkpoint directory.
    public init(directory: URL) throws {
        let url = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError.io(path: url.path, detail: "cannot read config.json")
        }
        do { try self.init(huggingFaceJSON: data) } catch let error as ModelError {
            throw ModelError.configFile(path: url.path, error)
        }
    }

    /// Parses a Hugging Face config.json for model_type gpt2, llama, mistral or qwen2.
    public init(huggingFaceJSON data: Data) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.invalidValue(key: "config.json", detail: "not a JSON object")
        }
        guard let modelType = object["model_type"] as? String else { throw ModelError.missingKey("model_type", modelType: "?") }
        let keys = ConfigKeys(object: object, modelType: modelType)
        switch modelType {
        case "gpt2":
            let c = try keys.int("n_embd")
            let inner = try keys.optionalInt("n_inner") ?? 4 * c
            let act = (object["activation_function"] as? String) ?? "gelu_new"
            guard ["gelu_new", "gelu_pytorch_tanh"].contains(act) else {
                throw ModelError.invalidValue(key: "activation_function", detail: "\(act) is not supported (gelu_new)")
            }
            let heads = try keys.int("n_head")
            self.init(modelType: modelType, architecture: .gpt2, vocabSize: try keys.int("vocab_size"), hiddenSize: c,
                      layers: try keys.int("n_layer"), heads: heads, kvHeads: heads, intermediateSize: inner,
                      maxPositions: try keys.int("n_positions"), normEps: Float(try keys.optionalDouble("layer_norm_epsilon") ?? 1e-5),
                      tiedEmbeddings: (object["tie_word_embeddings"] as? Bool) ?? true,
                      eosTokenId: keys.firstInt("eos_token_id"))
        case "llama", "mistral", "qwen2":
            let act = (object["hidden_act"] as? String) ?? "silu"
            guard act == "silu" else { throw ModelError.invalidValue(key: "hidden_act", detail: "\(act) is not supported (silu)") }
            let c = try keys.int("hidden_size"), heads = try keys.int("num_attention_heads")
            let (theta, scaling) = try Self.rope(object: object, keys: keys)
            var window: Int? = nil
            if modelType == "mistral" { window = try keys.optionalInt("sliding_window") }
            if modelType == "qwen2", (object["use_sliding_window"] as? Bool) == true {
                window = try keys.optionalInt("sliding_window")
            }
            let bias = modelType == "qwen2" || ((object["attention_bias"] as? Bool) ?? false)
            if (object["mlp_bias"] as? Bool) == true {
                throw ModelError.invalidValue(key: "mlp_bias", detail: "MLP biases are not supported")
            }
            self.init(modelType: modelType, architecture: .llama, vocabSize: try keys.int("vocab_size"), hiddenSize: c,
                      layers: try keys.int("num_hidden_layers"), heads: heads,
                      kvHeads: try keys.optionalInt("num_key_value_heads") ?? heads,
                      headDim: try keys.optionalInt("head_dim"), intermediateSize: try keys.int("intermediate_size"),
                      maxPositions: try keys.optionalInt("max_position_embeddings") ?? 4096,
                      normEps: Float(try keys.optionalDouble("rms_norm_eps") ?? 1e-6), ropeTheta: theta, ropeScaling: scaling,
                      tiedEmbeddings: (object["tie_word_embeddings"] as? Bool) ?? false, qkvBias: bias,
                      slidingWindow: window, eosTokenId: keys.firstInt("eos_token_id"))
        default:
            throw ModelError.unsupportedModelType(modelType)
        }
        guard heads % kvHeads == 0 else { throw ModelError.invalidValue(key: "num_key_value_heads", detail: "\(kvHeads) does not divide \(heads) heads") }
        guard headDim % 2 == 0 || architecture == .gpt2 else { throw ModelError.invalidValue(key: "head_dim", detail: "\(headDim) is odd") }
        if let eos = eosTokenId, eos >= vocabSize {
            throw ModelError.invalidValue(key: "eos_token_id", detail: "\(eos) is past the vocabulary (vocab_size \(vocabSize))")
        }
    }

    /// theta and scaling from `rope_theta` + `rope_scaling`, or from the newer `rope_parameters`.
    private static func rope(object: [String: Any], keys: ConfigKeys) throws -> (Double, RopeScaling) {
        var theta = try keys.optionalDouble("rope_theta")
        var scaling = object["rope_scaling"] as? [String: Any]
        if let params = object["rope_parameters"] as? [String: Any] {
            let p = ConfigKeys(object: params, modelType: keys.modelType, prefix: "rope_parameters.")
            theta = try p.optionalDouble("rope_theta") ?? theta
            scaling = params
        }
        guard let scaling else { return (theta ?? 10000, .none) }
        let s = ConfigKeys(object: scaling, modelType: keys.modelType, prefix: "rope_scaling.")
        let type = (scaling["rope_type"] as? String) ?? (scaling["type"] as? String) ?? "default"
        switch type {
        case "default": return (theta ?? 10000, .none)
        case "linear": return (theta ?? 10000, .linear(factor: try s.double("factor")))
        case "llama3":
            return (theta ?? 10000, .llama3(factor: try s.double("factor"), lowFreqFactor: try s.double("low_freq_factor"),
                                            highFreqFactor: try s.double("high_freq_factor"),
                                            originalMaxPositions: try s.int("original_max_position_embeddings")))
        default: throw ModelError.unsupportedRopeScaling(type)
        }
    }

    /// RoPE inverse frequencies (HF computes them in float32; so do we, to match to the last bit).
    public func ropeInverseFrequencies() -> [Float] {
        let half = headDim / 2
        var inv = (0..<half).map { i in Float(1.0) / powf(Float(ropeTheta), Float(2 * i) / Float(headDim)) }
        switch ropeScaling {
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

    // MARK: Benchmark configurations

    public static func benchmark(_ name: String) throws -> ModelConfig {
        switch name {
        case "gpt2-small-bench":
            return ModelConfig(modelType: "gpt2", architecture: .gpt2, vocabSize: 50257, hiddenSize: 256, layers: 4, heads: 4,
                               kvHeads: 4, intermediateSize: 1024, maxPositions: 256, normEps: 1e-5, tiedEmbeddings: true)
        case "gpt2-124M":
            return ModelConfig(modelType: "gpt2", architecture: .gpt2, vocabSize: 50257, hiddenSize: 768, layers: 12, heads: 12,
                               kvHeads: 12, intermediateSize: 3072, maxPositions: 1024, normEps: 1e-5, tiedEmbeddings: true)
        case "llama-bench":
            return ModelConfig(modelType: "llama", architecture: .llama, vocabSize: 32000, hiddenSize: 512, layers: 8, heads: 8,
                               kvHeads: 4, intermediateSize: 1536, maxPositions: 2048, normEps: 1e-5, ropeTheta: 500000,
                               tiedEmbeddings: false)
        default:
            throw ModelError.invalidValue(key: "config", detail: "unknown benchmark configuration \(name) (gpt2-small-bench, gpt2-124M, llama-bench)")
        }
    }
}

/// Typed access to config.json keys with errors that name the key.
struct ConfigKeys {
    let object: [String: Any]
    let modelType: String
    var prefix = ""

    func optionalDouble(_ key: String) throws -> Double? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber else { throw ModelError.invalidValue(key: prefix + key, detail: "not a number") }
        return n.doubleValue
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let d = try optionalDouble(key) else { return nil }
        guard d == d.rounded(), d >= 0 else { throw ModelError.invalidValue(key: prefix + key, detail: "not a non-negative integer") }
        return Int(d)
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
}

extension ModelConfig {
    /// A config.json that Hugging Face transformers loads for this model.
    public func huggingFaceJSON(bf16: Bool = false) throws -> Data {
        var o: [String: Any] = ["model_type": modelType, "vocab_size": vocabSize, "tie_word_embeddings": tiedEmbeddings,
                                "torch_dtype": bf16 ? "bfloat16" : "float32"]
        if let eosTokenId { o["eos_token_id"] = eosTokenId }
        switch architecture {
        case .gpt2:
            o["architectures"] = ["GPT2LMHeadModel"]
            o["n_embd"] = hiddenSize; o["n_layer"] = layers; o["n_head"] = heads; o["n_positions"] = maxPositions
            o["n_inner"] = intermediateSize; o["layer_norm_epsilon"] = Double(normEps); o["activation_function"] = "gelu_new"
        case .llama:
            let names = ["llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"]
            o["architectures"] = [names[modelType] ?? "LlamaForCausalLM"]
            o["hidden_size"] = hiddenSize; o["intermediate_size"] = intermediateSize; o["num_hidden_layers"] = layers
            o["num_attention_heads"] = heads; o["num_key_value_heads"] = kvHeads; o["head_dim"] = headDim
            o["max_position_embeddings"] = maxPositions; o["rms_norm_eps"] = Double(normEps); o["rope_theta"] = ropeTheta
            o["hidden_act"] = "silu"
            if modelType == "llama" { o["attention_bias"] = qkvBias; o["mlp_bias"] = false }
            if modelType == "mistral" { o["sliding_window"] = slidingWindow ?? NSNull() }
            switch ropeScaling {
            case .none: break
            case let .linear(factor): o["rope_scaling"] = ["rope_type": "linear", "factor": factor]
            case let .llama3(factor, low, high, original):
                o["rope_scaling"] = ["rope_type": "llama3", "factor": factor, "low_freq_factor": low,
                                     "high_freq_factor": high, "original_max_position_embeddings": original]
            }
        }
        return try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
    }
}
