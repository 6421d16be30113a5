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
        case let .unsupportedModelType(t):
            return "unsupported model_type \"\(t)\" (supported: \(Architecture.registered.map(\.modelType).joined(separator: ", ")))"
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

/// A model's shape, read from Hugging Face config.json (or built for benchmarks).
public struct ModelConfig: Codable, Sendable, Equatable {
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
    /// q/k/v projections carry biases (Qwen2, Llama's attention_bias); GPT-2 biases every linear anyway.
    public var qkvBias: Bool
    /// Each query sees at most this many keys (itself included; Mistral, Qwen2's
    /// use_sliding_window); nil = unlimited.
    public var slidingWindow: Int?
    /// Layers whose attention uses no RoPE at all (SmolLM3's no_rope_layers); sorted.
    public var layersWithoutRope: [Int] = []
    /// Layers that ignore `slidingWindow` (Gemma's full_attention layer_types); sorted.
    public var fullAttentionLayers: [Int] = []
    /// The RoPE of the other (sliding_attention) layers when it is not rope_theta's (Gemma 3's
    /// local base); nil: every layer uses rope_theta and ropeScaling.
    public var slidingLayerRope: RopeSettings?
    /// Attention scores are scaled by 1/sqrt(this) instead of 1/sqrt(head_dim) (Gemma's query_pre_attn_scalar).
    public var queryPreAttentionScalar: Double?
    /// Scores s become cap * tanh(s / cap) before the softmax (Gemma 2's attn_logit_softcapping).
    public var attentionSoftcap: Float?
    /// Logits z become cap * tanh(z / cap) (Gemma 2's final_logit_softcapping).
    public var finalLogitSoftcap: Float?
    public var eosTokenId: Int?

    /// config.json's model_type.
    public var modelType: String { architecture.modelType }
    public var qDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }
    /// Width of the fused q|k|v projection output.
    public var qkvDim: Int { qDim + 2 * kvDim }
    /// Width of the MLP's up projection output (gate|up for a gated MLP).
    public var upDim: Int { architecture.mlp.gated ? 2 * intermediateSize : intermediateSize }
    /// The sliding window of layer l's attention (nil: unlimited).
    public func window(layer l: Int) -> Int? { fullAttentionLayers.contains(l) ? nil : slidingWindow }

    /// The factor of q . k: 1/sqrt(query_pre_attn_scalar) or 1/sqrt(head_dim).
    public var attentionScale: Float {
        guard let s = queryPreAttentionScalar else { return 1 / Float(headDim).squareRoot() }
        return Float(1 / s.squareRoot())
    }

    /// Which RoPE table layer l uses: 0 (rope_theta, ropeScaling) or 1 (`slidingLayerRope`).
    public func ropeTable(layer l: Int) -> Int { slidingLayerRope != nil && !fullAttentionLayers.contains(l) ? 1 : 0 }

    /// Whether layer l rotates its queries and keys.
    public func usesRope(layer l: Int) -> Bool { architecture.positions == .rope && !layersWithoutRope.contains(l) }

    public init(architecture: Architecture, vocabSize: Int, hiddenSize: Int, layers: Int,
                heads: Int, kvHeads: Int, headDim: Int? = nil, intermediateSize: Int, maxPositions: Int,
                normEps: Float, ropeTheta: Double = 10000, ropeScaling: RopeScaling = .none,
                tiedEmbeddings: Bool, qkvBias: Bool = false, slidingWindow: Int? = nil, eosTokenId: Int? = nil) {
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

    /// Parses a Hugging Face config.json of any registered model_type.
    public init(huggingFaceJSON data: Data) throws {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            // Foundation refuses numbers past Double's range (1e400) as it refuses bad syntax.
            throw ModelError.invalidValue(key: "config.json", detail: "not valid JSON (bad syntax, or a number out of range such as 1e400)")
        }
        guard let object = parsed as? [String: Any] else {
            throw ModelError.invalidValue(key: "config.json", detail: "not a JSON object")
        }
        guard let modelType = object["model_type"] as? String else { throw ModelError.missingKey("model_type", modelType: "?") }
        self = try Architecture.named(modelType).readConfig(ConfigKeys(object: object, modelType: modelType))
        guard heads % kvHeads == 0 else { throw ModelError.invalidValue(key: "num_key_value_heads", detail: "\(kvHeads) does not divide \(heads) heads") }
        guard headDim % 2 == 0 || architecture.positions != .rope else { throw ModelError.invalidValue(key: "head_dim", detail: "\(headDim) is odd") }
        if let eos = eosTokenId, eos >= vocabSize {
            throw ModelError.invalidValue(key: "eos_token_id", detail: "\(eos) is past the vocabulary (vocab_size \(vocabSize))")
        }
    }

    // MARK: Benchmark configurations

    /// A benchmark configuration by name, or a Hugging Face config.json file (any name ending
    /// in .json: the shapes of a real model without its weights, such as configs/models/).
    public static func named(_ nameOrFile: String) throws -> ModelConfig {
        guard nameOrFile.hasSuffix(".json") else { return try benchmark(nameOrFile) }
        guard let data = FileManager.default.contents(atPath: nameOrFile) else {
            throw ModelError.io(path: nameOrFile, detail: "cannot read the config file")
        }
        return try ModelConfig(huggingFaceJSON: data)
    }

    public static func benchmark(_ name: String) throws -> ModelConfig {
        switch name {
        case "gpt2-small-bench":
            return ModelConfig(architecture: .gpt2, vocabSize: 50257, hiddenSize: 256, layers: 4, heads: 4,
                               kvHeads: 4, intermediateSize: 1024, maxPositions: 256, normEps: 1e-5, tiedEmbeddings: true)
        case "gpt2-124M":
            return ModelConfig(architecture: .gpt2, vocabSize: 50257, hiddenSize: 768, layers: 12, heads: 12,
                               kvHeads: 12, intermediateSize: 3072, maxPositions: 1024, normEps: 1e-5, tiedEmbeddings: true)
        case "llama-bench":
            return ModelConfig(architecture: .llama, vocabSize: 32000, hiddenSize: 512, layers: 8, heads: 8,
                               kvHeads: 4, intermediateSize: 1536, maxPositions: 2048, normEps: 1e-5, ropeTheta: 500000,
                               tiedEmbeddings: false)
        default:
            throw ModelError.invalidValue(key: "config", detail: "unknown benchmark configuration \(name) (gpt2-small-bench, gpt2-124M, llama-bench)")
        }
    }
}

extension ModelConfig {
    /// A config.json that Hugging Face transformers loads for this model; `extra` keys (e.g.
    /// bos_token_id) are added.
    public func huggingFaceJSON(bf16: Bool = false, extra: [String: Any] = [:]) throws -> Data {
        var o = architecture.writeConfig(self).merging(extra) { $1 }
        o["model_type"] = modelType; o["architectures"] = [architecture.huggingFaceClass]
        o["vocab_size"] = vocabSize; o["tie_word_embeddings"] = tiedEmbeddings; o["torch_dtype"] = bf16 ? "bfloat16" : "float32"
        if let eosTokenId { o["eos_token_id"] = eosTokenId }
        // Absent, transformers takes the class default (Phi-3's is 32000, past a small vocabulary).
        if o["pad_token_id"] == nil { o["pad_token_id"] = NSNull() }
        let data = try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
        return Data(Self.floatsWithDecimalPoint(String(decoding: data, as: UTF8.self)).utf8)
    }

    /// Keys transformers' config classes type as float, which its strict validation refuses as
    /// an integer; JSONSerialization writes 30.0 as 30.
    public static let floatKeys = ["rms_norm_eps", "layer_norm_epsilon", "rope_theta", "factor", "low_freq_factor", "high_freq_factor",
                            "final_logit_softcapping", "attn_logit_softcapping", "partial_rotary_factor"]

    /// `"key" : 30` becomes `"key" : 30.0` for the `floatKeys`.
    public static func floatsWithDecimalPoint(_ json: String) -> String {
        let pattern = "(\"(?:" + floatKeys.joined(separator: "|") + ")\"\\s*:\\s*-?[0-9]+)(?=\\s*[,}\\n])"
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.stringByReplacingMatches(in: json, range: NSRange(json.startIndex..., in: json), withTemplate: "$1.0")
    }
}
