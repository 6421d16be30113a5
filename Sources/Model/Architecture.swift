/// What sets one Hugging Face architecture apart: how its config.json maps into a
/// `ModelConfig`, its tensor names, and the few structural choices the shared forward and
/// backward passes ask about. Each lives in one file of Architectures/ as a static instance,
/// listed in `registered`; everything else (the passes, buffers, LoRA) is shared.
public struct Architecture: Sendable {
    public enum Norm: Sendable {
        /// (x - mean) / std * w + b: a weight and a bias (GPT-2).
        case layerNorm
        /// x / rms(x) * w: a weight only (Llama family).
        case rmsNorm
        /// x / rms(x) * (1 + w): the weight stored as an offset from 1 (Gemma).
        case rmsNormPlusOne

        /// What the stored weight is added to (1 for Gemma's (1 + w)).
        var weightOffset: Float { self == .rmsNormPlusOne ? 1 : 0 }
    }

    public enum MLP: Sendable {
        /// down(gelu_new(up x)), tanh approximation (GPT-2).
        case geluTanh
        /// down(silu(gate x) * up x), gate|up one fused projection (Llama family).
        case swiGLU
        /// down(gelu_tanh(gate x) * up x), gate|up as SwiGLU's (Gemma).
        case geGLU

        /// Two projections side by side in the up site (gate|up).
        var gated: Bool { self != .geluTanh }
    }

    public enum Positions: Sendable {
        /// A learned table added to the token embeddings; at most maxPositions tokens.
        case learned
        /// Rotary embeddings of q and k (theta and scaling from the config).
        case rope
    }

    /// RMSNorm of the projected queries and keys, before RoPE.
    public enum QKNorm: Sendable {
        case none
        /// Over each head's head_dim values, one weight [head_dim] shared by the heads (Qwen3).
        case perHead
        /// Over the whole q (and the whole k) projection, weights [q width] and [k width] (OLMo 2).
        case wholeProjection
    }

    /// config.json's model_type: the registry key.
    public let modelType: String
    /// The transformers class written to config.json's "architectures".
    public let huggingFaceClass: String
    public let norm: Norm
    public let mlp: MLP
    public let positions: Positions
    public let qkNorm: QKNorm
    /// Token embeddings times sqrt(hidden_size) on the way in (Gemma); a tied head reads them unscaled.
    public let scaledEmbeddings: Bool
    /// Weights stored [in, out] (HF Conv1D, GPT-2) instead of nn.Linear's [out, in]; the gemm
    /// orientation absorbs it, so checkpoints load and save without transposes.
    public let conv1D: Bool
    /// Every linear layer has a bias (GPT-2); otherwise only q/k/v may (`ModelConfig.qkvBias`).
    public let biasedLinears: Bool
    let names: TensorNames
    /// config.json -> ModelConfig; the checks every architecture shares run afterwards.
    let readConfig: @Sendable (ConfigKeys) throws -> ModelConfig
    /// This architecture's own config.json keys (ModelConfig writes the shared ones).
    let writeConfig: @Sendable (ModelConfig) -> [String: Any]
}

/// Hugging Face tensor names by the slot they fill in the shared passes. A linear site with
/// several modules (q, k, v; gate, up) is one fused projection: their weights are adjacent
/// in the buffer, in this order, then their biases.
struct TensorNames {
    var tokenEmbedding: String
    /// The learned position table (`Positions.learned` only).
    var positionEmbedding: String? = nil
    /// Block l's tensors are named blockPrefix + "\(l)." + module.
    var blockPrefix: String
    /// Norms around each sublayer: on its input (x + f(norm(x)), GPT-2 and Llama), on its output
    /// (x + norm(f(x)), OLMo 2) or both (Gemma); nil where a block has none.
    var attentionNorm: String?
    var attentionOutputNorm: String? = nil
    /// One fused module (width q + k + v) or q, k, v.
    var qkv: [String]
    var attentionOutput: String
    /// q and k norms (`QKNorm` other than none), block-relative like qkv.
    var qNorm: String? = nil
    var kNorm: String? = nil
    var mlpNorm: String?
    var mlpOutputNorm: String? = nil
    /// One module (width of the MLP's up site) or gate, up.
    var up: [String]
    var down: String
    var finalNorm: String
    /// Untied heads only.
    var head = "lm_head.weight"
    /// A prefix some checkpoints omit (original GPT-2 files lack "transformer.").
    var optionalPrefix: String? = nil

    /// These names with some changed (a family that renames a few of its parent's).
    func changing(_ change: (inout TensorNames) -> Void) -> TensorNames {
        var names = self
        change(&names)
        return names
    }
}

extension Architecture: Equatable, Codable {
    /// Every supported architecture: adding one is its file in Architectures/ plus a line here.
    public static let registered: [Architecture] = [.gpt2, .llama, .mistral, .qwen2, .qwen3, .olmo2, .smollm3, .phi3, .gemma2, .gemma3Text]

    /// The architecture of a config.json model_type.
    public static func named(_ modelType: String) throws -> Architecture {
        guard let found = registered.first(where: { $0.modelType == modelType }) else {
            throw ModelError.unsupportedModelType(modelType)
        }
        return found
    }

    public static func == (a: Architecture, b: Architecture) -> Bool { a.modelType == b.modelType }

    /// Encoded as its model_type.
    public init(from decoder: Decoder) throws {
        self = try Architecture.named(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(modelType)
    }
}
