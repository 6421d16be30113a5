import Artifacts
import Foundation
import Kernels
import Randomness

/// LoRA settings: W x + (alpha / rank) B A x on the targeted projections.
public struct LoRAConfig: Codable, Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    /// Module names as PEFT spells them: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj,
    /// down_proj (Llama family); c_attn, c_proj (both attn and mlp), c_fc (GPT-2). A full
    /// suffix such as "mlp.c_proj" selects one module.
    public var targetModules: [String]

    public init(rank: Int, alpha: Float, targetModules: [String]) {
        self.rank = rank
        self.alpha = alpha
        self.targetModules = targetModules
    }

    public var scale: Float { alpha / Float(rank) }

    /// `rank,alpha,modules` as the command line gives it (e.g. 8,32,q_proj+v_proj), or nil.
    public init?(parsing text: String) {
        let parts = text.split(separator: ",")
        guard parts.count == 3, let r = Int(parts[0]), let alpha = Float(parts[1]) else { return nil }
        self.init(rank: r, alpha: alpha, targetModules: parts[2].split(separator: "+").map(String.init))
    }
}

/// The adapters of all targeted modules: parameters and gradients each in one contiguous
/// buffer, named as PEFT saves them (base_model.model.<module>.lora_A.weight [r, in],
/// lora_B.weight [out, r]).
public final class LoRAAdapters {
    public let config: LoRAConfig
    public let parameters: ParameterStore
    public let gradients: ParameterStore

    struct Adapter {
        let site: LinearSite
        let a: Int, b: Int
        let inFeatures: Int, outFeatures: Int
        let columnOffset: Int
        /// Which [rows, rank] block of the layer's saved A x this adapter uses.
        let slot: Int
    }

    let perLayer: [[Adapter]]
    let adaptersPerLayer: Int
    private let scratch = Scratch()

    /// The modules `config` targets in `model`, or the error naming what is wrong with it.
    static func targetedModules(_ config: LoRAConfig, in model: ArchitectureLayout) throws -> [TargetModule] {
        guard config.rank >= 1 else { throw ModelError.invalidValue(key: "lora.rank", detail: "must be at least 1") }
        let modules = model.targetModules.filter { m in
            config.targetModules.contains { t in m.name == t || m.name.hasSuffix("." + t) }
        }
        for t in config.targetModules where !model.targetModules.contains(where: { $0.name == t || $0.name.hasSuffix("." + t) }) {
            throw ModelError.invalidValue(key: "lora.target_modules", detail: "\(t) matches no module (available: \(model.targetModules.map(\.name).joined(separator: ", ")))")
        }
        guard !modules.isEmpty else { throw ModelError.invalidValue(key: "lora.target_modules", detail: "empty") }
        return modules
    }

    init(config: LoRAConfig, layout model: ArchitectureLayout, layers: Int, seed: UInt64) throws {
        let modules = try Self.targetedModules(config, in: model)
        self.config = config
        var layout = ParameterLayout()
        var perLayer: [[Adapter]] = []
        for l in 0..<layers {
            var list: [Adapter] = []
            for (k, m) in modules.enumerated() {
                let prefix = "base_model.model." + model.blockPrefixes[l] + m.name
                let a = layout.add(prefix + ".lora_A.weight", [config.rank, m.inFeatures])
                let b = layout.add(prefix + ".lora_B.weight", [m.outFeatures, config.rank])
                list.append(Adapter(site: m.site, a: a, b: b, inFeatures: m.inFeatures, outFeatures: m.outFeatures,
                                    columnOffset: m.columnOffset, slot: k))
            }
            perLayer.append(list)
        }
        self.perLayer = perLayer
        adaptersPerLayer = modules.count
        parameters = ParameterStore(layout: layout)
        gradients = ParameterStore(layout: layout)
        // PEFT's default: A ~ kaiming-uniform(a = sqrt 5) = U(-1/sqrt(in), 1/sqrt(in)), B = 0,
        // so the adapted model starts equal to the base.
        var rng = SeededRandom(seed: seed)
        for list in perLayer {
            for ad in list {
                let bound = 1 / Float(ad.inFeatures).squareRoot()
                for i in 0..<(config.rank * ad.inFeatures) { parameters.base[ad.a + i] = (2 * rng.uniform() - 1) * bound }
            }
        }
    }

    /// out[:, cols] += scale (x A^T) B^T; saves u = x A^T for the backward.
    func forward(layer: Int, site: LinearSite, x: UnsafePointer<Float>, rows: Int,
                 out: UnsafeMutablePointer<Float>, ldOut: Int, u: UnsafeMutablePointer<Float>) {
        let r = config.rank, p = parameters.base
        for ad in perLayer[layer] where ad.site == site {
            let uk = u + ad.slot * rows * r
            gemm(.none, .transposed, m: rows, n: r, k: ad.inFeatures, a: x, lda: ad.inFeatures, b: p + ad.a, ldb: ad.inFeatures, c: uk, ldc: r)
            gemm(.none, .transposed, m: rows, n: ad.outFeatures, k: r, alpha: config.scale, a: uk, lda: r,
                 b: p + ad.b, ldb: r, beta: 1, c: out + ad.columnOffset, ldc: ldOut)
        }
    }

    /// Backward of `forward`: dB += s dy^T u, du = s dy B, dA += du^T x, dx += du A.
    func backward(layer: Int, site: LinearSite, x: UnsafePointer<Float>, rows: Int, dy: UnsafePointer<Float>, ldDy: Int,
                  dx: UnsafeMutablePointer<Float>, u: UnsafePointer<Float>) {
        let r = config.rank, p = parameters.base, g = gradients.base, s = config.scale
        let du = scratch.ensure(rows * r)
        for ad in perLayer[layer] where ad.site == site {
            let uk = u + ad.slot * rows * r, dys = dy + ad.columnOffset
            gemm(.transposed, .none, m: ad.outFeatures, n: r, k: rows, alpha: s, a: dys, lda: ldDy, b: uk, ldb: r, beta: 1, c: g + ad.b, ldc: r)
            gemm(.none, .none, m: rows, n: r, k: ad.outFeatures, alpha: s, a: dys, lda: ldDy, b: p + ad.b, ldb: r, c: du, ldc: r)
            gemm(.transposed, .none, m: r, n: ad.inFeatures, k: rows, a: du, lda: r, b: x, ldb: ad.inFeatures, beta: 1, c: g + ad.a, ldc: ad.inFeatures)
            gemm(.none, .none, m: rows, n: ad.inFeatures, k: r, a: du, lda: r, b: p + ad.a, ldb: ad.inFeatures, beta: 1, c: dx, ldc: ad.inFeatures)
        }
    }
}

extension Transformer {
    /// What the optimiser updates: the LoRA adapters when enabled, else every parameter.
    public var trainableParameters: ParameterStore { lora?.parameters ?? parameters }

    /// Gradients of `trainableParameters` (one contiguous buffer: all-reduce it in buckets).
    public var trainableGradients: ParameterStore {
        if let lora { return lora.gradients }
        enableGradients()
        return gradients!
    }

    /// Zeroes the gradients that `accumulateGradients` adds to.
    public func zeroGradients() { trainableGradients.zero() }

    /// Writes adapter_model.safetensors and adapter_config.json as PEFT does (atomically);
    /// `baseModel` becomes base_model_name_or_path, which AutoPeftModelForCausalLM loads.
    public func saveLoRA(directory: URL, baseModel: String? = nil, bf16: Bool = false) throws {
        guard let lora else { throw ModelError.invalidRequest("no LoRA adapters to save") }
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for e in lora.parameters.layout.entries {
            let values = lora.parameters.view(e.name)!
            if bf16 { writer.addBF16(e.name, shape: e.shape, floats: values) } else { writer.add(e.name, shape: e.shape, floats: values) }
        }
        try writer.write(to: directory.appendingPathComponent("adapter_model.safetensors").path)
        var peft: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": lora.config.rank, "lora_alpha": Double(lora.config.alpha),
            "target_modules": lora.config.targetModules, "lora_dropout": 0.0, "bias": "none",
            "fan_in_fan_out": config.architecture.conv1D,
        ]
        if let baseModel { peft["base_model_name_or_path"] = baseModel }
        let file = try AtomicFile(path: directory.appendingPathComponent("adapter_config.json").path)
        try file.write(Array(try JSONSerialization.data(withJSONObject: peft, options: [.prettyPrinted, .sortedKeys])))
        try file.commit()
    }

    /// Attaches adapters saved by `saveLoRA` (or PEFT with the same targets).
    public func loadLoRA(directory: URL) throws {
        let url = directory.appendingPathComponent("adapter_config.json")
        guard let data = FileManager.default.contents(atPath: url.path),
              let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let r = (o["r"] as? NSNumber)?.intValue, let alpha = (o["lora_alpha"] as? NSNumber)?.floatValue,
              let targets = o["target_modules"] as? [String] else {
            throw ModelError.io(path: url.path, detail: "not a LoRA adapter_config.json (needs r, lora_alpha, target_modules)")
        }
        try enableLoRA(LoRAConfig(rank: r, alpha: alpha, targetModules: targets))
        let file = try SafetensorsFile(path: directory.appendingPathComponent("adapter_model.safetensors").path)
        for e in lora!.parameters.layout.entries {
            guard file.tensors[e.name] != nil else { throw ModelError.missingTensor(e.name, path: file.path) }
            try file.readFiniteFloats(e.name, expectedShape: e.shape, into: lora!.parameters.view(e.name)!)
        }
    }
}
